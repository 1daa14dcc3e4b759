import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args, cwd=ROOT, timeout=600, env=None):
    """The CLI exactly as a user runs it, in a fresh interpreter."""
    return subprocess.run(
        [sys.executable, "-m", "conformance", *map(str, args)],
        cwd=cwd, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})},
    )


def read_jsonl(path):
    """The lines of a results file as plain JSON: what another tool reading the file sees."""
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def read_results(out):
    """(header, results) of a run directory or results file, typed (verdict.records)."""
    from verdict.records import read_run

    out = Path(out)
    return read_run(out / "results.jsonl" if out.is_dir() else out)


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("export-cache")


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory, cache_dir):
    """One real smoke run through the CLI, shared by the end-to-end and conformance tests."""
    out = tmp_path_factory.mktemp("smoke")
    proc = run_cli("run", "--preset", "smoke", "--out", out, "--cache-dir", cache_dir, "--overwrite")
    header, results = read_results(out)
    return {"proc": proc, "out": out, "header": header, "results": results}
