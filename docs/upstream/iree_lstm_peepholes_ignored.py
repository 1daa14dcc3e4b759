"""IREE (torch-mlir's ONNX import): an ONNX LSTM's peephole weights P are ignored: the compiled model computes the LSTM
without them, silently.

    python iree_lstm_peepholes_ignored.py      # needs onnx, numpy, iree-base-compiler, iree-base-runtime
"""
import subprocess, sys, tempfile
import numpy as np, onnx, iree.runtime as rt
from onnx import helper as h, TensorProto as T, numpy_helper as nh
from iree.compiler.tools.binaries import find_tool

def iree_run(model, x):
    d = tempfile.mkdtemp(); onnx.save(model, f"{d}/m.onnx")
    subprocess.run([sys.executable, "-m", "iree.compiler.tools.import_onnx", f"{d}/m.onnx", "-o", f"{d}/m.mlir"], check=True)
    subprocess.run([find_tool("iree-compile"), f"{d}/m.mlir", "--iree-hal-target-backends=llvm-cpu",
                    "--iree-llvmcpu-target-cpu=host", "-o", f"{d}/m.vmfb"], check=True)
    config = rt.Config("local-sync"); context = rt.SystemContext(config=config)
    context.add_vm_module(rt.VmModule.copy_buffer(config.vm_instance, open(f"{d}/m.vmfb", "rb").read()))
    return np.asarray(context.modules.module["g"](x).to_host())

def lstm(x, W, R, P):  # the ONNX LSTM equations, gates in ONNX order i, o, f, c; P = [Pi, Po, Pf]
    sig, H, C, ys = lambda v: 1 / (1 + np.exp(-v)), np.zeros((x.shape[1], 8)), np.zeros((x.shape[1], 8)), []
    for xt in x:
        gi, go, gf, gc = np.split(xt @ W.T + H @ R.T, 4, axis=1)
        i, f = sig(gi + P[0] * C), sig(gf + P[2] * C)
        C = f * C + i * np.tanh(gc)
        H = sig(go + P[1] * C) * np.tanh(C)
        ys.append(H)
    return np.stack(ys)[:, None]

rng = np.random.default_rng(0)
W, R, P = rng.standard_normal((32, 4)), rng.standard_normal((32, 8)), rng.standard_normal((3, 8))
inits = [nh.from_array(a[None].astype(np.float32), n) for a, n in ((W, "W"), (R, "R"), (P.reshape(24), "P"))]
node = h.make_node("LSTM", ["X", "W", "R", "", "", "", "", "P"], ["Y"], hidden_size=8)
model = h.make_model(h.make_graph([node], "g", [h.make_tensor_value_info("X", T.FLOAT, [5, 3, 4])],
                                  [h.make_tensor_value_info("Y", T.FLOAT, [5, 1, 3, 8])], inits), opset_imports=[h.make_opsetid("", 14)])
x = rng.standard_normal((5, 3, 4)).astype(np.float32)
y = iree_run(model, x)
print(f"IREE vs numpy LSTM with P:    max abs {np.abs(y - lstm(x, W, R, P)).max():.3g}")
print(f"IREE vs numpy LSTM with P = 0: max abs {np.abs(y - lstm(x, W, R, 0 * P)).max():.3g}")
