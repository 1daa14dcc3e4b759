"""A runtime plugin shipped as its own wheel is found and run by the suite, with no change to the suite.

The example plugin is built into a wheel and installed into a fresh virtual environment layered on
this one (so torch and onnxruntime come from here and nothing is downloaded); the suite runs from
the repository root, as the README shows.
"""
import importlib.util
import json
import shutil
import subprocess
import sys
import sysconfig
import venv

from conftest import ROOT

EXAMPLE = ROOT / "examples" / "lstm-conformance-example-plugin"
PLUGIN = "ort-cpu-noopt"


def check(*command, **kwargs):
    proc = subprocess.run(list(map(str, command)), capture_output=True, text=True, timeout=300, **kwargs)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def build_wheel(tmp_path):
    source = tmp_path / "source"
    shutil.copytree(EXAMPLE, source)  # setuptools writes build/ and egg-info beside the sources
    # Without setuptools here (virtualenv seeds none from Python 3.12) pip fetches it into an isolated build env.
    isolation = ["--no-build-isolation"] if importlib.util.find_spec("setuptools") else []
    check(sys.executable, "-m", "pip", "wheel", "--no-deps", *isolation, "-w", tmp_path / "dist", source)
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    return wheel


def layered_venv(path):
    """A venv that sees this environment's packages behind its own (--system-site-packages alone would
    reach the base interpreter's, not those of the venv this test runs in)."""
    venv.create(path, system_site_packages=True, with_pip=False)
    python = path / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    site_packages = check(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip()
    ours = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    lines = [f"import site; site.addsitedir({directory!r})" for directory in ours]
    (path / site_packages / "_layered_on_parent.pth").write_text("\n".join(lines) + "\n")
    return python


def test_wheel_plugin_is_listed_and_runs(tmp_path, cache_dir):
    wheel = build_wheel(tmp_path)
    python = layered_venv(tmp_path / "venv")
    check(python, "-m", "pip", "install", "--no-deps", "--no-index", wheel)

    listing = check(python, "-m", "conformance", "list", "--runtimes", cwd=ROOT)
    assert any(line.split() == [PLUGIN, "available"] for line in listing.stdout.splitlines()), listing.stdout

    out = tmp_path / "run"
    check(python, "-m", "conformance", "run", "--case", "num_layers=1", "--exporters", "torchscript", "--modes", "static",
          "--runtimes", PLUGIN, "--out", out, "--cache-dir", cache_dir, "--no-progress", cwd=ROOT)
    (record,) = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()[1:]]
    assert record["runtime"] == PLUGIN and record["status"] == "PASS", record["message"]


def test_plugin_is_not_visible_without_its_wheel():
    assert PLUGIN not in check(sys.executable, "-m", "conformance", "list", "--runtimes", cwd=ROOT).stdout
