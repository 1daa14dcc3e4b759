"""IREE (torch-mlir's ONNX import): ONNX LSTM, GRU and RNN ignore sequence_lens: with lengths [5, 3, 1] every sequence
still runs all 5 steps, where the spec wants Y zero past each length and Y_h the state at its last step.

    python iree_sequence_lens_ignored.py      # needs onnx, numpy, iree-base-compiler, iree-base-runtime
"""
import subprocess, sys, tempfile
import numpy as np, onnx, iree.runtime as rt
from onnx import helper as h, TensorProto as T, numpy_helper as nh
from iree.compiler.tools.binaries import find_tool

def iree_run(model, *inputs):
    d = tempfile.mkdtemp(); onnx.save(model, f"{d}/m.onnx")
    subprocess.run([sys.executable, "-m", "iree.compiler.tools.import_onnx", f"{d}/m.onnx", "-o", f"{d}/m.mlir"], check=True)
    subprocess.run([find_tool("iree-compile"), f"{d}/m.mlir", "--iree-hal-target-backends=llvm-cpu",
                    "--iree-llvmcpu-target-cpu=host", "-o", f"{d}/m.vmfb"], check=True)
    config = rt.Config("local-sync"); context = rt.SystemContext(config=config)
    context.add_vm_module(rt.VmModule.copy_buffer(config.vm_instance, open(f"{d}/m.vmfb", "rb").read()))
    return [np.asarray(o.to_host()) for o in context.modules.module["g"](*inputs)]

rng = np.random.default_rng(0)
x, lengths = rng.standard_normal((5, 3, 4)).astype(np.float32), np.array([5, 3, 1], np.int32)
for op, gates in (("LSTM", 4), ("GRU", 3), ("RNN", 1)):
    W, R = (nh.from_array(rng.standard_normal((1, gates * 8, n)).astype(np.float32), name) for n, name in ((4, "W"), (8, "R")))
    def model(with_lengths):
        inputs = [h.make_tensor_value_info("X", T.FLOAT, [5, 3, 4])] + ([h.make_tensor_value_info("lengths", T.INT32, [3])] if with_lengths else [])
        node = h.make_node(op, ["X", "W", "R", "", "lengths" if with_lengths else ""], ["Y", "Y_h"], hidden_size=8)
        return h.make_model(h.make_graph([node], "g", inputs, [h.make_tensor_value_info("Y", T.FLOAT, [5, 1, 3, 8]),
                            h.make_tensor_value_info("Y_h", T.FLOAT, [1, 3, 8])], [W, R]), opset_imports=[h.make_opsetid("", 14)])
    y, y_h = iree_run(model(True), x, lengths)
    y_full, _ = iree_run(model(False), x)
    past = max(np.abs(y[n:, 0, b]).max(initial=0) for b, n in enumerate(lengths))
    last = max(np.abs(y_h[0, b] - y[n - 1, 0, b]).max() for b, n in enumerate(lengths))
    print(f"{op:4s} max |Y| past each length {past:.3f} (spec: 0); max |Y_h - Y[length-1]| {last:.3f} (spec: 0); "
          f"max |Y - Y without sequence_lens| {np.abs(y - y_full).max():.3g}")
