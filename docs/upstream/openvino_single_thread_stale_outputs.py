"""OpenVINO CPU: with INFERENCE_NUM_THREADS=1, InferRequest.infer() on an input its model cannot take does not
raise; it returns the previous call's outputs (empty-batch tensors on a first call). With more threads it raises.

    python openvino_single_thread_stale_outputs.py      # needs onnx, numpy, openvino
"""
import numpy as np, onnx, openvino as ov
from onnx import helper as h, TensorProto as T, numpy_helper as nh

# Y = concat of X's five time steps, each through a MatMul: a model that only fits sequences of length 5,
# whose input still declares the length dynamic (as a traced Python loop over time steps exports).
steps = [f"x{i}" for i in range(5)]
nodes = [h.make_node("Split", ["X", "five_ones"], steps, axis=0)]
nodes += [h.make_node("MatMul", [s, "W"], [f"y{i}"]) for i, s in enumerate(steps)]
nodes += [h.make_node("Concat", [f"y{i}" for i in range(5)], ["Y"], axis=0)]
graph = h.make_graph(nodes, "g", [h.make_tensor_value_info("X", T.FLOAT, ["seq", "batch", 4])],
                     [h.make_tensor_value_info("Y", T.FLOAT, ["seq", "batch", 8])],
                     [nh.from_array(np.ones(5, np.int64), "five_ones"), nh.from_array(np.ones((4, 8), np.float32), "W")])
onnx.save(h.make_model(graph, opset_imports=[h.make_opsetid("", 18)]), "five_steps.onnx")

for threads in ("1", "2"):
    request = ov.Core().compile_model("five_steps.onnx", "CPU", {"INFERENCE_NUM_THREADS": threads}).create_infer_request()
    for shape in [(5, 3, 4), (1, 1, 4), (11, 5, 4)]:
        try:
            y = request.infer({"X": np.full(shape, shape[0], np.float32)})[0]
            print(f"threads={threads} X{shape}: Y{y.shape}, Y[0,0,0]={y[0, 0, 0]}")
        except RuntimeError as exc:
            print(f"threads={threads} X{shape}: RuntimeError: {str(exc).strip().splitlines()[-1]}")
