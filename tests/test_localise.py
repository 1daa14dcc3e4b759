"""conformance.localise: the first node where a failing runtime diverges from a reference runtime, and `repro --localize`."""
import json

import msgspec
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from conftest import read_results, run_cli
from conformance.localise import difference, localise, module_of, reference_for, topological_order
from conformance.runtimes import RuntimeHandle, get_runtime
from conformance.runtimes.ort import OrtRuntime
from fault_runtimes import PerturbedLstmRuntime, PerturbingOrtRuntime
from verdict.records import Localisation
from verdict.tolerances import TOLERANCES, Tolerance

FP32 = TOLERANCES["float32"]


def fp32(name):
    return FP32


def chain_model(path, *, shuffled=False):
    """x -> MatMul -> Add -> Tanh -> MatMul -> Add -> Sigmoid -> y, and the shape of x as a second (integer) output."""
    rng = np.random.default_rng(0)
    weights = [numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32), name)
               for name, shape in (("w1", (4, 6)), ("b1", (6,)), ("w2", (6, 3)), ("b2", (3,)))]
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["mm1"], name="matmul1"),
        helper.make_node("Add", ["mm1", "b1"], ["add1"], name="add1"),
        helper.make_node("Tanh", ["add1"], ["tanh"], name="tanh"),
        helper.make_node("MatMul", ["tanh", "w2"], ["mm2"], name="matmul2"),
        helper.make_node("Add", ["mm2", "b2"], ["add2"], name="add2"),
        helper.make_node("Sigmoid", ["add2"], ["y"], name="sigmoid"),
        helper.make_node("Shape", ["x"], ["shape"], name="shape"),
    ]
    if shuffled:  # a graph stored out of order must still be walked in topological order
        nodes = nodes[::-1]
    graph = helper.make_graph(nodes, "chain", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3]),
                               helper.make_tensor_value_info("shape", TensorProto.INT64, [2])], weights)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=9), str(path))
    return str(path)


def feeds():
    return {"x": np.random.default_rng(1).standard_normal((2, 4)).astype(np.float32)}


def perturbing(op_type="Tanh", occurrence=0, node_name=None):
    runtime = PerturbingOrtRuntime()
    runtime.op_type, runtime.occurrence, runtime.node_name = op_type, occurrence, node_name
    return RuntimeHandle(runtime, "perturbing")


@pytest.mark.parametrize("op_type, occurrence, node, output", [
    ("Tanh", 0, "tanh", "tanh"),  # an intermediate, exposed as an extra output
    ("Add", 1, "add2", "add2"),  # the second Add
    ("Sigmoid", 0, "sigmoid", "y"),  # a node whose output already is a graph output
])
def test_a_planted_defect_is_localised_to_its_node(tmp_path, op_type, occurrence, node, output):
    model = chain_model(tmp_path / "chain.onnx")
    found = localise(model, feeds(), perturbing(op_type, occurrence), get_runtime("ort-cpu"), fp32)
    assert found.status == "found", found.reason
    assert (found.node, found.op_type, found.reference) == (node, op_type, "ort-cpu")
    assert found.inputs and all(d.max_abs is not None and d.max_abs < 1e-6 for d in found.inputs), found.inputs
    (out,) = found.outputs
    assert out.name == output and out.max_abs == pytest.approx(1e-2, rel=1e-3) and out.nonfinite_mismatches == 0
    assert f"first diverging node: {node} ({op_type})" in found.describe()
    assert msgspec.json.decode(msgspec.json.encode(found), type=Localisation) == found


def test_the_walk_follows_the_data_not_the_file_order(tmp_path):
    model = chain_model(tmp_path / "shuffled.onnx", shuffled=True)
    order = [n.name for n in topological_order(onnx.load(model).graph)]
    chain = ["matmul1", "add1", "tanh", "matmul2", "add2", "sigmoid"]
    assert [name for name in order if name in chain] == chain
    found = localise(model, feeds(), perturbing("Add", node_name="add2"), get_runtime("ort-cpu"), fp32)
    assert (found.status, found.node) == ("found", "add2"), found.reason


def test_nothing_differs_is_not_found(tmp_path):
    model = chain_model(tmp_path / "chain.onnx")
    found = localise(model, feeds(), get_runtime("ort-cpu"), get_runtime("reference"), fp32)
    assert found.status == "not found" and found.node is None and found.reference == "reference"
    assert "every intermediate agrees" in found.reason and "first diverging node: none" in found.describe()


