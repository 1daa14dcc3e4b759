"""Crash and hang isolation, resume after kill -9, parallel determinism, export cache."""
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import ROOT, read_jsonl, run_cli

ONE_CASE = ["--case", "num_layers=1", "--exporters", "torchscript", "--modes", "static", "--no-progress"]
VOLATILE = {"timings", "export", "providers", "placement"}


def results(out):
    return read_jsonl(out / "results.jsonl")[1:]


def by_runtime(records):
    return {r["runtime"]: r for r in records}


def test_aborting_runtime_is_a_crash_and_the_run_goes_on(tmp_path, cache_dir):
    out = tmp_path / "run"
    proc = run_cli("run", *ONE_CASE, "--runtimes", "tests.fault_runtimes:AbortingRuntime,ort-cpu",
                   "--out", out, "--cache-dir", cache_dir, "--timeout", "60")
    assert proc.returncode == 1, proc.stderr
    records = by_runtime(results(out))
    crash = records["tests.fault_runtimes:AbortingRuntime"]
    assert crash["status"] == "CRASH" and crash["stage"] == "run"
    assert "SIGABRT" in crash["message"]
    assert "aborting runtime: about to abort" in crash["error"]["text"]
    assert records["ort-cpu"]["status"] == "PASS"
    assert (out / "report.html").exists()


def test_hanging_runtime_is_a_timeout_and_the_run_goes_on(tmp_path, cache_dir):
    out = tmp_path / "run"
    start = time.monotonic()
    # Long enough for onnxruntime to load on a busy machine, short against the hang.
    proc = run_cli("run", *ONE_CASE, "--runtimes", "tests.fault_runtimes:HangingRuntime,ort-cpu",
                   "--out", out, "--cache-dir", cache_dir, "--timeout", "10", "--jobs", "1")
    assert time.monotonic() - start < 90
    assert proc.returncode == 1, proc.stderr
    records = by_runtime(results(out))
    assert records["tests.fault_runtimes:HangingRuntime"]["status"] == "TIMEOUT"
    assert "10s stage timeout" in records["tests.fault_runtimes:HangingRuntime"]["message"]
    assert records["ort-cpu"]["status"] == "PASS"


def test_corpus_runs_are_isolated_too(tmp_path, cache_dir):
    """run-corpus judges through the same worker pool: a crashing runtime is CRASH, the next one still runs."""
    corpus = tmp_path / "corpus"
    proc = run_cli("export-corpus", *ONE_CASE, "--out", corpus, "--cache-dir", cache_dir)
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "run"
    proc = run_cli("run-corpus", corpus, "--runtimes", "tests.fault_runtimes:AbortingRuntime,ort-cpu", "--out", out, "--no-progress")
    assert proc.returncode == 1, proc.stderr
    records = by_runtime(results(out))
    assert records["tests.fault_runtimes:AbortingRuntime"]["status"] == "CRASH"
    assert "SIGABRT" in records["tests.fault_runtimes:AbortingRuntime"]["message"]
    assert records["ort-cpu"]["status"] == "PASS"


