"""run-corpus on ONNX backend-test directories without a manifest: onnx's recurrent node tests, other tests, malformed folders."""
import json
import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from cases.onnx_node_tests import onnx_node_test_names
from conformance.corpus_layout import BACKEND_ATOL, BACKEND_RTOL, backend_test, backend_tests, read_tensors
from conftest import ROOT, read_jsonl, run_cli

BATCHWISE = {"test_lstm_batchwise": "ort-lstm-batch-major-layout", "test_gru_batchwise": "ort-gru-rnn-batch-major-layout",
             "test_simple_rnn_batchwise": "ort-gru-rnn-batch-major-layout"}


def write_onnx_node_tests(directory, *select):
    proc = subprocess.run([sys.executable, "-m", "cases.onnx_node_tests", directory, *[a for s in select for a in ("-k", s)]],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture(scope="module")
def onnx_tests(tmp_path_factory):
    directory = tmp_path_factory.mktemp("onnx-node-tests") / "tests"
    proc = write_onnx_node_tests(directory)
    assert f"18 onnx {onnx.__version__} node tests in" in proc.stdout
    return directory


@pytest.fixture(scope="module")
def onnx_run(onnx_tests, tmp_path_factory):
    out = tmp_path_factory.mktemp("onnx-node-run")
    proc = run_cli("run-corpus", onnx_tests, "--runtimes", "ort-cpu,reference", "--out", out, "--no-progress")
    records = read_jsonl(out / "results.jsonl")
    return {"proc": proc, "out": out, "header": records[0], "results": records[1:]}


def test_the_onnx_node_tests_are_written_as_onnx_writes_node_tests_without_a_manifest(onnx_tests):
    names = sorted(p.name for p in onnx_tests.iterdir())
    assert names == sorted(onnx_node_test_names()) and len(names) == 18
    for name in names:
        test_dir = onnx_tests / name
        model = onnx.load(test_dir / "model.onnx")
        assert sorted(p.name for p in test_dir.iterdir()) == ["data.json", "model.onnx", "test_data_set_0"]
        files = sorted(p.name for p in (test_dir / "test_data_set_0").iterdir())
        tensors = [f"input_{k}.pb" for k in range(len(model.graph.input))] + [f"output_{k}.pb" for k in range(len(model.graph.output))]
        assert files == sorted(tensors)
        data = json.loads((test_dir / "data.json").read_text())
        assert data == {"rtol": 1e-3, "atol": 1e-7, "origin": f"onnx {onnx.__version__} {name}"}


def test_onnx_node_tests_run_from_a_plain_directory(onnx_run):
    """Eighteen results per runtime; onnxruntime refuses the three batchwise (layout=1) ones, as its entries say."""
    assert onnx_run["proc"].returncode == 0, onnx_run["proc"].stdout + onnx_run["proc"].stderr
    assert onnx_run["header"]["source"] == "corpus" and "corpus_exported" not in onnx_run["header"]
    results = onnx_run["results"]
    assert len(results) == 36 and len({r["key"] for r in results}) == 36
    for runtime in ("ort-cpu", "reference"):
        assert sorted(r["case"] for r in results if r["runtime"] == runtime) == sorted(onnx_node_test_names())
    for r in results:
        params = r["params"]
        assert params["origin"] == f"onnx {onnx.__version__} {r['case']}"
        assert params["op"] in ("LSTM", "GRU", "RNN") and params["kind"] == f"node-{params['op'].lower()}"
        assert params["layout"] == (1 if r["case"] in BATCHWISE else 0)
        assert (r["exporter"], r["dynamic"], r["opset"], r["run_shape"]) == ("backend-test", False, 22, [0])
        if r["runtime"] == "ort-cpu" and r["case"] in BATCHWISE:
            assert (r["status"], r["raw_status"], r["expectation"]["id"]) == ("XFAIL", "LOAD_ERROR", BATCHWISE[r["case"]])
        else:
            assert r["status"] == "PASS", (r["key"], r["message"])
            assert {o["tolerance"]["rtol"] for o in r["outputs"].values()} == {BACKEND_RTOL}
            assert {o["tolerance"]["atol"] for o in r["outputs"].values()} == {BACKEND_ATOL}
    report = (onnx_run["out"] / "report.html").read_text()
    assert "LSTM node cases" in report and "test_simple_rnn_batchwise" in report


def test_tensors_are_named_by_the_graph_whatever_the_files_say(onnx_tests, tmp_path):
    """input_k is the k-th graph input that is not an initializer, output_k the k-th output, as onnx's runner feeds them."""
    data_dir = onnx_tests / "test_lstm_with_peepholes" / "test_data_set_0"
    model = onnx.load(onnx_tests / "test_lstm_with_peepholes" / "model.onnx")
    copy = tmp_path / "test_lstm_with_peepholes"
    (copy / "test_data_set_0").mkdir(parents=True)
    (copy / "model.onnx").write_bytes((onnx_tests / "test_lstm_with_peepholes" / "model.onnx").read_bytes())
    for path in data_dir.iterdir():
        tensor = TensorProto()
        tensor.ParseFromString(path.read_bytes())
        tensor.name = ""  # some producers leave the names out
        (copy / "test_data_set_0" / path.name).write_bytes(tensor.SerializeToString())
    feeds = read_tensors(copy / "test_data_set_0", "input", len(model.graph.input))
    assert list(feeds) == [i.name for i in model.graph.input]
    original = read_tensors(data_dir, "input", len(model.graph.input))
    for name in feeds:
        np.testing.assert_array_equal(feeds[name], original[name])
    assert backend_test(copy)["inputs"] == [i.name for i in model.graph.input]


def add_model(*, initializer: bool = False) -> onnx.ModelProto:
    """c = a + b, b an initializer (listed among the graph inputs, as older producers do) where asked."""
    inputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [2, 3]) for n in ("a", "b")]
    initializers = [numpy_helper.from_array(np.ones((2, 3), np.float32), "b")] if initializer else []
    graph = helper.make_graph([helper.make_node("Add", ["a", "b"], ["c"])], "add", inputs,
                              [helper.make_tensor_value_info("c", TensorProto.FLOAT, [2, 3])], initializers)
    return helper.make_model(graph, ir_version=8, opset_imports=[helper.make_opsetid("", 17)], producer_name="vendor-tool")


