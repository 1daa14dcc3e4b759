"""`repro RUN KEY` runs one recorded result again through the engine and says whether it reproduces."""
import pytest

from conftest import read_results, run_cli


def find(results, **wanted):
    return next(r for r in results if all(getattr(r, k) == v for k, v in wanted.items()))


def test_a_recorded_failure_reproduces(smoke_run, tmp_path):
    record = find(smoke_run["results"], exporter="dynamo", dynamic=True, runtime="ort-cpu", raw_status="RUN_ERROR", run_shape=[1, 1])
    proc = run_cli("repro", smoke_run["out"], record.key, "--keep", tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"recorded: RUN_ERROR at run" in proc.stdout and "now:      RUN_ERROR at run" in proc.stdout
    assert proc.stdout.strip().endswith("reproduced") and "[ONNXRuntimeError]" in proc.stderr
    # --keep writes an ONNX backend test that runs without the suite: the same error from onnxruntime alone
    import numpy as np
    import onnxruntime as ort

    from conformance.corpus_layout import read_tensors

    feeds = read_tensors(tmp_path / "test_data_set_0", "input", 3)
    expected = read_tensors(tmp_path / "test_data_set_0", "output", 3)
    assert set(feeds) == {"input", "h0", "c0"} and set(expected) == {"output", "h_n", "c_n"}
    assert np.shape(feeds["input"]) == (1, 1, 4)
    session = ort.InferenceSession(str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"])
    with pytest.raises(Exception, match="ONNXRuntimeError"):
        session.run(None, feeds)


def test_a_pass_reproduces_as_a_pass(smoke_run):
    record = find(smoke_run["results"], exporter="torchscript", dynamic=True, runtime="reference", status="PASS", run_shape=[11, 5])
    proc = run_cli("repro", smoke_run["out"] / "results.jsonl", record.key)
    assert proc.returncode == 0 and "now:      PASS at compare" in proc.stdout, proc.stdout + proc.stderr


def test_a_changed_outcome_is_not_reproduced(smoke_run, tmp_path):
    """Tamper with the record: the command must notice that the result now differs."""
    lines = (smoke_run["out"] / "results.jsonl").read_text().splitlines()
    record = find(smoke_run["results"], exporter="torchscript", dynamic=False, runtime="ort-cpu", status="PASS")
    tampered = tmp_path / "results.jsonl"
    tampered.write_text("\n".join(line.replace('"raw_status":"PASS"', '"raw_status":"NUMERIC_MISMATCH"') if record.key in line else line
                                  for line in lines) + "\n")
    proc = run_cli("repro", tampered, record.key)
    assert proc.returncode == 1 and proc.stdout.strip().endswith("NOT reproduced"), proc.stdout


def test_an_unknown_key_is_a_usage_error(smoke_run):
    proc = run_cli("repro", smoke_run["out"], "no|such|key")
    assert proc.returncode == 2 and "no result with key 'no|such|key'" in proc.stderr and "Traceback" not in proc.stderr


def test_repro_judges_with_the_runs_tolerances(tmp_path, cache_dir):
    """A run told to hold h_n to 1e-12 fails there; its repro must use that tolerance too, not the dtype's."""
    out = tmp_path / "run"
    proc = run_cli("run", "--case", "num_layers=1", "--exporters", "torchscript", "--modes", "static", "--runtimes", "ort-cpu",
                   "--atol", "h_n:1e-12", "--rtol", "h_n:0", "--out", out, "--cache-dir", cache_dir, "--no-progress")
    assert proc.returncode == 1, proc.stderr
    (record,) = [r for r in read_results(out).results]
    assert record.status == "NUMERIC_MISMATCH" and record.outputs["h_n"].tolerance.atol == 1e-12
    assert record.outputs["output"].tolerance.atol == 1e-5  # the other outputs keep the dtype's
    proc = run_cli("repro", out, record.key)
    assert proc.returncode == 0 and "now:      NUMERIC_MISMATCH at compare" in proc.stdout, proc.stdout + proc.stderr