def test_a_node_inside_a_loop_body_is_localised_to_the_loop(tmp_path):
    body = helper.make_graph(
        [helper.make_node("Tanh", ["state_in"], ["state_out"], name="body_tanh"),
         helper.make_node("Identity", ["cond_in"], ["cond_out"], name="body_cond")],
        "body",
        [helper.make_tensor_value_info("i", TensorProto.INT64, []), helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
         helper.make_tensor_value_info("state_in", TensorProto.FLOAT, [2, 4])],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
         helper.make_tensor_value_info("state_out", TensorProto.FLOAT, [2, 4])])
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["relu"], name="relu"),
         helper.make_node("Loop", ["trips", "", "relu"], ["looped"], name="loop", body=body),
         helper.make_node("Neg", ["looped"], ["y"], name="neg")],
        "looping", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 4])],
        [numpy_helper.from_array(np.array(3, dtype=np.int64), "trips")])
    path = tmp_path / "loop.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=9), str(path))
    found = localise(str(path), feeds(), perturbing("Tanh"), get_runtime("ort-cpu"), fp32)
    assert (found.status, found.node, found.op_type) == ("found", "loop", "Loop")
    assert "inside a Loop/Scan body: localised to the node" in found.reason
    assert [d.name for d in found.inputs] == ["trips", "relu"] and all(d.max_abs == 0 for d in found.inputs)


class OnlyDeclaredOutputs(OrtRuntime):
    """Returns the outputs the original model declares, whatever the model asks: it cannot expose intermediates."""

    def __init__(self, declared):
        super().__init__("CPUExecutionProvider", name="only-declared")
        self.declared = declared

    def run_session(self, state, feeds):
        result = super().run_session(state, feeds)
        result.outputs = {k: v for k, v in result.outputs.items() if k in self.declared}
        return result


class RefusesExtraOutputs(OrtRuntime):
    def __init__(self, count):
        super().__init__("CPUExecutionProvider", name="refuses")
        self.count = count

    def load(self, model_path):
        if len(onnx.load(model_path).graph.output) > self.count:
            raise RuntimeError("this runtime returns the outputs its model was compiled with, no more")
        return super().load(model_path)


class FailsOnSigmoid(OrtRuntime):
    """Raises when it runs a model holding a Sigmoid node: a RUN_ERROR at one node (`message` says so)."""

    message = "Sigmoid: kernel not implemented"

    def __init__(self):
        super().__init__("CPUExecutionProvider", name="no-sigmoid")

    def load(self, model_path):
        return {**super().load(model_path), "sigmoid": any(n.op_type == "Sigmoid" for n in onnx.load(model_path).graph.node)}

    def run_session(self, state, feeds):
        if state["sigmoid"]:
            raise RuntimeError(self.message)
        return super().run_session(state, feeds)


class NamesTheNode(FailsOnSigmoid):
    message = "Non-zero status code returned while running Sigmoid node. Name:'sigmoid'"


class RefusesTheFeeds(OrtRuntime):
    def run_session(self, state, feeds):
        raise RuntimeError("Unexpected input data type")


class FusesWhenUnobserved(PerturbingOrtRuntime):
    """Off only when nothing but the graph's own outputs is asked for: a defect in a fused kernel, which a runtime
    does not use once the values inside the fusion are outputs."""

    def load(self, model_path):
        if len(onnx.load(model_path).graph.output) > 2:
            return OrtRuntime.load(self, model_path)
        return super().load(model_path)


def test_a_difference_that_exposing_intermediates_hides_is_said_so(tmp_path):
    model = chain_model(tmp_path / "chain.onnx")
    found = localise(model, feeds(), RuntimeHandle(FusesWhenUnobserved(), "fusing"), get_runtime("ort-cpu"), fp32)
    assert found.status == "unavailable" and "differs from ort-cpu in y only when the intermediates are not outputs" in found.reason


def test_a_runtime_that_cannot_expose_intermediates_is_unavailable(tmp_path):
    model = chain_model(tmp_path / "chain.onnx")
    fewer = localise(model, feeds(), RuntimeHandle(OnlyDeclaredOutputs({"y", "shape"}), "only-declared"), get_runtime("ort-cpu"), fp32)
    assert fewer.status == "unavailable" and "returned 2 outputs of the" in fewer.reason, fewer.reason
    refused = localise(model, feeds(), RuntimeHandle(RefusesExtraOutputs(2), "refuses"), get_runtime("ort-cpu"), fp32)
    assert refused.status == "unavailable" and "refused the model with its intermediates exposed" in refused.reason
    assert "returns the outputs its model was compiled with" in refused.reason  # the runtime's own message
    assert refused.describe().startswith("first diverging node: cannot localise against ort-cpu: ")