def write_folder(folder, model, data_sets, data_json=None):
    """A backend-test folder: the model, and per data set (inputs, outputs) as lists of arrays, tensors left unnamed."""
    folder.mkdir(parents=True)
    if model is not None:
        (folder / "model.onnx").write_bytes(model.SerializeToString() if isinstance(model, onnx.ModelProto) else model)
    for index, (inputs, outputs) in enumerate(data_sets):
        data_dir = folder / f"test_data_set_{index}"
        data_dir.mkdir()
        for kind, arrays in (("input", inputs), ("output", outputs)):
            for k, array in enumerate(arrays):
                (data_dir / f"{kind}_{k}.pb").write_bytes(numpy_helper.from_array(np.asarray(array, np.float32)).SerializeToString())
    if data_json is not None:
        (folder / "data.json").write_text(json.dumps(data_json))
    return folder


@pytest.fixture(scope="module")
def vendor_dir(tmp_path_factory):
    """A vendor's directory: good tests of another op, one off by 1e-5 near zero, and one malformed folder of each kind."""
    root = tmp_path_factory.mktemp("vendor") / "tests"
    a, b = np.arange(6, dtype=np.float32).reshape(2, 3), np.full((2, 3), 0.5, np.float32)
    good = [([a, b], [a + b]), ([b, a], [a + b])]
    write_folder(root / "test_add", add_model(), good)
    write_folder(root / "test_add_initializer", add_model(initializer=True), [([a], [a + 1])], {"rtol": 1e-5, "atol": 1e-6})
    zeros = np.zeros((2, 3), np.float32)
    write_folder(root / "test_add_off", add_model(), [([zeros, zeros], [zeros + 1e-5])])
    write_folder(root / "test_no_model", None, good)
    write_folder(root / "test_bad_model", b"not a model", good)
    write_folder(root / "test_count_mismatch", add_model(), [([a], [a + b])])
    write_folder(root / "test_gap", add_model(), good)
    (root / "test_gap" / "test_data_set_1").rename(root / "test_gap" / "test_data_set_2")
    write_folder(root / "test_bad_tensor", add_model(), good)
    (root / "test_bad_tensor" / "test_data_set_1" / "output_0.pb").write_bytes(b"\xff\xff\xff")
    write_folder(root / "test_no_data", add_model(), [])
    write_folder(root / "test_bad_data_json", add_model(), good, {"atol": "tight"})
    write_folder(root / "test_real_model", None, [], {"url": "https://example.com/model.tar.gz", "model_name": "m"})
    (root / "__pycache__").mkdir()  # not a test
    return root


MALFORMED = {
    "test_no_model": "no model.onnx in the test folder",
    "test_bad_model": "model.onnx is not a readable ONNX model",
    "test_count_mismatch": "test_data_set_0 holds 1 input_<n>.pb (input_0.pb) for the model's 2 inputs (a, b)",
    "test_gap": "its data sets are numbered 0, 2, not 0 to 1",
    "test_bad_tensor": "test_data_set_1/output_0.pb is not a readable TensorProto",
    "test_no_data": "no test_data_set_0 in the test folder",
    "test_bad_data_json": "data.json: atol = 'tight' is not a tolerance",
}


def test_each_malformed_folder_is_found_with_its_reason(vendor_dir):
    tests, malformed = backend_tests(vendor_dir)
    assert [t["name"] for t in tests] == ["test_add", "test_add_initializer", "test_add_off"]
    reasons = {m.coordinates["case"]: (m.status, m.reason) for m in malformed}
    assert set(reasons) == set(MALFORMED) | {"test_real_model"}
    for name, reason in MALFORMED.items():
        assert reasons[name][0] == "INVALID_MODEL" and reasons[name][1].startswith(reason), reasons[name]
    assert reasons["test_real_model"][0] == "NOT_APPLICABLE" and "https://example.com/model.tar.gz" in reasons["test_real_model"][1]


