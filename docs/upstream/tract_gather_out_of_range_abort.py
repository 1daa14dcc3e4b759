"""tract: a Gather whose constant indices fall outside the data at run time panics inside the library;
through the C API (Python bindings) the panic cannot unwind and the whole process aborts (SIGABRT).
ONNX makes an out-of-range index an error, which onnxruntime reports as one.

    python tract_gather_out_of_range_abort.py      # needs onnx, numpy, tract; exits with 134 (SIGABRT)
"""
import numpy as np, onnx, tract
from onnx import helper as h, TensorProto as T, numpy_helper as nh

indices = nh.from_array(np.array([0, 2], np.int64), "indices")     # valid while the data has 3 rows or more
graph = h.make_graph([h.make_node("Gather", ["X", "indices"], ["Y"], axis=0)], "g",
                     [h.make_tensor_value_info("X", T.FLOAT, ["n", 16])],
                     [h.make_tensor_value_info("Y", T.FLOAT, [2, 16])], [indices])
onnx.save(h.make_model(graph, opset_imports=[h.make_opsetid("", 18)]), "gather.onnx")

model = tract.onnx().load("gather.onnx").into_model().into_runnable()
print("n=4:", model.run([np.ones((4, 16), np.float32)])[0].to_numpy().shape, flush=True)
try:
    print("n=2:", model.run([np.ones((2, 16), np.float32)])[0].to_numpy().shape)
except tract.bindings.TractError as exc:   # what it should do
    print("n=2: error:", str(exc).splitlines()[0])
