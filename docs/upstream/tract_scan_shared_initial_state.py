"""tract: a bidirectional ONNX LSTM whose initial_h and initial_c are one zero tensor built from the input's shape
(what torch.onnx.export writes for nn.LSTM called without a state) runs at batch 1 and fails at any other batch.

    python tract_scan_shared_initial_state.py      # needs onnx, numpy, tract
"""
import numpy as np, onnx, tract
from onnx import helper as h, TensorProto as T, numpy_helper as nh

rng, H = np.random.default_rng(0), 8
init = [nh.from_array(rng.standard_normal((2, 4 * H, 4)).astype(np.float32), "W"),
        nh.from_array(rng.standard_normal((2, 4 * H, H)).astype(np.float32), "R"),
        nh.from_array(np.array([2], np.int64), "dirs"), nh.from_array(np.array([H], np.int64), "hidden"),
        nh.from_array(np.array([1], np.int64), "one")]
nodes = [h.make_node("Shape", ["X"], ["shape"]), h.make_node("Gather", ["shape", "one"], ["batch"], axis=0),
         h.make_node("Concat", ["dirs", "batch", "hidden"], ["state_shape"], axis=0),
         h.make_node("ConstantOfShape", ["state_shape"], ["zeros"], value=nh.from_array(np.zeros(1, np.float32))),
         h.make_node("LSTM", ["X", "W", "R", "", "", "zeros", "zeros"], ["Y"], hidden_size=H, direction="bidirectional")]
graph = h.make_graph(nodes, "g", [h.make_tensor_value_info("X", T.FLOAT, ["seq", "batch", 4])],
                     [h.make_tensor_value_info("Y", T.FLOAT, ["seq", 2, "batch", H])], init)
onnx.save(h.make_model(graph, opset_imports=[h.make_opsetid("", 18)]), "lstm_shared_state.onnx")

model = tract.onnx().load("lstm_shared_state.onnx").into_model().into_runnable()
for batch in (1, 3):
    try:
        print(f"batch {batch}: Y {model.run([rng.standard_normal((5, batch, 4)).astype(np.float32)])[0].to_numpy().shape}")
    except tract.bindings.TractError as exc:
        print(f"batch {batch}: " + " / ".join(l.strip() for l in str(exc).split("Stack backtrace")[0].splitlines() if l.strip()))
