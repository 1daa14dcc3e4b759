"""Runtimes with real faults, loaded by the CLI as `tests.fault_runtimes:<Class>`."""
import os
import sys
import time

from conformance.runtimes.ort import OrtRuntime


class AbortingRuntime:
    name = "aborting"

    def available(self):
        return True, ""

    def run(self, model_path, feeds):
        print("aborting runtime: about to abort", file=sys.stderr, flush=True)
        os.abort()


class HangingRuntime:
    name = "hanging"

    def available(self):
        return True, ""

    def run(self, model_path, feeds):
        time.sleep(3600)


class SlowOrtRuntime(OrtRuntime):
    """onnxruntime CPU, a little slow per run, so a run can be killed part-way."""

    def __init__(self):
        super().__init__("CPUExecutionProvider", name="slow-ort")

    def run_session(self, state, feeds):
        time.sleep(0.3)
        return super().run_session(state, feeds)


def _nodes_depth_first(graph):
    """(graph, index, node) of every node, a body's nodes right after the node that owns it."""
    from onnx import AttributeProto

    for index, node in enumerate(graph.node):
        yield graph, index, node
        for attribute in node.attribute:
            bodies = [attribute.g] if attribute.type == AttributeProto.GRAPH else list(attribute.graphs)
            for body in bodies:
                yield from _nodes_depth_first(body)


def perturbed(model, op_type, occurrence=0, output_index=0, delta=1e-2, node_name=None):
    """`model` (an onnx ModelProto, changed in place) with `delta` added to one output of the `occurrence`-th node of
    `op_type` (of that name, if `node_name`), searched depth first (a Loop body's nodes too). The tensor keeps its name,
    so whatever reads it, a graph output included, gets the perturbed value. Returns the perturbed tensor's name."""
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper

    found = [(graph, index, node) for graph, index, node in _nodes_depth_first(model.graph)
             if node.op_type == op_type and node_name in (None, node.name)]
    if len(found) <= occurrence:
        raise RuntimeError(f"planted defect: the model has {len(found)} {op_type} node(s), not {occurrence + 1}")
    graph, index, node = found[occurrence]
    target = node.output[output_index]
    try:
        inferred = onnx.shape_inference.infer_shapes(model)
        types = {v.name: v.type.tensor_type.elem_type for v in (*inferred.graph.value_info, *inferred.graph.output)}
    except Exception:
        types = {}
    dtype = helper.tensor_dtype_to_np_dtype(types.get(target) or onnx.TensorProto.FLOAT)
    unperturbed, amount = f"{target}__unperturbed", f"{target}__delta"
    node.output[output_index] = unperturbed
    graph.node.insert(index + 1, helper.make_node("Constant", [], [amount], name=f"{target}__delta",
                                                  value=numpy_helper.from_array(np.array(delta, dtype=dtype))))
    graph.node.insert(index + 2, helper.make_node("Add", [unperturbed, amount], [target], name=f"{target}__perturb"))
    return target


class PerturbingOrtRuntime(OrtRuntime):
    """onnxruntime CPU with a planted numeric defect: one output of one node is off by `delta` (by default the first
    Tanh's). Whatever the model returns, that node is where it starts to differ."""

    op_type = "Tanh"
    node_name = None  # None: any node of op_type
    occurrence = 0
    output_index = 0
    delta = 1e-2

    def __init__(self):
        super().__init__("CPUExecutionProvider", name="perturbing-ort")

    def load(self, model_path):
        import onnx

        model = onnx.load(model_path)
        perturbed(model, self.op_type, self.occurrence, self.output_index, self.delta, self.node_name)
        return super().load(model.SerializeToString())


class PerturbedLstmRuntime(PerturbingOrtRuntime):
    """The defect in a real exported recurrent model: the first LSTM node's Y (its full output sequence) is off."""

    op_type = "LSTM"
