"""tract: a MatMul on a [time, batch, features] input with a symbolic batch, followed by a Slice that reverses the
time axis (torch.flip, as torch.onnx's dynamo exporter writes the backward direction of an unrolled nn.RNN), fails to
load: the declutter pass errors out instead of skipping a rewrite it cannot do.

    python tract_downsample_over_reshape.py      # needs onnx, numpy, tract
"""
import numpy as np, onnx, tract
from onnx import helper as h, TensorProto as T, numpy_helper as nh

W = np.arange(32, dtype=np.float32).reshape(4, 8)
init = [nh.from_array(W, "W"), nh.from_array(np.array([-1], np.int64), "start"), nh.from_array(np.array([0], np.int64), "axis"),
        nh.from_array(np.array([np.iinfo(np.int64).min], np.int64), "end"), nh.from_array(np.array([-1], np.int64), "step")]
nodes = [h.make_node("MatMul", ["X", "W"], ["m"]), h.make_node("Slice", ["m", "start", "end", "axis", "step"], ["Y"])]
x = np.random.default_rng(0).standard_normal((5, 3, 4)).astype(np.float32)
for batch in (3, "batch"):
    graph = h.make_graph(nodes, "g", [h.make_tensor_value_info("X", T.FLOAT, [5, batch, 4])],
                         [h.make_tensor_value_info("Y", T.FLOAT, [5, batch, 8])], init)
    onnx.save(h.make_model(graph, opset_imports=[h.make_opsetid("", 18)]), "matmul_flip.onnx")
    try:
        y = tract.onnx().load("matmul_flip.onnx").into_model().into_runnable().run([x])[0].to_numpy()
        print(f"X [5, {batch}, 4]: max |Y - (X @ W)[::-1]| = {np.abs(y - (x @ W)[::-1]).max()}")
    except tract.bindings.TractError as exc:
        print(f"X [5, {batch}, 4]: " + " / ".join(l.strip() for l in str(exc).split("Stack backtrace")[0].splitlines() if l.strip()))
