"""A dynamic torch.onnx.export(dynamo=True) of an LSTM or GRU depends on the exports before it in the process.

Plain torch, onnx and onnxruntime. Exports nn.LSTM(4, 8) (or nn.GRU), given its initial states, with a dynamic
sequence axis three ways:
in a fresh state; after a static export of the same layer; and after that static export with aten.lstm.input's
(aten.gru.input's) dispatch cache cleared. Prints the sequence axis each ONNX model declares, and runs each at
another sequence length in onnxruntime.

    python dynamo_rnn_dispatch_cache.py [lstm|gru]
"""
import contextlib
import io
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime
import torch

LAYER = sys.argv[1] if len(sys.argv) > 1 else "lstm"
OPSET = int(sys.argv[2]) if len(sys.argv) > 2 else 18


class LSTM(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = torch.nn.LSTM(4, 8)

    def forward(self, x, h0, c0):
        output, (h_n, c_n) = self.rnn(x, (h0, c0))
        return output, h_n, c_n


class GRU(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = torch.nn.GRU(4, 8)

    def forward(self, x, h0):
        return self.rnn(x, h0)


Model = {"lstm": LSTM, "gru": GRU}[LAYER]
STATES = ("h0", "c0") if LAYER == "lstm" else ("h0",)


def export(dynamic: bool) -> str:
    torch.manual_seed(0)
    path = tempfile.mktemp(suffix=".onnx")
    seq, batch = torch.export.Dim("seq"), torch.export.Dim("batch")
    args = (torch.randn(5, 3, 4), *(torch.randn(1, 3, 8) for _ in STATES))
    shapes = {"x": {0: seq, 1: batch}, **{name: {1: batch} for name in STATES}}
    with contextlib.redirect_stdout(io.StringIO()):
        torch.onnx.export(Model().eval(), args, path, dynamo=True, input_names=["x", *STATES],
                          dynamic_shapes=shapes if dynamic else None, opset_version=OPSET)
    return path


def describe(label: str, path: str) -> None:
    dim = onnx.load(path).graph.input[0].type.tensor_type.shape.dim[0]
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    feeds = {"x": rng.standard_normal((11, 3, 4)).astype(np.float32),
             **{name: rng.standard_normal((1, 3, 8)).astype(np.float32) for name in STATES}}
    try:
        session.run(None, feeds)
        ran = "runs at sequence length 11"
    except Exception as exc:  # noqa: BLE001 - the failure is the finding
        ran = f"fails at sequence length 11: {str(exc).splitlines()[0][:100]}"
    print(f"{label:52} sequence axis {dim.dim_param or dim.dim_value!r:6} {ran}")


if sys.argv[3:] == ["fresh"]:
    describe("dynamic export in a fresh process", export(dynamic=True))
    sys.exit()
print(f"torch {torch.__version__}, onnx {onnx.__version__}, onnxruntime {onnxruntime.__version__}, nn.{LAYER.upper()}, opset {OPSET}",
      flush=True)
subprocess.run([sys.executable, __file__, LAYER, str(OPSET), "fresh"], check=True)
export(dynamic=False)
describe("dynamic export after a static one", export(dynamic=True))
getattr(torch.ops.aten, LAYER).input._dispatch_cache.clear()
describe("the same, aten.%s.input's dispatch cache cleared" % LAYER, export(dynamic=True))
