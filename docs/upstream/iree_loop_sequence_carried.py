"""IREE (torch-mlir's ONNX import): an ONNX Loop that carries a Sequence (what torch.onnx's TorchScript exporter writes for
a scripted loop appending to a list) fails to compile; the same Loop carrying only tensors compiles and runs.

    python iree_loop_sequence_carried.py      # needs onnx, numpy, iree-base-compiler, iree-base-runtime
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
        return re.sub(r": %.*name = \"([\w.]+)\".*", r": \1", next(l.split("error: ", 1)[1] for l in r.stderr.splitlines() if "error: " in l))
    config = rt.Config("local-sync"); context = rt.SystemContext(config=config)
    context.add_vm_module(rt.VmModule.copy_buffer(config.vm_instance, open(f"{d}/m.vmfb", "rb").read()))
    out = context.modules.module["g"](x)
    return [np.asarray(o.to_host()).tolist() for o in (out if isinstance(out, (list, tuple)) else [out])]

def model(with_sequence):  # acc = 0; for i in range(len(X)): acc = acc + X[i]; [steps.append(acc)]
    body_in = [h.make_tensor_value_info("i", T.INT64, []), h.make_tensor_value_info("cond", T.BOOL, []), h.make_tensor_value_info("acc", T.FLOAT, [2])]
    body_out = [h.make_tensor_value_info("cond_out", T.BOOL, []), h.make_tensor_value_info("acc_out", T.FLOAT, [2])]
    body = [h.make_node("Identity", ["cond"], ["cond_out"]), h.make_node("Gather", ["X", "i"], ["x_i"], axis=0), h.make_node("Add", ["acc", "x_i"], ["acc_out"])]
    nodes, loop_in, loop_out = [h.make_node("Shape", ["X"], ["n1"], end=1), h.make_node("Squeeze", ["n1"], ["n"])], ["n", "true", "zeros"], ["acc_final"]
    outputs = [h.make_tensor_value_info("acc_final", T.FLOAT, [2])]
    if with_sequence:
        body_in.append(h.make_tensor_sequence_value_info("steps", T.FLOAT, [2])); body_out.append(h.make_tensor_sequence_value_info("steps_out", T.FLOAT, [2]))
        body.append(h.make_node("SequenceInsert", ["steps", "acc_out"], ["steps_out"]))
        nodes.append(h.make_node("SequenceEmpty", [], ["steps0"], dtype=T.FLOAT)); loop_in.append("steps0"); loop_out.append("steps_final")
    nodes.append(h.make_node("Loop", loop_in, loop_out, body=h.make_graph(body, "body", body_in, body_out)))
    if with_sequence:
        nodes.append(h.make_node("ConcatFromSequence", ["steps_final"], ["Y"], axis=0, new_axis=1)); outputs.append(h.make_tensor_value_info("Y", T.FLOAT, ["seq", 2]))
    init = [nh.from_array(np.array(True), "true"), nh.from_array(np.zeros(2, np.float32), "zeros")]
    return h.make_model(h.make_graph(nodes, "g", [h.make_tensor_value_info("X", T.FLOAT, ["seq", 2])], outputs, init), opset_imports=[h.make_opsetid("", 18)])

x = np.arange(6, dtype=np.float32).reshape(3, 2)
print("Loop carrying a tensor:           ", iree_run(model(False), x))
print("Loop carrying a tensor, a sequence:", iree_run(model(True), x))
print("expected (numpy):                  ", [x.sum(0).tolist(), np.cumsum(x, 0).tolist()])