class RequiresOutputShapes(PerturbingOrtRuntime):
    """Refuses a graph output without a shape, as IREE's importer does (onnx's checker: "Field 'shape' of 'type' is
    required but missing"), and is off at its Tanh."""

    def load(self, model_path):
        missing = [v.name for v in onnx.load(model_path).graph.output if not v.type.tensor_type.HasField("shape")]
        if missing:
            raise RuntimeError(f"Field 'shape' of 'type' is required but missing: {missing[0]}")
        return super().load(model_path)


def test_a_runtime_that_requires_output_shapes_gets_the_ranks(tmp_path):
    model = chain_model(tmp_path / "chain.onnx")
    runtime = RequiresOutputShapes()
    runtime.op_type, runtime.occurrence, runtime.node_name = "Tanh", 0, None
    found = localise(model, feeds(), RuntimeHandle(runtime, "shapes"), get_runtime("ort-cpu"), fp32)
    assert (found.status, found.node) == ("found", "tanh"), found.reason


@pytest.mark.parametrize("failing", [FailsOnSigmoid, NamesTheNode])  # found by running prefixes; named in the error
def test_a_run_error_is_localised_to_the_node_the_runtime_raises_at(tmp_path, failing):
    model = chain_model(tmp_path / "chain.onnx")
    found = localise(model, feeds(), RuntimeHandle(failing(), "no-sigmoid"), get_runtime("ort-cpu"), fp32)
    assert (found.status, found.node, found.op_type) == ("found", "sigmoid", "Sigmoid"), found.reason
    assert f"no-sigmoid raises at this node: {failing.message}" in found.reason
    assert [d.name for d in found.inputs] == ["add2"] and found.inputs[0].max_abs == 0
    assert [d.name for d in found.outputs] == ["y"] and found.outputs[0].max_abs is None


def test_a_failure_before_any_node_is_not_blamed_on_the_first(tmp_path):
    model = chain_model(tmp_path / "chain.onnx")
    found = localise(model, feeds(), RuntimeHandle(RefusesTheFeeds(), "refuses-feeds"), get_runtime("ort-cpu"), fp32)
    assert found.status == "unavailable" and found.node is None
    assert "refuses-feeds fails before it runs any node" in found.reason and "Unexpected input data type" in found.reason


def test_values_are_compared_as_the_verdict_compares_them():
    tol = Tolerance(rtol=1e-4, atol=1e-5)
    both_nan = difference("t", np.array([np.nan, np.inf, 1.0]), np.array([np.nan, np.inf, 1.0 + 1e-7]), tol)
    assert both_nan[1] is False and both_nan[0].nonfinite_mismatches == 0
    signs = difference("t", np.array([np.inf, 2.0]), np.array([-np.inf, 2.5]), tol)
    assert signs[1] is True and signs[0].nonfinite_mismatches == 1 and signs[0].max_abs == pytest.approx(0.5)
    ints = difference("t", np.array([3, 4], dtype=np.int64), np.array([3, 5], dtype=np.int64), Tolerance(rtol=1.0, atol=10.0))
    assert ints[1] is True and ints[0].max_abs == 1.0  # integers are exact, whatever the tolerance
    assert difference("t", np.array([True]), np.array([True]), tol)[1] is False
    shapes = difference("t", np.zeros((2, 3)), np.zeros((3, 2)), tol)
    assert shapes[1] is True and shapes[0].max_abs is None
    assert difference("t", np.zeros(2), None, tol)[1] is None  # one side did not return it: not comparable


def test_the_reference_runtime():
    assert reference_for("ort-cpu") == "reference" and reference_for("ort-cuda") == "reference"
    assert reference_for("ort:OpenVINOExecutionProvider") == "reference"
    assert [reference_for(n) for n in ("openvino", "tract", "reference", "tests.fault_runtimes:PerturbedLstmRuntime")] == ["ort-cpu"] * 4


def node(name, **props):
    made = helper.make_node("Relu", ["a"], ["b"], name=name)
    for key, value in props.items():
        entry = made.metadata_props.add()
        entry.key, entry.value = key, value
    return made