def test_resume_after_kill_finishes_without_loss_or_duplicates(tmp_path, cache_dir):
    out = tmp_path / "run"
    args = ["run", "--preset", "seed", "-k", "L1-uni-noproj", "--exporters", "torchscript",
            "--runtimes", "tests.fault_runtimes:SlowOrtRuntime", "--out", out, "--cache-dir", cache_dir,
            "--jobs", "2", "--no-progress"]
    proc = subprocess.Popen([sys.executable, "-m", "conformance", *map(str, args)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    results_file = out / "results.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if results_file.exists() and len(results_file.read_text().splitlines()) > 6:
            break
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = results(out)
    assert 5 <= len(before) < 8 * 4, "the run should have been killed part-way"
    with results_file.open("a") as f:
        f.write('{"record": "result", "case": "torn')  # what a writer killed mid-line leaves
    resumed = run_cli("run", "--resume", out)
    assert resumed.returncode == 0, resumed.stderr
    after = results(out)
    keys = [r["key"] for r in after]
    assert len(keys) == len(set(keys)) == 8 * 4  # 8 configurations x (1 static + 3 dynamic run shapes)
    assert after[: len(before)] == before
    assert not (out / ".scratch").exists(), "the killed workers' half-done exports are cleaned up"


def test_parallel_results_equal_serial_results(tmp_path, cache_dir):
    def run(jobs):
        out = tmp_path / f"jobs{jobs}"
        proc = run_cli("run", "--preset", "smoke", "--exporters", "torchscript", "--runtimes", "ort-cpu,reference",
                       "--out", out, "--cache-dir", cache_dir, "--jobs", jobs, "--no-progress")
        assert proc.returncode == 0, proc.stderr
        return {r["key"]: {k: v for k, v in r.items() if k not in VOLATILE} for r in results(out)}

    assert run(1) == run(2)


def test_export_cache_is_reused_and_can_be_disabled(tmp_path):
    cache = tmp_path / "cache"

    def exports(name, *extra):
        out = tmp_path / name
        proc = run_cli("run", *ONE_CASE, "--runtimes", "ort-cpu", "--out", out, *extra)
        assert proc.returncode == 0, proc.stderr
        return [r["export"]["cached"] for r in results(out)]

    assert exports("first", "--cache-dir", cache) == [False]
    assert exports("second", "--cache-dir", cache) == [True]
    assert exports("third", "--cache-dir", cache, "--no-cache") == [False]
    assert exports("fourth", "--cache-dir", cache, "--opsets", "17") == [False]


def test_cache_key_depends_on_case_exporter_mode_opset():
    from cases import Case
    from conformance.cache import export_key
    from conformance.plan import Job

    base = Job(Case(), "torchscript", False, 18, ("ort-cpu",))
    variants = [
        Job(Case(num_layers=2), "torchscript", False, 18, ("ort-cpu",)),
        Job(Case(), "dynamo", False, 18, ("ort-cpu",)),
        Job(Case(), "torchscript", True, 18, ("ort-cpu",)),
        Job(Case(), "torchscript", False, 17, ("ort-cpu",)),
    ]
    keys = {export_key(j) for j in variants}
    assert export_key(base) not in keys and len(keys) == 4
    assert export_key(base) == export_key(Job(Case(), "torchscript", False, 18, ("reference",)))


@pytest.mark.parametrize(
    "args, message",
    [
        (["run", "--preset", "huge"], "unknown preset 'huge'"),
        (["run", "--exporters", "tflite"], "unknown exporter 'tflite'"),
        (["run", "--runtimes", "ort-tpu"], "unknown runtime 'ort-tpu'"),
        (["run", "--case", "proj_size=8"], "proj_size >= hidden_size"),
        (["run", "--case", "layers=2"], "unknown case field 'layers'"),
        (["run", "--jobs", "0"], "--jobs must be at least 1"),
        (["run", "--opsets", "3"], "--opsets 3 is outside"),
        (["list", "--preset", "huge"], "unknown preset 'huge'"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, message):
    proc = run_cli(*args, "--out", tmp_path / "out") if args[0] == "run" else run_cli(*args)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out" / "results.jsonl").exists()


def test_eager_cuda_without_a_gpu_is_a_usage_error(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA device")
    proc = run_cli("run", *ONE_CASE, "--eager-cuda", "--out", tmp_path / "out")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [f"python -m conformance: error: --eager-cuda needs a CUDA device, and torch {torch.__version__} sees none here"]


def test_malformed_expectations_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[[expectation]\n")
    proc = run_cli("run", *ONE_CASE, "--expectations", bad, "--out", tmp_path / "out")
    assert proc.returncode == 2 and "not valid TOML" in proc.stderr and "Traceback" not in proc.stderr


def test_results_file_that_is_not_jsonl(tmp_path):
    bogus = tmp_path / "results.jsonl"
    bogus.write_text("<html>not results</html>\nmore\n")
    proc = run_cli("report", bogus)
    assert proc.returncode == 2 and "is not a JSON line" in proc.stderr and "Traceback" not in proc.stderr


def test_unwritable_output_directory(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    proc = run_cli("run", *ONE_CASE, "--out", blocker / "sub")
    assert proc.returncode == 2 and "is not writable" in proc.stderr and "Traceback" not in proc.stderr


def test_existing_results_are_not_overwritten_by_accident(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.jsonl").write_text('{"record": "header"}\n')
    proc = run_cli("run", *ONE_CASE, "--out", out)
    assert proc.returncode == 2 and "--resume" in proc.stderr
    assert (out / "results.jsonl").read_text() == '{"record": "header"}\n'
