"""IREE (torch-mlir's ONNX import): an ONNX GRU or RNN with direction 'reverse' or 'bidirectional', or an LSTM with
direction 'reverse', fails to compile ('failed to legalize operation ... onnx.GRU'); direction 'forward' compiles.

    python iree_gru_rnn_direction.py      # needs onnx, numpy, iree-base-compiler, iree-base-runtime
"""
import re, subprocess, sys, tempfile
import numpy as np, onnx
from onnx import helper as h, TensorProto as T, numpy_helper as nh
from iree.compiler.tools.binaries import find_tool

def compile_error(model):
    d = tempfile.mkdtemp(); onnx.save(model, f"{d}/m.onnx")
    subprocess.run([sys.executable, "-m", "iree.compiler.tools.import_onnx", f"{d}/m.onnx", "-o", f"{d}/m.mlir"], check=True)
    r = subprocess.run([find_tool("iree-compile"), f"{d}/m.mlir", "--iree-hal-target-backends=llvm-cpu",
                        "--iree-llvmcpu-target-cpu=host", "-o", f"{d}/m.vmfb"],
                       capture_output=True, text=True)
    error = next((l.split("error: ", 1)[1] for l in r.stderr.splitlines() if "error: " in l), None)
    return "compiles" if error is None else re.sub(r": %.*name = \"([\w.]+)\".*", r": \1", error)

rng = np.random.default_rng(0)
for op, gates in (("GRU", 3), ("RNN", 1), ("LSTM", 4)):
    for direction in ("forward", "reverse", "bidirectional"):
        dirs = 2 if direction == "bidirectional" else 1
        W, R = (nh.from_array(rng.standard_normal((dirs, gates * 8, n)).astype(np.float32), name) for n, name in ((4, "W"), (8, "R")))
        graph = h.make_graph([h.make_node(op, ["X", "W", "R"], ["Y", "Y_h"], hidden_size=8, direction=direction)], "g",
                             [h.make_tensor_value_info("X", T.FLOAT, [5, 3, 4])],
                             [h.make_tensor_value_info("Y", T.FLOAT, [5, dirs, 3, 8]), h.make_tensor_value_info("Y_h", T.FLOAT, [dirs, 3, 8])], [W, R])
        print(f"{op:4s} {direction:13s} {compile_error(h.make_model(graph, opset_imports=[h.make_opsetid('', 14)]))}")
