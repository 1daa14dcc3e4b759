"""IREE (torch-mlir's ONNX import): a Transpose whose declared output is more static than its input ([seq, batch, 8] ->
[batch, 5, 8], what torch 2.13's dynamic Dynamo export of a batch-first LSTM declares) fails to compile with an invalid
linalg.transpose; declared [batch, seq, 8] it compiles.

    python iree_transpose_static_result_dim.py      # needs onnx, numpy, iree-base-compiler, iree-base-runtime
"""
import subprocess, sys, tempfile
import numpy as np, onnx, iree.runtime as rt
from onnx import helper as h, TensorProto as T
from iree.compiler.tools.binaries import find_tool

def iree_run(model, x):
    d = tempfile.mkdtemp(); onnx.save(model, f"{d}/m.onnx")
    subprocess.run([sys.executable, "-m", "iree.compiler.tools.import_onnx", f"{d}/m.onnx", "-o", f"{d}/m.mlir"], check=True)
    r = subprocess.run([find_tool("iree-compile"), f"{d}/m.mlir", "--iree-hal-target-backends=llvm-cpu",
                        "--iree-llvmcpu-target-cpu=host", "-o", f"{d}/m.vmfb"],
                       capture_output=True, text=True)
    if r.returncode:
        return next(l.split("error: ", 1)[1] for l in r.stderr.splitlines() if "error: " in l)
    config = rt.Config("local-sync"); context = rt.SystemContext(config=config)
    context.add_vm_module(rt.VmModule.copy_buffer(config.vm_instance, open(f"{d}/m.vmfb", "rb").read()))
    y = np.asarray(context.modules.module["g"](x).to_host())
    return f"Y {y.shape}, max abs vs numpy {np.abs(y - x.transpose(1, 0, 2)).max()}"

x = np.random.default_rng(0).standard_normal((5, 3, 8)).astype(np.float32)
for declared in (["batch", "seq", 8], ["batch", 5, 8]):
    graph = h.make_graph([h.make_node("Transpose", ["X"], ["Y"], perm=[1, 0, 2])], "g",
                         [h.make_tensor_value_info("X", T.FLOAT, ["seq", "batch", 8])], [h.make_tensor_value_info("Y", T.FLOAT, declared)])
    model = h.make_model(graph, opset_imports=[h.make_opsetid("", 18)])
    onnx.checker.check_model(model, full_check=True)
    print(f"X [seq, batch, 8] -> Y declared {declared}, run at X (5, 3, 8): {iree_run(model, x)}")