def test_the_torch_module_from_node_names_and_metadata():
    assert module_of(node("/layer/LSTM")) == "layer"
    assert module_of(node("/encoder/layers.0/LSTM")) == "encoder.layers.0"
    assert module_of(node("/layer1/layer1.0/conv1/Conv")) == "layer1.0.conv1"  # scopes already qualified
    assert module_of(node("/Add")) is None and module_of(node("Constant_10")) is None
    scopes = {"pkg.torch.onnx.name_scopes": "['', 'encoder', 'encoder.rnn', 'lstm']",
              "pkg.torch.onnx.class_hierarchy": "['M', 'E', 'torch.nn.modules.rnn.LSTM', 'aten.lstm.input']"}
    assert module_of(node("node_lstm__2", **scopes)) == "encoder.rnn"
    assert module_of(node("node_LSTM_1", **{"pkg.torch.onnx.class_hierarchy": scopes["pkg.torch.onnx.class_hierarchy"]})) \
        == "torch.nn.modules.rnn.LSTM"


@pytest.fixture(scope="module")
def lstm_model(tmp_path_factory):
    from cases.case import Case
    from exporters import get_exporter

    path = tmp_path_factory.mktemp("lstm") / "lstm.onnx"
    result = get_exporter("torchscript").export(Case(), str(path), dynamic=False, opset=18)
    assert result.status == "PASS", result
    return str(path)


def lstm_feeds():
    from cases.case import Case
    from cases.inputs import make_feeds

    case = Case()
    return make_feeds(case, case.seq_len, case.batch)


def test_a_real_exported_lstm_in_onnxruntime_against_onnx_reference(lstm_model):
    found = localise(lstm_model, lstm_feeds(), get_runtime("ort-cpu"), get_runtime("reference"), fp32)
    assert found.status in ("found", "not found"), found.reason
    if found.status == "found":
        assert found.module == "layer"
    lstm = next(n for n in onnx.load(lstm_model).graph.node if n.op_type == "LSTM")
    assert lstm.name == "/layer/LSTM" and module_of(lstm) == "layer"


def test_a_planted_defect_in_a_real_exported_lstm(lstm_model):
    found = localise(lstm_model, lstm_feeds(), RuntimeHandle(PerturbedLstmRuntime(), "perturbed"), get_runtime("ort-cpu"), fp32)
    assert (found.status, found.node, found.op_type, found.module) == ("found", "/layer/LSTM", "LSTM", "layer"), found.reason
    assert {d.name for d in found.inputs} >= {"input", "h0", "c0"} and all(d.max_abs == 0 for d in found.inputs)
    differing = {d.name: d.max_abs for d in found.outputs}
    assert differing["/layer/LSTM_output_0"] == pytest.approx(1e-2, rel=1e-3) and differing["h_n"] == differing["c_n"] == 0


def test_the_dynamo_exporter_records_the_module_in_metadata(tmp_path):
    from cases.case import Case
    from exporters import get_exporter

    path = tmp_path / "dynamo.onnx"
    assert get_exporter("dynamo").export(Case(), str(path), dynamic=False, opset=18).status == "PASS"
    lstm = next(n for n in onnx.load(str(path)).graph.node if n.op_type == "LSTM")
    assert not lstm.name.startswith("/") and module_of(lstm) == "layer"


def test_repro_localize_names_the_perturbed_node(tmp_path, cache_dir):
    out = tmp_path / "run"
    proc = run_cli("run", "--case", "num_layers=1", "--exporters", "torchscript", "--modes", "static",
                   "--runtimes", "tests.fault_runtimes:PerturbedLstmRuntime", "--out", out, "--cache-dir", cache_dir, "--no-progress")
    (record,) = read_results(out).results
    assert record.raw_status == "NUMERIC_MISMATCH", proc.stdout + proc.stderr
    proc = run_cli("repro", out, record.key, "--localize")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "first diverging node: /layer/LSTM (LSTM) from torch module layer" in proc.stdout, proc.stdout
    assert "compared with ort-cpu" in proc.stdout and proc.stdout.strip().endswith("reproduced")
    proc = run_cli("repro", out, record.key, "--localize", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (line,) = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    found = msgspec.json.decode(line, type=Localisation)
    assert (found.status, found.node, found.op_type, found.module, found.reference) == ("found", "/layer/LSTM", "LSTM", "layer", "ort-cpu")
    assert json.loads(line)["outputs"][0]["max_abs"] == pytest.approx(1e-2, rel=1e-3)


def test_repro_localize_of_a_pass_says_there_is_nothing_to_localise(tmp_path, cache_dir):
    out = tmp_path / "run"
    run_cli("run", "--case", "num_layers=1", "--exporters", "torchscript", "--modes", "static", "--runtimes", "ort-cpu",
            "--out", out, "--cache-dir", cache_dir, "--no-progress")
    (record,) = read_results(out).results
    proc = run_cli("repro", out, record.key, "--localize")
    assert proc.returncode == 0 and "first diverging node: cannot localise against onnx.reference: the result is PASS:" in proc.stdout, \
        proc.stdout + proc.stderr
