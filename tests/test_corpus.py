"""export-corpus then run-corpus through the CLI: the layout, the results, and a machine without torch."""
import json
import os
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from cases import Case, parse_case
from cases.inputs import make_feeds
from cases.node_cases import NODE_CASES
from verdict.tolerances import TOLERANCES
from conftest import ROOT, read_jsonl, run_cli

SELECTION = ["--case", "num_layers=1", "--case", "bidirectional=true,batch_first=true", "--case", "proj_size=3",
             "--exporters", "torchscript"]
# What torch-free run-corpus needs; pinned to this environment's versions.
NO_TORCH_PACKAGES = ["onnx", "onnxruntime", "numpy", "ml_dtypes", "jinja2", "tqdm", "packaging", "msgspec"]
NODE_XFAIL = {
    "ort-cpu": {"node-lstm-layout", "node-lstm-clip", "node-gru-layout", "node-rnn-layout"},
    "reference": {"node-lstm-input-forget", "node-lstm-clip-gates", "node-lstm-clip", "node-lstm-activations-relu",
                  "node-lstm-activations-hardsigmoid", "node-lstm-sequence-lens", "node-gru-clip", "node-gru-sequence-lens",
                  "node-rnn-clip", "node-rnn-sequence-lens", "node-rnn-activations-relu", "node-rnn-activations-leakyrelu"},
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, cache_dir):
    directory = tmp_path_factory.mktemp("corpus") / "corpus"
    proc = run_cli("export-corpus", *SELECTION, "--node-cases", "--out", directory, "--cache-dir", cache_dir, "--no-progress")
    assert proc.returncode == 0, proc.stderr
    return {"dir": directory, "proc": proc, "manifest": json.loads((directory / "manifest.json").read_text())}


