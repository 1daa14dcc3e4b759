"""torch 2.11: torch.onnx.export(dynamo=True) of an nn.LSTM writes a model that onnx.checker rejects.

Needs torch, onnx and onnxscript. Exports nn.LSTM(4, 8), given (h0, c0): with dynamic batch and sequence axes, static,
and static at batch 1. Prints h_n's shape in eager, in torch.onnx's exported program and on the ONNX graph output, and
what onnx.checker.check_model(full_check=True) and onnx.shape_inference.infer_shapes(strict_mode=True) say.

    python dynamo_2_11_invalid_lstm_model.py
"""
import contextlib
import io
import tempfile

import onnx
import onnxscript
import torch


class Model(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = torch.nn.LSTM(4, 8)

    def forward(self, x, h0, c0):
        output, (h_n, c_n) = self.lstm(x, (h0, c0))
        return output, h_n, c_n


def verdict(check) -> str:
    try:
        check()
        return "valid"
    except Exception as exc:  # noqa: BLE001 - the rejection is the finding
        return f"{type(exc).__name__}: {str(exc).strip()}"


def export(label: str, batch: int, dynamic: bool) -> None:
    model, path = Model().eval(), tempfile.mktemp(suffix=".onnx")
    args = (torch.randn(5, batch, 4), torch.randn(1, batch, 8), torch.randn(1, batch, 8))
    seq, b = torch.export.Dim("seq"), torch.export.Dim("batch")
    with contextlib.redirect_stdout(io.StringIO()):
        program = torch.onnx.export(model, args, path, dynamo=True, opset_version=18, input_names=["x", "h0", "c0"],
                                    output_names=["output", "h_n", "c_n"],
                                    dynamic_shapes={"x": {0: seq, 1: b}, "h0": {1: b}, "c0": {1: b}} if dynamic else None)
    recorded = program.exported_program.graph.output_node().args[0][1].meta["val"].shape
    proto = onnx.load(path)
    declared = [d.dim_param or d.dim_value for d in proto.graph.output[1].type.tensor_type.shape.dim]
    checker = verdict(lambda: onnx.checker.check_model(proto, full_check=True))
    inference = verdict(lambda: onnx.shape_inference.infer_shapes(proto, strict_mode=True))
    print(f"{label}: h_n eager {list(model(*args)[1].shape)}, exported program {list(recorded)}, ONNX output {declared}")
    print(f"    check_model: {checker}\n    infer_shapes: {'the same' if inference == checker != 'valid' else inference}")


print(f"torch {torch.__version__}, onnx {onnx.__version__}, onnxscript {onnxscript.__version__}")
export("dynamic batch and sequence, batch 3", 3, dynamic=True)  # first: a static export before it leaks into it
export("static, batch 3", 3, dynamic=False)
export("static, batch 1", 1, dynamic=False)
