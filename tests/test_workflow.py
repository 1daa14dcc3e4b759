""".github/workflows/nightly.yml: actionlint accepts it, its matrix is what the README says, and its own
shard commands, run here on the smoke preset and merged, give what one unsharded run gives."""
import configparser
import re
import shlex
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, read_jsonl, run_cli

WORKFLOW = ROOT / ".github" / "workflows" / "nightly.yml"
SHARD_COMMAND = "python -m conformance run"
# What a local run changes in the shard jobs' environment: the preset, and paths of this machine.
LOCAL_ENV = ("PRESET", "SHARD_OUT", "EXPORT_CACHE")


@pytest.fixture(scope="module")
def workflow():
    return yaml.safe_load(WORKFLOW.read_text())


def pinned_torch() -> str:
    pins = re.findall(r"^torch==(\S+)$", (ROOT / "constraints.txt").read_text(), re.MULTILINE)
    assert len(pins) == 1, pins
    return pins[0]


def actionlint_or_skip() -> str:
    path = shutil.which("actionlint")
    if not path:
        pytest.skip("actionlint not on PATH: it comes with the test extra (pip install -e '.[test]' -c constraints.txt)")
    return path


def lint(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([actionlint_or_skip(), "-oneline", "-no-color", str(path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_actionlint_accepts_the_workflow():
    proc = lint(WORKFLOW)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_actionlint_rejects_a_workflow_with_a_planted_defect(tmp_path):
    broken = tmp_path / ".github" / "workflows" / "nightly.yml"
    broken.parent.mkdir(parents=True)
    text = WORKFLOW.read_text()
    assert "${{ matrix.shard }}/" in text
    broken.write_text(text.replace("${{ matrix.shard }}/", "${{ matrix.shards }}/"))
    proc = lint(broken)
    assert proc.returncode != 0 and "shards" in proc.stdout, proc.stdout + proc.stderr


def test_the_matrix_shards_one_to_SHARDS_for_the_pinned_and_the_newest_torch(workflow):
    matrix = workflow["jobs"]["cpu"]["strategy"]["matrix"]
    assert matrix["shard"] == list(range(1, int(workflow["env"]["SHARDS"]) + 1))
    torches = matrix["torch"]
    assert torches[0] == pinned_torch() and len(torches) == 2
    assert workflow["jobs"]["cpu"]["env"]["LSTM_CONFORMANCE_TORCH"] == "torch==${{ matrix.torch }}"
    assert workflow["jobs"]["cpu"]["env"]["PIP_CONSTRAINT"] == "constraints-nightly.txt"


def test_every_torch_gates_on_a_baseline_measured_on_that_torch(workflow):
    """A diff against a baseline of another torch would read upstream changes as regressions: each torch of the axis has its
    own committed baseline, made on it, and its diff gates, strict about stale expectations."""
    from verdict.records import read_run

    merge = workflow["jobs"]["merge"]
    assert merge["needs"] == "cpu"
    baselines = {entry["torch"]: entry["baseline"] for entry in merge["strategy"]["matrix"]["include"]}
    assert set(baselines) == set(workflow["jobs"]["cpu"]["strategy"]["matrix"]["torch"])
    for torch, path in baselines.items():
        header = read_run(ROOT / path).header
        assert header.versions["torch"].split("+")[0] == torch
        assert set(workflow["jobs"]["cpu"]["env"]["CPU_RUNTIMES"].split(",")) <= set(header.options.runtimes)
        assert header.options.opsets == [int(o) for o in workflow["env"]["OPSETS"].split(",")]
    diff = next(step["run"] for step in merge["steps"] if "conformance diff" in step.get("run", ""))
    assert '"${{ matrix.baseline }}" merged' in diff and "--strict-expectations" in diff and "||" not in diff


def test_the_zoo_runs_on_each_torch_and_gates_on_that_torchs_zoo_baseline(workflow):
    from verdict.records import read_run

    zoo = workflow["jobs"]["zoo"]
    baselines = {entry["torch"]: entry["baseline"] for entry in zoo["strategy"]["matrix"]["include"]}
    assert set(baselines) == set(workflow["jobs"]["cpu"]["strategy"]["matrix"]["torch"])
    for torch, path in baselines.items():
        header = read_run(ROOT / path).header
        assert header.versions["torch"].split("+")[0] == torch and header.options.preset == "zoo"
        assert set(zoo["env"]["CPU_RUNTIMES"].split(",")) <= set(header.options.runtimes)
    run = next(step["run"] for step in zoo["steps"] if "conformance run" in step.get("run", ""))
    assert "--preset zoo" in run and run.endswith("|| test $? -eq 1")
    diff = next(step["run"] for step in zoo["steps"] if "conformance diff" in step.get("run", ""))
    assert '"${{ matrix.baseline }}" zoo' in diff and "--strict-expectations" in diff and "||" not in diff


def test_the_cuda_job_runs_only_where_a_gpu_runner_is_named(workflow):
    cuda = workflow["jobs"]["cuda"]
    assert cuda["if"] == "${{ vars.LSTM_CONFORMANCE_GPU_RUNNER != '' }}"
    assert cuda["runs-on"] == "${{ vars.LSTM_CONFORMANCE_GPU_RUNNER }}"
    runs = " ".join(step.get("run", "") for step in cuda["steps"])
    assert "tox -e cuda" in runs and "diff baselines/cuda.jsonl reports/cuda" in runs


def shard_step(workflow) -> str:
    (command,) = [step["run"] for step in workflow["jobs"]["cpu"]["steps"] if SHARD_COMMAND in step.get("run", "")]
    return command


def shard_argv(workflow, matrix: dict, overrides: dict) -> list[str]:
    """The shard step's command as argv: its `${{ matrix.* }}` and `$VARIABLE`s filled in as the runner would."""
    line = shard_step(workflow).strip()
    command, _, tolerance = line.partition(" || ")
    assert tolerance == "test $? -eq 1", "a shard's exit 1 (unexpected results) is left to the merge job's diff"
    command = re.sub(r"\$\{\{\s*matrix\.(\w+)\s*\}\}", lambda m: str(matrix[m.group(1)]), command)
    assert "${{" not in command, command
    job_env = workflow["jobs"]["cpu"]["env"]
    assert set(overrides) <= set(workflow["env"]) | set(job_env)
    variables = {**workflow["env"], **job_env, **overrides}
    argv = [re.sub(r"\$(\w+)", lambda m: str(variables[m.group(1)]), word) for word in shlex.split(command)]
    assert argv[:3] == ["python", "-m", "conformance"]
    return [sys.executable, *argv[1:]]


def outcome(run_dir: Path) -> dict[str, str]:
    records = [r for r in read_jsonl(run_dir / "results.jsonl") if r["record"] == "result"]
    keys = [r["key"] for r in records]
    assert len(keys) == len(set(keys))
    return {r["key"]: r["status"] for r in records}


def run_argv(argv) -> int:
    """Exit 0 or 1 (unexpected results, which the workflow leaves to the diff), nothing else."""
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    return proc.returncode


@pytest.mark.slow
def test_the_workflow_shards_merge_into_the_unsharded_run(workflow, cache_dir, tmp_path):
    matrix = workflow["jobs"]["cpu"]["strategy"]["matrix"]
    local = {"PRESET": "smoke", "EXPORT_CACHE": cache_dir}
    shard_dirs = []
    for shard in matrix["shard"]:
        shard_dirs.append(tmp_path / f"shard{shard}")
        run_argv(shard_argv(workflow, {"torch": matrix["torch"][0], "shard": shard}, {**local, "SHARD_OUT": shard_dirs[-1]}))
    argv = shard_argv(workflow, {"torch": matrix["torch"][0], "shard": 1}, {**local, "SHARD_OUT": tmp_path / "whole"})
    at = argv.index("--shard")
    whole_exit = run_argv(argv[:at] + argv[at + 2:])

    proc = run_cli("merge", *shard_dirs, "-o", tmp_path / "merged")
    assert proc.returncode == whole_exit, proc.stdout + proc.stderr
    merged, whole = outcome(tmp_path / "merged"), outcome(tmp_path / "whole")
    assert merged == whole
    assert {key.split("|")[4] for key, status in whole.items() if status != "NOT_APPLICABLE"} == set(workflow["jobs"]["cpu"]["env"]["CPU_RUNTIMES"].split(","))
    assert all(len(outcome(d)) < len(whole) for d in shard_dirs)


def tox_tests_junit_path() -> str:
    tox = configparser.ConfigParser(interpolation=None)
    tox.read(ROOT / "tox.ini")
    (option,) = [word for word in tox["testenv:tests"]["commands"].split() if word.startswith("--junitxml=")]
    return option.removeprefix("--junitxml=").replace("{envtmpdir}", ".tox/tests/tmp")


def test_the_workflow_uploads_the_junit_xml_that_tox_tests_writes(workflow):
    tests = workflow["jobs"]["tests"]
    assert any("tox -e tests -- -n auto" in step.get("run", "") for step in tests["steps"])
    uploads = [step["with"]["path"] for step in tests["steps"] if step.get("uses", "").startswith("actions/upload-artifact")]
    assert uploads == [tox_tests_junit_path()]


def test_pytest_under_xdist_writes_junit_xml(tmp_path):
    junit = tmp_path / "junit.xml"
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "2", f"--junitxml={junit}", "tests/test_status.py"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "created: 2/2 workers" in proc.stdout
    cases = list(ElementTree.parse(junit).getroot().iter("testcase"))
    assert {case.get("classname") for case in cases} == {"tests.test_status"}
    assert f"{len(cases)} passed" in proc.stdout
