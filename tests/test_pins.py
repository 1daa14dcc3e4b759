"""Every tox env's requirement set resolves against the package index with that env's constraints.

`pip install --dry-run --ignore-installed` resolves each set from scratch, as a fresh tox env would, without
installing anything. Needs the index (PyPI): marked `network`, skipped with the reason when it cannot be reached.
"""
import configparser
import json
import os
import re
import subprocess
import sys
import tomllib
import urllib.request

import pytest
import yaml
from conftest import ROOT

pytestmark = pytest.mark.network

TOX_ENVS = ("tests", "conformance", "cuda", "openvino", "tract", "nightly")
INDEX = os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple").rstrip("/")


@pytest.fixture(scope="module", autouse=True)
def index_reachable():
    try:
        urllib.request.urlopen(f"{INDEX}/pip/", timeout=15).close()
    except OSError as exc:
        pytest.skip(f"package index {INDEX} unreachable ({exc}): pins not checked")


def tox_config() -> configparser.ConfigParser:
    tox = configparser.ConfigParser(interpolation=None)
    tox.read(ROOT / "tox.ini")
    return tox


def name_of(requirement: str) -> str:
    return re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def tox_substitute(value: str, environ: dict[str, str]) -> str:
    value = value.replace("{toxinidir}", str(ROOT))
    return re.sub(r"\{env:(\w+):([^}]*)\}", lambda m: environ.get(m.group(1), m.group(2)), value)


def env_requirements(env: str, environ: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """(requirements, pip's environment) of a tox env: the project's dependencies and the env's extras, then
    what its commands_pre installs or uninstalls with pip; set_env as tox sets it (PIP_CONSTRAINT above all)."""
    tox = tox_config()
    section = tox[f"testenv:{env}"]
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in section.get("extras", "").split():
        requirements += project["optional-dependencies"][extra]
    for line in section.get("commands_pre", "").splitlines():
        words = line.split()
        if words[:3] != ["python", "-m", "pip"]:
            continue
        args = [w for w in words[4:] if not w.startswith("-")]
        if words[3] == "uninstall":
            requirements = [r for r in requirements if name_of(r) not in {name_of(a) for a in args}]
        elif words[3] == "install":
            requirements += args
    set_env = section.get("set_env", tox["testenv"]["set_env"])
    variables = dict(line.split("=", 1) for line in set_env.strip().splitlines())
    return requirements, {k.strip(): tox_substitute(v.strip(), environ) for k, v in variables.items()}


def resolve(requirements: list[str], variables: dict[str, str], report) -> subprocess.CompletedProcess:
    # The env's PIP_CONSTRAINT replaces any machine-wide one, as in tox.
    environ = {k: v for k, v in os.environ.items() if k != "PIP_CONSTRAINT"}
    return subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet", "--report", str(report), *requirements],
        env={**environ, **variables}, capture_output=True, text=True, timeout=900,
    )


def resolved(report) -> dict[str, str]:
    return {name_of(item["metadata"]["name"]): item["metadata"]["version"] for item in json.loads(report.read_text())["install"]}


def nightly_torches() -> list[str]:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "nightly.yml").read_text())
    return workflow["jobs"]["cpu"]["strategy"]["matrix"]["torch"]


CASES = [pytest.param(env, None, id=env) for env in TOX_ENVS if env != "nightly"]
CASES += [pytest.param("nightly", f"torch=={torch}", id=f"nightly-torch{torch}") for torch in nightly_torches()]


@pytest.mark.parametrize("env, torch", CASES)
def test_tox_env_requirements_resolve(env, torch, tmp_path):
    requirements, variables = env_requirements(env, {"LSTM_CONFORMANCE_TORCH": torch} if torch else {})
    proc = resolve(requirements, variables, tmp_path / "report.json")
    assert proc.returncode == 0, f"{env}: {' '.join(requirements)} with {variables}\n{proc.stderr[-3000:]}"
    versions = resolved(tmp_path / "report.json")
    assert {name_of(r) for r in requirements} <= set(versions)
    if torch:
        assert versions["torch"].split("+")[0] == torch.removeprefix("torch==")
    if env == "cuda":
        assert "onnxruntime" not in versions and versions["onnxruntime-gpu"].startswith("1.31.")


def test_an_unresolvable_pin_fails_the_check(tmp_path):
    constraints = tmp_path / "constraints.txt"
    constraints.write_text((ROOT / "constraints.txt").read_text().replace("onnxruntime-gpu==1.31.*", "onnxruntime-gpu==1.32.*"))
    requirements, variables = env_requirements("cuda", {})
    proc = resolve(requirements, {**variables, "PIP_CONSTRAINT": str(constraints)}, tmp_path / "report.json")
    assert proc.returncode != 0
    assert "No matching distribution found for onnxruntime-gpu" in proc.stderr
