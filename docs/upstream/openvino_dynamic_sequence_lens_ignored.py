"""OpenVINO CPU: an ONNX LSTM/GRU/RNN with sequence_lens ignores it when the model's input shapes are dynamic
(a silent wrong answer); with static shapes it is honoured.

    python openvino_dynamic_sequence_lens_ignored.py [LSTM|GRU|RNN]      # needs onnx, numpy, openvino
"""
import sys, numpy as np, onnx, openvino as ov
from onnx import helper as h, TensorProto as T, numpy_helper as nh

op = sys.argv[1] if len(sys.argv) > 1 else "LSTM"
gates, rng = {"LSTM": 4, "GRU": 3, "RNN": 1}[op], np.random.default_rng(0)
W, R = (rng.standard_normal((1, gates * 8, n)).astype(np.float32) * 0.5 for n in (4, 8))
x = rng.standard_normal((5, 3, 4)).astype(np.float32)

def run(dims, lens):
    graph = h.make_graph([h.make_node(op, ["X", "W", "R", "", "lens"], ["Y", "Y_h"], hidden_size=8)], "g",
                         [h.make_tensor_value_info("X", T.FLOAT, [*dims, 4]), h.make_tensor_value_info("lens", T.INT32, [dims[1]])],
                         [h.make_tensor_value_info("Y", T.FLOAT, None), h.make_tensor_value_info("Y_h", T.FLOAT, None)],
                         [nh.from_array(W, "W"), nh.from_array(R, "R")])
    onnx.save(h.make_model(graph, opset_imports=[h.make_opsetid("", 14)]), "seq_lens.onnx")
    compiled = ov.Core().compile_model("seq_lens.onnx", "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    return compiled({"X": x, "lens": np.array(lens, np.int32)})[1]          # Y_h: [1, batch, hidden]

for dims in ([5, 3], ["seq", "batch"]):
    y_h, full = run(dims, [5, 3, 1]), run(dims, [5, 5, 5])
    print(f"{op} X {dims}: Y_h of the length-3 and length-1 sequences differs from a full-length run by "
          f"{np.abs(y_h - full)[0, 1:].max():.3f} (0 means sequence_lens was ignored)")
