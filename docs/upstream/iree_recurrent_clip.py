"""IREE (torch-mlir's ONNX import): an ONNX RNN's clip is ignored (computed unclipped, silently), while an LSTM's or GRU's
clip, and an LSTM's input_forget, make the model fail to compile.

    python iree_recurrent_clip.py      # needs onnx, numpy, iree-base-compiler, iree-base-runtime
"""
import re, subprocess, sys, tempfile
import numpy as np, onnx, iree.runtime as rt
from onnx import helper as h, TensorProto as T, numpy_helper as nh
from iree.compiler.tools.binaries import find_tool

def iree_run(model, x):
    d = tempfile.mkdtemp(); onnx.save(model, f"{d}/m.onnx")
    subprocess.run([sys.executable, "-m", "iree.compiler.tools.import_onnx", f"{d}/m.onnx", "-o", f"{d}/m.mlir"], check=True)
    r = subprocess.run([find_tool("iree-compile"), f"{d}/m.mlir", "--iree-hal-target-backends=llvm-cpu",
                        "--iree-llvmcpu-target-cpu=host", "-o", f"{d}/m.vmfb"], capture_output=True, text=True)
    if r.returncode:
        return re.sub(r": %.*name = \"([\w.]+)\".*", r": \1", next(l.split("error: ", 1)[1] for l in r.stderr.splitlines() if "error: " in l))
    config = rt.Config("local-sync"); context = rt.SystemContext(config=config)
    context.add_vm_module(rt.VmModule.copy_buffer(config.vm_instance, open(f"{d}/m.vmfb", "rb").read()))
    return np.asarray(context.modules.module["g"](x).to_host())

def rnn(x, W, R, clip):  # the ONNX RNN equation with clip: H = tanh(clip(X W^T + H R^T, -clip, clip))
    H, ys = np.zeros((x.shape[1], 8)), []
    for xt in x:
        H = np.tanh(np.clip(xt @ W.T + H @ R.T, -clip, clip)); ys.append(H)
    return np.stack(ys)[:, None]

rng = np.random.default_rng(0)
x = rng.standard_normal((5, 3, 4)).astype(np.float32)
for op, gates, attributes in (("RNN", 1, {"clip": 0.5}), ("GRU", 3, {"clip": 0.5}), ("LSTM", 4, {"clip": 0.5}), ("LSTM", 4, {"input_forget": 1})):
    W, R = rng.standard_normal((gates * 8, 4)), rng.standard_normal((gates * 8, 8))
    graph = h.make_graph([h.make_node(op, ["X", "W", "R"], ["Y"], hidden_size=8, **attributes)], "g",
                         [h.make_tensor_value_info("X", T.FLOAT, [5, 3, 4])], [h.make_tensor_value_info("Y", T.FLOAT, [5, 1, 3, 8])],
                         [nh.from_array(W[None].astype(np.float32), "W"), nh.from_array(R[None].astype(np.float32), "R")])
    y = iree_run(h.make_model(graph, opset_imports=[h.make_opsetid("", 14)]), x)
    if isinstance(y, str):
        print(f"{op:4s} {attributes}: {y}")
    else:
        print(f"{op:4s} {attributes}: IREE vs numpy RNN with clip max abs {np.abs(y - rnn(x, W, R, 0.5)).max():.3g}, "
              f"without clip max abs {np.abs(y - rnn(x, W, R, np.inf)).max():.3g}")