@pytest.fixture(scope="module")
def corpus_run(corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("corpus-run")
    proc = run_cli("run-corpus", corpus["dir"], "--runtimes", "ort-cpu,reference", "--out", out, "--no-progress")
    records = read_jsonl(out / "results.jsonl")
    return {"proc": proc, "out": out, "header": records[0], "results": records[1:]}


def test_export_corpus_lists_every_test_and_keeps_chatter_out(corpus):
    tests = {t["case"] + "|" + ("dynamic" if t["dynamic"] else "static"): t for t in corpus["manifest"]["tests"]}
    lstm_cases = ["L1-uni-noproj-sf-bias-h0-fp32", "L1-bi-noproj-bf-bias-h0-fp32", "L1-uni-proj3-sf-bias-h0-fp32"]
    assert set(tests) == {f"{c}|{m}" for c in lstm_cases for m in ("static", "dynamic")} | {f"{c.id}|static" for c in NODE_CASES}
    assert "SymbolicValueError" not in corpus["proc"].stdout + corpus["proc"].stderr
    assert f"{6 + len(NODE_CASES)} tests in" in corpus["proc"].stdout
    assert f"EXPORT_ERROR 2, PASS {4 + len(NODE_CASES)}" in corpus["proc"].stdout
    assert (corpus["dir"] / "expectations.toml").read_text() == (ROOT / "cases" / "expectations.toml").read_text()


def test_export_failures_are_listed_with_their_error_and_no_directory(corpus):
    failed = [t for t in corpus["manifest"]["tests"] if t["status"] != "PASS"]
    assert {(t["case"], t["status"]) for t in failed} == {("L1-uni-proj3-sf-bias-h0-fp32", "EXPORT_ERROR")}
    for test in failed:
        assert "projections" in test["error"]["message"] and test["stage"] == "export"
        assert not (corpus["dir"] / test["name"]).exists()


def test_layout_is_the_onnx_backend_test_layout(corpus):
    for test in (t for t in corpus["manifest"]["tests"] if t["status"] == "PASS"):
        test_dir = corpus["dir"] / test["name"]
        model = onnx.load(test_dir / "model.onnx")
        assert [i.name for i in model.graph.input if i.name not in {x.name for x in model.graph.initializer}] == test["inputs"]
        assert [o.name for o in model.graph.output] == test["outputs"]
        data_sets = sorted(p.name for p in test_dir.iterdir() if p.is_dir())
        assert data_sets == [f"test_data_set_{i}" for i in range(len(test["run_shapes"]))]
        for data_set in data_sets:
            files = sorted(p.name for p in (test_dir / data_set).iterdir())
            assert files == sorted([f"input_{n}.pb" for n in range(len(test["inputs"]))] + [f"output_{n}.pb" for n in range(len(test["outputs"]))])
        assert test["tolerance"] == {"rtol": TOLERANCES[test["dtype"]].rtol, "atol": TOLERANCES[test["dtype"]].atol}


def read_pb(path: Path):
    tensor = onnx.TensorProto()
    tensor.ParseFromString(path.read_bytes())
    return tensor.name, numpy_helper.to_array(tensor)


def test_tensors_round_trip_to_the_feeds_and_eager_outputs(corpus):
    from cases.torch_model import build_module, eager_outputs

    test = next(t for t in corpus["manifest"]["tests"] if t["case"] == "L1-bi-noproj-bf-bias-h0-fp32" and t["dynamic"])
    case = parse_case("bidirectional=true,batch_first=true")
    assert test["run_shapes"] == [[5, 3], [1, 1], [11, 5]]
    for index, shape in enumerate(test["run_shapes"]):
        data_dir = corpus["dir"] / test["name"] / f"test_data_set_{index}"
        feeds = make_feeds(case, *shape)
        expected = eager_outputs(case, build_module(case), feeds)
        for kind, arrays in (("input", feeds), ("output", expected)):
            for n, (name, array) in enumerate(arrays.items()):
                stored_name, stored = read_pb(data_dir / f"{kind}_{n}.pb")
                assert stored_name == name and stored.dtype == array.dtype
                np.testing.assert_array_equal(stored, array)


def test_node_case_tensors_are_the_case_feeds_and_expected_outputs(corpus):
    case = next(c for c in NODE_CASES if c.name == "sequence-lens")
    data_dir = corpus["dir"] / f"test_{case.id}" / "test_data_set_0"
    for kind, arrays in (("input", case.feeds()), ("output", case.expected_outputs())):
        stored = dict(read_pb(data_dir / f"{kind}_{n}.pb") for n in range(len(arrays)))
        assert list(stored) == list(arrays)
        for name, array in arrays.items():
            np.testing.assert_array_equal(stored[name], array)


def test_run_corpus_statuses(corpus_run):
    assert corpus_run["proc"].returncode == 0, corpus_run["proc"].stdout + corpus_run["proc"].stderr
    assert corpus_run["header"]["source"] == "corpus" and corpus_run["header"]["versions"]["onnxruntime"]
    statuses = {(r["case"], r["runtime"], r["dynamic"], tuple(r["run_shape"])): r for r in corpus_run["results"]}
    # per runtime: 2 exported cases and 1 failed export, static (1 run shape) and dynamic (3), plus the node cases
    assert len(statuses) == len(corpus_run["results"]) == 2 * (3 * (1 + 3) + len(NODE_CASES))
    for record in corpus_run["results"]:
        if record["case"].startswith("node-"):
            xfail = record["case"] in NODE_XFAIL[record["runtime"]]
            assert record["status"] == ("XFAIL" if xfail else "PASS"), record["case"]
            assert not xfail or record["expectation"]["link"].startswith("https://github.com/")
        elif "proj3" in record["case"]:
            assert (record["status"], record["raw_status"]) == ("XFAIL", "EXPORT_ERROR")
        else:
            assert record["status"] == "PASS" and record["outputs"]["output"]["max_abs"] < 1e-5
            shapes = Case.from_params(record["params"]).expected_shapes(*record["run_shape"])
            assert {name: tuple(o["actual_shape"]) for name, o in record["outputs"].items()} == shapes
    assert (corpus_run["out"] / "report.html").exists()


def test_run_corpus_records_are_the_records_of_run(corpus_run, tmp_path, cache_dir):
    out = tmp_path / "run"
    proc = run_cli("run", "--case", "num_layers=1", "--exporters", "torchscript", "--modes", "static", "--runtimes", "ort-cpu",
                   "--out", out, "--cache-dir", cache_dir, "--no-progress")
    assert proc.returncode == 0, proc.stderr
    (from_run,) = read_jsonl(out / "results.jsonl")[1:]
    from_corpus = next(r for r in corpus_run["results"] if r["key"] == from_run["key"])
    assert set(from_corpus) == set(from_run)
    for key in ("case", "params", "exporter", "dynamic", "opset", "runtime", "run_shape", "status"):
        assert from_corpus[key] == from_run[key], key
    for name, stats in from_run["outputs"].items():
        assert from_corpus["outputs"][name]["max_abs"] == stats["max_abs"]
        assert from_corpus["outputs"][name]["tolerance"] == stats["tolerance"]


def test_run_corpus_imports_no_torch(corpus, tmp_path):
    check = (
        "import sys\n"
        "from conformance.cli import main\n"
        f"code = main(['run-corpus', {str(corpus['dir'])!r}, '--runtimes', 'ort-cpu', '--out', {str(tmp_path / 'out')!r}, '--no-progress'])\n"
        "assert code == 0, code\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    proc = subprocess.run([sys.executable, "-c", check], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def without_manifest(corpus_dir: Path, broken: Path) -> None:
    broken.mkdir()


def with_bad_manifest(corpus_dir: Path, broken: Path) -> None:
    shutil.copytree(corpus_dir, broken)
    (broken / "manifest.json").write_text("{not json")


def without_a_tensor(corpus_dir: Path, broken: Path) -> None:
    shutil.copytree(corpus_dir, broken)
    (broken / "test_node-lstm-clip" / "test_data_set_0" / "output_0.pb").unlink()


@pytest.mark.parametrize(
    "damage, message",
    [(without_manifest, "has no manifest.json"), (with_bad_manifest, "is not valid JSON"), (without_a_tensor, "is incomplete")],
)
def test_bad_corpus_is_one_line_and_exit_2(corpus, tmp_path, damage, message):
    broken = tmp_path / "broken"
    damage(corpus["dir"], broken)
    proc = run_cli("run-corpus", broken, "--runtimes", "ort-cpu", "--out", tmp_path / "out")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in proc.stderr
    assert not (tmp_path / "out" / "results.jsonl").exists()


def test_export_corpus_refuses_a_directory_that_is_not_empty(tmp_path):
    (tmp_path / "something").write_text("")
    proc = run_cli("export-corpus", "--case", "num_layers=1", "--exporters", "torchscript", "--out", tmp_path)
    assert proc.returncode == 2 and "is not empty" in proc.stderr and "Traceback" not in proc.stderr


@pytest.fixture(scope="session")
def torch_free_python(tmp_path_factory):
    """A fresh venv with only what run-corpus needs, at this environment's versions; skipped if one cannot be made."""
    venv = tmp_path_factory.mktemp("no-torch") / "venv"
    python = venv / "bin" / "python"
    pins = [f"{name}=={metadata.version(name)}" for name in NO_TORCH_PACKAGES]
    steps = [
        [sys.executable, "-m", "venv", venv],
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-c", ROOT / "constraints.txt", *pins],
    ]
    for step in steps:
        try:
            subprocess.run(step, capture_output=True, text=True, timeout=240, check=True)
        except (OSError, subprocess.SubprocessError) as exc:
            detail = getattr(exc, "stderr", "") or str(exc)
            pytest.skip(f"cannot build a venv without torch ({' '.join(map(str, step[:4]))}): {detail.strip()[-300:]}")
    return python


def test_run_corpus_works_where_torch_is_not_installed(torch_free_python, corpus, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("VIRTUAL_ENV", None)

    def run(*args):
        return subprocess.run([torch_free_python, *map(str, args)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)

    no_torch = run("-c", "import torch")
    assert no_torch.returncode != 0 and "No module named 'torch'" in no_torch.stderr
    assert run("-m", "conformance", "--help").returncode == 0
    out = tmp_path / "out"
    proc = run("-m", "conformance", "run-corpus", corpus["dir"], "--runtimes", "ort-cpu,reference", "--out", out, "--no-progress")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    records = read_jsonl(out / "results.jsonl")
    assert records[0]["source"] == "corpus" and records[0]["versions"]["torch"] is None
    assert {r["status"] for r in records[1:]} == {"PASS", "XFAIL"}
    assert (out / "report.html").exists()
