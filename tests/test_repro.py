"""Repro scripts are standalone and reproduce what the suite recorded: the same failure, or the same tiny error."""
import ast
import os
import re
import subprocess
import sys

import pytest

from conformance.repro import repro_script, safe_name

STANDALONE_IMPORTS = {"__future__", "sys", "tempfile", "types", "warnings", "zlib", "pathlib", "numpy", "onnx", "torch", "onnxruntime", "ml_dtypes"}


def find(results, **wanted):
    return next(r for r in results if all(r.get(k) == v for k, v in wanted.items()))


@pytest.fixture(scope="module")
def repro_runs(smoke_run, tmp_path_factory):
    """Three scripts run side by side from a directory outside the project: two recorded failures and one pass."""
    results, out = smoke_run["results"], smoke_run["out"]
    cases = {
        "export error": find(results, exporter="torchscript", raw_status="EXPORT_ERROR", runtime="ort-cpu", dynamic=False),
        "run error": find(results, exporter="dynamo", dynamic=True, runtime="ort-cpu", raw_status="RUN_ERROR", run_shape=[1, 1]),
        "pass": find(results, exporter="torchscript", dynamic=True, runtime="ort-cpu", status="PASS", run_shape=[11, 5]),
    }
    workdir = tmp_path_factory.mktemp("repro-run")
    scripts = {name: out / "repro" / f"{safe_name(r['key'])}.py" for name, r in cases.items() if name != "pass"}
    # A passing result gets no script in a run; generating one proves the script agrees with the suite on numbers too.
    scripts["pass"] = workdir / "pass.py"
    scripts["pass"].write_text(repro_script(smoke_run["header"], cases["pass"]))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    procs = {name: subprocess.Popen([sys.executable, str(path)], cwd=workdir, env=env, text=True,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for name, path in scripts.items()}
    outputs = {name: proc.communicate(timeout=300)[0] for name, proc in procs.items()}
    return {name: (cases[name], scripts[name], procs[name].returncode, outputs[name]) for name in cases}


def test_every_failing_result_has_a_script(smoke_run):
    failing = [r for r in smoke_run["results"] if r["raw_status"] not in ("PASS", "SKIPPED", "NOT_APPLICABLE")]
    assert failing
    for record in failing:
        assert (smoke_run["out"] / "repro" / f"{safe_name(record['key'])}.py").exists()


def test_scripts_import_nothing_of_the_suite(repro_runs):
    for _, path, _, _ in repro_runs.values():
        tree = ast.parse(path.read_text())
        imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        imported |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert imported <= STANDALONE_IMPORTS, imported - STANDALONE_IMPORTS


@pytest.mark.parametrize("name", ["export error", "run error"])
def test_script_reproduces_the_recorded_failure(repro_runs, name):
    record, _, returncode, output = repro_runs[name]
    assert returncode == 1, output
    assert f"status: {record['raw_status']} (reproduced" in output
    assert f"{record['raw_status']} at {record['stage']}: {record['error']['type']}: {record['error']['message'][:80]}" in output


def test_script_of_a_passing_result_prints_the_same_tiny_error(repro_runs):
    record, _, returncode, output = repro_runs["pass"]
    assert returncode == 0, output
    assert "status: PASS (reproduced" in output
    for name in ("output", "h_n", "c_n"):
        printed = float(re.search(rf"^{name}: max abs (\S+),", output, re.M).group(1))
        assert printed < 1e-6
        assert printed == pytest.approx(record["outputs"][name]["max_abs"], rel=0.01, abs=1e-9)
