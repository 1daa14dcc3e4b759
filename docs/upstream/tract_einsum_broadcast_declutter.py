"""tract: MatMul of a zero state broadcast to a shape with a symbolic dim (what torch.onnx's dynamo exporter writes
for an RNN called without h0) fails to load, or silently loses the broadcast dim.

    python tract_einsum_broadcast_declutter.py      # needs onnx, numpy, tract
"""
import numpy as np, onnx, tract
from onnx import helper as h, TensorProto as T, numpy_helper as nh

def run(fill_shape):
    init = [nh.from_array(np.zeros(fill_shape, np.float32), "zero"), nh.from_array(np.array([1], np.int64), "one"),
            nh.from_array(np.array([8], np.int64), "eight"), nh.from_array(np.eye(8, dtype=np.float32), "R")]
    nodes = [h.make_node("Shape", ["X"], ["batch"], start=1, end=2),
             h.make_node("Concat", ["one", "batch", "eight"], ["state_shape"], axis=0),
             h.make_node("Expand", ["zero", "state_shape"], ["h0"]),          # zeros(1, batch, 8)
             h.make_node("MatMul", ["h0", "R"], ["Y"])]                       # h0 @ R: (1, batch, 8)
    graph = h.make_graph(nodes, "g", [h.make_tensor_value_info("X", T.FLOAT, [5, "batch", 4])],
                         [h.make_tensor_value_info("Y", T.FLOAT, [1, "batch", 8])], init)
    onnx.save(h.make_model(graph, opset_imports=[h.make_opsetid("", 18)]), "expand_matmul.onnx")
    try:
        model = tract.onnx().load("expand_matmul.onnx").into_model().into_runnable()
        return f"Y shape {model.run([np.ones((5, 3, 4), np.float32)])[0].to_numpy().shape}, expected (1, 3, 8)"
    except tract.bindings.TractError as exc:
        return " / ".join(l.strip() for l in str(exc).split("Stack backtrace")[0].splitlines() if l.strip())

for fill_shape in [(), (1, 1, 1)]:
    print(f"Expand(zeros{fill_shape}, [1, batch, 8]) -> MatMul, batch 3: {run(fill_shape)}")
