"""upstream: issue drafts whose repro scripts reproduce the failure without the suite."""
import subprocess
import sys

import pytest

from conftest import run_cli
from conformance.upstream import is_upstream_link

pytestmark = pytest.mark.slow

PACKED_ON_REFERENCE = ["--case", "packed=true,num_layers=1", "--exporters", "torchscript", "--modes", "static",
                       "--runtimes", "reference", "--no-progress"]


@pytest.mark.parametrize("link, linked", [
    ("https://github.com/onnx/onnx/issues/1", True),
    ("https://github.com/pytorch/pytorch/pull/193192", True),
    ("https://onnxruntime.ai/docs/execution-providers/CUDA-ExecutionProvider.html#use_tf32", True),
    ("https://github.com/onnx/onnx/blob/f754691/onnx/reference/ops/op_rnn.py#L104-L121", False),
    ("https://github.com/openvinotoolkit/openvino/tree/master/src", False),
    ("docs/upstream/dynamo-rnn-dispatch-cache.md", False),
])
def test_what_counts_as_linked_upstream(link, linked):
    assert is_upstream_link(link) is linked


@pytest.fixture(scope="module")
def packed_run(tmp_path_factory, cache_dir):
    out = tmp_path_factory.mktemp("packed-reference")
    proc = run_cli("run", *PACKED_ON_REFERENCE, "--out", out, "--cache-dir", cache_dir, "--overwrite")
    assert proc.returncode == 0, proc.stderr  # reference ignores sequence_lens: XFAIL, linked to a source line
    return out


def test_a_source_linked_cluster_gets_a_draft_whose_script_reproduces_it_with_onnx_alone(packed_run, tmp_path):
    drafts = tmp_path / "drafts"
    proc = run_cli("upstream", packed_run, "-o", drafts)
    assert proc.returncode == 0, proc.stderr
    folders = [p for p in drafts.iterdir() if p.is_dir()]
    assert len(folders) == 1, proc.stdout
    issue = (folders[0] / "ISSUE.md").read_text()
    assert "[reference] NUMERIC_MISMATCH at compare" in issue
    assert "- onnx 1." in issue and "result(s) of one run" in issue
    assert "reference-recurrent-sequence-lens" in issue  # what the suite knew, with its link
    script = folders[0] / "repro" / "repro.py"
    source = script.read_text()
    assert "conformance" not in source and "import torch" not in source
    # Run where the suite cannot be imported: only onnx and numpy (and the runtime) are needed.
    ran = subprocess.run([sys.executable, "-I", str(script)], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    gaps = [float(line.rsplit(" ", 1)[1]) for line in ran.stdout.splitlines() if "max abs difference" in line]
    assert gaps and max(gaps) > 0.1, ran.stdout  # the wrong answer the run recorded, reproduced


def test_a_cluster_by_id_and_the_refusals(packed_run, tmp_path):
    listed = run_cli("upstream", packed_run, "-o", tmp_path / "all")
    identifier = listed.stdout.split()[0]
    one = run_cli("upstream", packed_run, identifier, "-o", tmp_path / "one")
    assert one.returncode == 0 and (tmp_path / "one" / identifier / "ISSUE.md").exists(), one.stderr
    unknown = run_cli("upstream", packed_run, "0000000000", "-o", tmp_path / "unknown")
    assert unknown.returncode == 2 and "no failure cluster '0000000000'" in unknown.stderr
    assert "Traceback" not in unknown.stderr
    before = (tmp_path / "one" / identifier / "ISSUE.md").read_text()
    again = run_cli("upstream", packed_run, identifier, "-o", tmp_path / "one")
    assert again.returncode == 2 and "not empty" in again.stderr
    assert (tmp_path / "one" / identifier / "ISSUE.md").read_text() == before


def test_an_export_failure_gets_the_torch_export_script(tmp_path, cache_dir):
    out = tmp_path / "run"
    proc = run_cli("run", "--case", "proj_size=3,num_layers=1", "--exporters", "dynamo", "--modes", "static",
                   "--runtimes", "ort-cpu", "--no-progress", "--out", out, "--cache-dir", cache_dir)
    assert proc.returncode == 0, proc.stderr  # INVALID_MODEL, expected: dynamo-lstm-projection links a source line
    drafts = tmp_path / "drafts"
    assert run_cli("upstream", out, "-o", drafts).returncode == 0
    (folder,) = [p for p in drafts.iterdir() if p.is_dir()]
    script = folder / "repro" / "export.py"
    assert "torch.nn.LSTM(" in script.read_text() and "cases" not in script.read_text()
    ran = subprocess.run([sys.executable, "-I", str(script)], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    # The checker rejects the model Dynamo writes for an LSTM with a projection, as the run recorded.
    assert ran.returncode != 0 and "ShapeInferenceError" in ran.stderr, ran.stderr[-2000:]
