"""tract: ConstantOfShape without a `value` attribute makes f64 zeros; the ONNX spec says float32 zeros
(torch.onnx's dynamo exporter writes it so for torch.zeros / new_zeros).

    python tract_constantofshape_default_dtype.py      # needs onnx, numpy, tract
"""
import numpy as np, onnx, tract
from onnx import helper as h, TensorProto as T, numpy_helper as nh

def run(with_value, op):
    attrs = {"value": nh.from_array(np.zeros(1, np.float32))} if with_value else {}
    nodes = [h.make_node("Shape", ["X"], ["shape"]),
             h.make_node("ConstantOfShape", ["shape"], ["zeros"], **attrs),   # float32 zeros either way, per the spec
             h.make_node(op, ["X", "zeros"], ["Y"])]
    graph = h.make_graph(nodes, "g", [h.make_tensor_value_info("X", T.FLOAT, [8, 8])],
                         [h.make_tensor_value_info("Y", T.FLOAT, [8, 8])])
    model = h.make_model(graph, opset_imports=[h.make_opsetid("", 18)])
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, "constant_of_shape.onnx")
    try:
        y = tract.onnx().load("constant_of_shape.onnx").into_model().into_runnable().run([np.ones((8, 8), np.float32)])
        return f"Y {y[0].to_numpy().dtype} {y[0].to_numpy().shape}"
    except tract.bindings.TractError as exc:
        return " / ".join(l.strip() for l in str(exc).split("Stack backtrace")[0].splitlines() if l.strip())

for op in ("Add", "MatMul"):
    print(f"{op:6} value=float32 0 given: {run(True, op)}")
    print(f"{op:6} value omitted:         {run(False, op)}")