def test_a_backend_test_entry_reads_its_facts_from_the_folder(vendor_dir):
    add = backend_test(vendor_dir / "test_add")
    assert (add["case"], add["exporter"], add["opset"], add["dtype"]) == ("test_add", "vendor-tool", 17, "float32")
    assert add["params"] == {"kind": "backend-test", "op": "Add", "dtype": "float32"}
    assert add["run_shapes"] == [[0], [1]] and add["inputs"] == ["a", "b"] and add["outputs"] == ["c"]
    assert add["tolerance"] == {"rtol": BACKEND_RTOL, "atol": BACKEND_ATOL}
    with_initializer = backend_test(vendor_dir / "test_add_initializer")
    assert with_initializer["inputs"] == ["a"] and with_initializer["tolerance"] == {"rtol": 1e-5, "atol": 1e-6}


@pytest.fixture(scope="module")
def vendor_run(vendor_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("vendor-run")
    proc = run_cli("run-corpus", vendor_dir, "--runtimes", "ort-cpu,reference", "--out", out, "--no-progress")
    return {"proc": proc, "results": read_jsonl(out / "results.jsonl")[1:], "out": out}


def test_malformed_folders_are_one_result_each_and_the_rest_runs(vendor_run):
    assert vendor_run["proc"].returncode == 1, vendor_run["proc"].stderr  # malformed folders are failures to look at
    assert "Traceback" not in vendor_run["proc"].stderr
    by_case = {}
    for r in vendor_run["results"]:
        by_case.setdefault(r["case"], []).append(r)
    for name, reason in MALFORMED.items():
        (record,) = by_case[name]
        assert (record["status"], record["stage"], record.get("runtime")) == ("INVALID_MODEL", "corpus", None)
        assert record["message"].startswith(f"malformed test folder: {reason}") and record["error"]["type"] == "MalformedTest"
    (real,) = by_case["test_real_model"]
    assert real["status"] == "NOT_APPLICABLE"
    assert [(r["runtime"], r["run_shape"], r["status"]) for r in by_case["test_add"]] == [
        ("ort-cpu", [0], "PASS"), ("ort-cpu", [1], "PASS"), ("reference", [0], "PASS"), ("reference", [1], "PASS")]
    assert {r["status"] for r in by_case["test_add_initializer"]} == {"PASS"}
    off = by_case["test_add_off"]
    assert {r["status"] for r in off} == {"NUMERIC_MISMATCH"} and {r["outputs"]["c"]["tolerance"]["atol"] for r in off} == {1e-7}
    assert "__pycache__" not in by_case


def test_rtol_and_atol_override_the_backend_tolerances(vendor_dir, tmp_path):
    out = tmp_path / "out"
    proc = run_cli("run-corpus", vendor_dir, "--runtimes", "ort-cpu", "--atol", "1e-4", "--out", out, "--no-progress")
    assert proc.returncode == 1, proc.stderr  # the malformed folders stay
    off = [r for r in read_jsonl(out / "results.jsonl")[1:] if r["case"] == "test_add_off"]
    assert [r["status"] for r in off] == ["PASS"] and off[0]["outputs"]["c"]["tolerance"] == {"rtol": BACKEND_RTOL, "atol": 1e-4}


def test_crashing_and_hanging_runtimes_are_isolated_on_backend_directories(tmp_path):
    directory = tmp_path / "tests"
    write_onnx_node_tests(directory, "test_lstm_defaults")
    out = tmp_path / "out"
    runtimes = "tests.fault_runtimes:AbortingRuntime,tests.fault_runtimes:HangingRuntime,ort-cpu"
    proc = run_cli("run-corpus", directory, "--runtimes", runtimes, "--out", out, "--timeout", "10", "--jobs", "1", "--no-progress")
    assert proc.returncode == 1, proc.stderr
    statuses = {r["runtime"]: r["status"] for r in read_jsonl(out / "results.jsonl")[1:]}
    assert statuses == {"tests.fault_runtimes:AbortingRuntime": "CRASH", "tests.fault_runtimes:HangingRuntime": "TIMEOUT",
                        "ort-cpu": "PASS"}


def test_a_directory_with_neither_manifest_nor_tests_is_one_line_and_exit_2(tmp_path):
    (tmp_path / "corpus" / "notes").mkdir(parents=True)
    proc = run_cli("run-corpus", tmp_path / "corpus", "--runtimes", "ort-cpu", "--out", tmp_path / "out")
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and "Traceback" not in proc.stderr
    assert "has no manifest.json" in lines[0] and "and no backend-test folders (<test>/model.onnx" in lines[0]


def test_backend_directories_need_no_torch(onnx_tests, tmp_path):
    check = (
        "import sys\n"
        "from conformance.cli import main\n"
        f"code = main(['run-corpus', {str(onnx_tests)!r}, '--runtimes', 'reference', '--out', {str(tmp_path / 'out')!r}, "
        "'--no-progress'])\n"
        "assert code == 0, code\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    proc = subprocess.run([sys.executable, "-c", check], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
