"""IREE (torch-mlir's ONNX import): an ONNX GRU or RNN whose X has a symbolic sequence length or batch fails to compile
('linalg.fill' op unexpected result less than 0), and one whose X has a symbolic input size is refused; the same LSTM
compiles and runs.

    python iree_gru_rnn_dynamic_shapes.py      # needs onnx, numpy, iree-base-compiler, iree-base-runtime
"""
import re, subprocess, sys, tempfile
import numpy as np, onnx, iree.runtime as rt
from onnx import helper as h, TensorProto as T, numpy_helper as nh
from iree.compiler.tools.binaries import find_tool

def iree_run(model, x):
    d = tempfile.mkdtemp(); onnx.save(model, f"{d}/m.onnx")
    subprocess.run([sys.executable, "-m", "iree.compiler.tools.import_onnx", f"{d}/m.onnx", "-o", f"{d}/m.mlir"], check=True)
    r = subprocess.run([find_tool("iree-compile"), f"{d}/m.mlir", "--iree-hal-target-backends=llvm-cpu",
                        "--iree-llvmcpu-target-cpu=host", "-o", f"{d}/m.vmfb"],
                       capture_output=True, text=True)
    if r.returncode:
        error = next(l.split("error: ", 1)[1] for l in r.stderr.splitlines() if "error: " in l)
        return re.sub(r": %.*name = \"([\w.]+)\".*", r": \1", error)
    config = rt.Config("local-sync"); context = rt.SystemContext(config=config)
    context.add_vm_module(rt.VmModule.copy_buffer(config.vm_instance, open(f"{d}/m.vmfb", "rb").read()))
    return f"runs, Y {np.asarray(context.modules.module['g'](x)[0].to_host()).shape}"

rng = np.random.default_rng(0)
for op, gates in (("GRU", 3), ("RNN", 1), ("LSTM", 4)):
    W, R = (nh.from_array(rng.standard_normal((1, gates * 8, n)).astype(np.float32), name) for n, name in ((4, "W"), (8, "R")))
    for x_shape in (["seq", 3, 4], [5, "batch", 4], [5, 3, "features"]):
        y_shape = [x_shape[0], 1, x_shape[1], 8]
        graph = h.make_graph([h.make_node(op, ["X", "W", "R"], ["Y", "Y_h"], hidden_size=8)], "g",
                             [h.make_tensor_value_info("X", T.FLOAT, x_shape)],
                             [h.make_tensor_value_info("Y", T.FLOAT, y_shape), h.make_tensor_value_info("Y_h", T.FLOAT, y_shape[1:])], [W, R])
        model = h.make_model(graph, opset_imports=[h.make_opsetid("", 14)])
        print(f"{op:4s} X {str(x_shape):20s} {iree_run(model, rng.standard_normal((5, 3, 4)).astype(np.float32))}")
