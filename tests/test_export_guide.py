"""Every Python example of docs/EXPORT_GUIDE.md runs as written, each in a fresh interpreter."""
import os
import re
import subprocess
import sys

import pytest

from conftest import ROOT

GUIDE = ROOT / "docs" / "EXPORT_GUIDE.md"
EXAMPLES = re.findall(r"```python\n(.*?)```", GUIDE.read_text(), flags=re.S)


def test_the_guide_has_examples():
    assert len(EXAMPLES) >= 2


@pytest.mark.parametrize("source", EXAMPLES, ids=[f"example{i + 1}" for i in range(len(EXAMPLES))])
def test_guide_example_runs(tmp_path, source):
    proc = subprocess.run([sys.executable, "-c", source], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])})
    assert proc.returncode == 0, proc.stdout + proc.stderr
