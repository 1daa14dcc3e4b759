"""tract: an ONNX LSTM (or GRU, RNN) whose sequence_lens is a graph input, as torch.onnx.export writes a
pack_padded_sequence -> LSTM -> pad_packed_sequence model, is refused when the model is loaded.

    python tract_sequence_lens_input.py      # needs onnx, numpy, tract
"""
import numpy as np, onnx, tract
from onnx import helper as h, TensorProto as T, numpy_helper as nh

rng = np.random.default_rng(0)
W, R = (nh.from_array(rng.standard_normal((1, 32, n)).astype(np.float32), name) for n, name in ((4, "W"), (8, "R")))
graph = h.make_graph([h.make_node("LSTM", ["X", "W", "R", "", "lengths"], ["Y", "Y_h"], hidden_size=8)], "g",
                     [h.make_tensor_value_info("X", T.FLOAT, [5, 3, 4]), h.make_tensor_value_info("lengths", T.INT32, [3])],
                     [h.make_tensor_value_info("Y", T.FLOAT, [5, 1, 3, 8]), h.make_tensor_value_info("Y_h", T.FLOAT, [1, 3, 8])],
                     [W, R])
onnx.save(h.make_model(graph, opset_imports=[h.make_opsetid("", 14)]), "lstm_sequence_lens.onnx")
try:
    model = tract.onnx().load("lstm_sequence_lens.onnx").into_model().into_runnable()
    x, lengths = rng.standard_normal((5, 3, 4)).astype(np.float32), np.array([5, 3, 1], np.int32)
    print("Y_h", model.run([x, lengths])[1].to_numpy().shape)
except tract.bindings.TractError as exc:
    print(" / ".join(l.strip() for l in str(exc).split("Stack backtrace")[0].splitlines() if l.strip()))
