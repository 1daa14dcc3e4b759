"""The ONNX LSTM, GRU and RNN node cases: valid models, and expected outputs that an independent implementation confirms."""
import numpy as np
import onnx
import pytest
from onnx import helper

from cases.node_cases import NODE_CASES
from recurrent_numpy import gru, lstm, rnn

# Both sides compute in float32 or better on the same float32 inputs: only rounding may differ.
TIGHT = {"rtol": 1e-5, "atol": 1e-6}
IDS = [case.id for case in NODE_CASES]
BY_ID = {case.id: case for case in NODE_CASES}
NUMPY = {"LSTM": lstm, "GRU": gru, "RNN": rnn}


def node_attributes(model: onnx.ModelProto) -> dict:
    """The recurrent node's attributes as Python values, read back from the model itself."""
    (node,) = model.graph.node
    assert node.op_type in NUMPY
    decode = lambda v: v.decode() if isinstance(v, bytes) else v  # noqa: E731
    values = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    return {name: [decode(x) for x in v] if isinstance(v, list) else decode(v) for name, v in values.items()}


def as_stored(value):
    """An attribute value as the model holds it: floats become float32."""
    if isinstance(value, list):
        return [as_stored(v) for v in value]
    return np.float32(value).item() if isinstance(value, float) else value


def numpy_outputs(case, **changes) -> dict:
    """The numpy operator on the case's own model and feeds; `changes` overrides inputs or attributes."""
    model = case.model()
    arrays = {init.name: onnx.numpy_helper.to_array(init) for init in model.graph.initializer}
    arguments = {**arrays, **case.feeds(), **node_attributes(model), **changes}
    return dict(zip(case.outputs, NUMPY[case.op](**arguments)))


def assert_outputs_close(actual: dict, expected: dict) -> None:
    assert list(actual) == list(expected)
    for name in expected:
        np.testing.assert_allclose(actual[name], expected[name], err_msg=name, **TIGHT)


@pytest.mark.parametrize("case", NODE_CASES, ids=IDS)
def test_model_is_one_valid_node_of_the_case_op_with_its_attributes(case):
    model = case.model()
    onnx.checker.check_model(model, full_check=True)
    onnx.checker.check_model(case.unrolled_model(), full_check=True)
    assert model.graph.node[0].op_type == case.op and case.params()["op"] == case.op
    assert [o.name for o in model.graph.output] == list(case.outputs)
    attributes = node_attributes(model)
    for name, value in case.attributes.items():
        assert attributes[name] == as_stored(value)
    assert ("P" in model.graph.node[0].input) == case.peepholes
    assert case.params()["hidden_size"] == attributes["hidden_size"]


@pytest.mark.parametrize("case", NODE_CASES, ids=IDS)
def test_expected_outputs_match_the_independent_numpy_operator(case):
    expected = case.expected_outputs()
    assert_outputs_close(expected, numpy_outputs(case))
    declared = {o.name: [d.dim_value for d in o.type.tensor_type.shape.dim] for o in case.model().graph.output}
    assert {name: list(value.shape) for name, value in expected.items()} == declared


# What undoes each case's feature in the numpy operator (layout only moves axes: its own test below).
WITHOUT_FEATURE = {
    "node-lstm-reverse": {"direction": "forward"},
    "node-lstm-peepholes": {"P": None},
    "node-lstm-input-forget": {"input_forget": 0},
    "node-lstm-clip-gates": {"clip": None},
    "node-lstm-clip": {"clip": None},
    "node-lstm-activations-relu": {"activations": None},
    "node-lstm-activations-hardsigmoid": {"activations": None, "activation_alpha": (), "activation_beta": ()},
    "node-lstm-sequence-lens": {"sequence_lens": None},
    "node-gru-linear-before-reset-0": {"linear_before_reset": 1},
    "node-gru-linear-before-reset-1": {"linear_before_reset": 0},
    "node-gru-reverse": {"direction": "forward"},
    "node-gru-clip": {"clip": None},
    "node-gru-sequence-lens": {"sequence_lens": None},
    "node-rnn-activations-relu": {"activations": None},
    "node-rnn-activations-leakyrelu": {"activation_alpha": ()},  # LeakyRelu's default alpha instead: the parameter is used
    "node-rnn-clip": {"clip": None},
    "node-rnn-reverse": {"direction": "forward"},
    "node-rnn-sequence-lens": {"sequence_lens": None},
}
LAYOUT_CASES = [case for case in NODE_CASES if case.batch_major]
SEQUENCE_LENS_CASES = [case for case in NODE_CASES if case.sequence_lens]


def test_every_case_but_layout_says_what_undoes_it():
    assert set(WITHOUT_FEATURE) == {case.id for case in NODE_CASES} - {case.id for case in LAYOUT_CASES}
    assert {case.op for case in LAYOUT_CASES} == {"LSTM", "GRU", "RNN"}


def max_difference(outputs: dict, others: dict) -> float:
    return max(np.abs(outputs[n] - others[n]).max() for n in outputs)


@pytest.mark.parametrize("case_id", WITHOUT_FEATURE)
def test_each_case_changes_the_outputs(case_id):
    """A case whose attribute changed nothing would test nothing."""
    case = BY_ID[case_id]
    assert max_difference(numpy_outputs(case), numpy_outputs(case, **WITHOUT_FEATURE[case_id])) > 1e-3


def test_clip_cases_tell_the_two_readings_of_clip_apart():
    """clip-gates: |Ct| stays below the bound, so clipping h's input or not agrees; clip: it does not."""
    gates = BY_ID["node-lstm-clip-gates"]
    for name, value in numpy_outputs(gates, clip_cell_into_h=False).items():
        np.testing.assert_allclose(numpy_outputs(gates)[name], value, **TIGHT)
    literal, gates_only = numpy_outputs(BY_ID["node-lstm-clip"]), numpy_outputs(BY_ID["node-lstm-clip"], clip_cell_into_h=False)
    assert max_difference(literal, gates_only) > 1e-2


@pytest.mark.parametrize("case", LAYOUT_CASES, ids=[case.id for case in LAYOUT_CASES])
def test_layout_case_is_the_sequence_major_case_transposed(case):
    batch_major = numpy_outputs(case)
    states = {name: value.transpose(1, 0, 2) for name, value in case.feeds().items()}  # X and the initial states alike
    sequence_major = numpy_outputs(case, layout=0, **states)
    np.testing.assert_allclose(batch_major["Y"], sequence_major["Y"].transpose(2, 0, 1, 3), **TIGHT)
    for name in case.outputs[1:]:
        np.testing.assert_allclose(batch_major[name], sequence_major[name].transpose(1, 0, 2), **TIGHT)


@pytest.mark.parametrize("case", SEQUENCE_LENS_CASES, ids=[case.id for case in SEQUENCE_LENS_CASES])
def test_sequence_lens_zero_the_padding_and_hold_the_state(case):
    outputs = numpy_outputs(case)
    for n, length in enumerate(case.sequence_lens):
        assert not outputs["Y"][length:, :, n].any()
        np.testing.assert_array_equal(outputs["Y_h"][0, n], outputs["Y"][length - 1, 0, n])  # forward ends at its last step
        np.testing.assert_array_equal(outputs["Y_h"][1, n], outputs["Y"][0, 1, n])  # reverse ends at step 0


def test_params_are_scalars_and_name_the_attributes():
    for case in NODE_CASES:
        params = case.params()
        assert all(isinstance(v, (str, int, float, bool)) for v in params.values()), case.id
        assert set(case.attributes) <= set(params)
    assert BY_ID["node-lstm-activations-hardsigmoid"].params()["activations"] == "HardSigmoid,Tanh,Tanh"
    assert len(set(IDS)) == len(IDS)


@pytest.fixture(scope="module")
def onnx_backend_test_cases():
    import warnings

    from onnx.backend.test.case.node import collect_testcases

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # collecting runs every operator's case generator; some of them warn
        # Collected once, unfiltered: onnx keeps the cases in a module-level list that a second, filtered call returns as is.
        every_case = collect_testcases()
    return {op: [case for case in every_case if case.model.graph.node[0].op_type == op] for op in NUMPY}


@pytest.mark.parametrize("op", NUMPY)
def test_numpy_operator_reproduces_the_onnx_backend_test_vectors(onnx_backend_test_cases, op):
    """The numpy operators against the ONNX project's own test cases (defaults, bias, peepholes, layout, sequence lengths)."""
    assert len(onnx_backend_test_cases[op]) >= 4
    for test_case in onnx_backend_test_cases[op]:
        graph = test_case.model.graph
        inputs, expected = test_case.data_sets[0]
        arguments = {i.name: value for i, value in zip(graph.input, inputs) if i.name}
        outputs = dict(zip(("Y", "Y_h", "Y_c"), NUMPY[op](**arguments, **node_attributes(test_case.model))))
        for output, value in zip(graph.output, expected):
            np.testing.assert_allclose(outputs[output.name], value, err_msg=test_case.name, **TIGHT)


def test_node_models_declare_an_ir_version_older_runtimes_read():
    """onnx 1.23 writes IR 14 by default, which onnxruntime 1.31 (the newest onnxruntime-gpu) refuses."""
    assert {case.model().ir_version for case in NODE_CASES} == {8}


# onnx's own recurrent node tests (cases/onnx_node_tests.py), generated by the installed onnx: run beside the node cases above.
ONNX_NODE_TESTS = {
    "LSTM": ["test_lstm_defaults", "test_lstm_with_initial_bias", "test_lstm_with_peepholes", "test_lstm_batchwise",
             "test_lstm_reverse", "test_lstm_bidirectional"],
    "GRU": ["test_gru_defaults", "test_gru_with_initial_bias", "test_gru_seq_length", "test_gru_batchwise", "test_gru_reverse",
            "test_gru_bidirectional"],
    "RNN": ["test_simple_rnn_defaults", "test_simple_rnn_with_initial_bias", "test_rnn_seq_length", "test_simple_rnn_batchwise",
            "test_simple_rnn_reverse", "test_simple_rnn_bidirectional"],
}


def test_the_installed_onnx_generates_its_18_recurrent_node_tests():
    from cases.onnx_node_tests import onnx_node_tests

    tests = onnx_node_tests()
    assert [t.name for t in tests] == [name for names in ONNX_NODE_TESTS.values() for name in names]
    for test in tests:
        (node,) = test.model.graph.node
        assert test.name in ONNX_NODE_TESTS[node.op_type]
        assert test.model.producer_name == "backend-test" and (test.rtol, test.atol) == (1e-3, 1e-7)
    assert not set(t.name for t in tests) & set(IDS)


@pytest.fixture(scope="module")
def written_onnx_node_tests(tmp_path_factory):
    from cases.onnx_node_tests import write_onnx_node_tests

    directory = tmp_path_factory.mktemp("onnx-node-tests")
    write_onnx_node_tests(directory)
    return directory


def test_onnx_node_tests_record_op_layout_and_origin(written_onnx_node_tests):
    """As the node cases do, so that expectations match them by their facts (params.op, params.layout)."""
    from conformance.corpus_layout import backend_test

    for op, names in ONNX_NODE_TESTS.items():
        for name in names:
            entry = backend_test(written_onnx_node_tests / name)
            params = entry["params"]
            assert entry["case"] == name and params["origin"] == f"onnx {onnx.__version__} {name}"
            assert (params["op"], params["kind"], params["layout"]) == (op, f"node-{op.lower()}", int(name.endswith("_batchwise")))
            assert params["direction"] == name.rpartition("_")[2] if name.endswith(("reverse", "bidirectional")) else "direction" not in params
            assert all(isinstance(v, (str, int, float, bool)) for v in params.values())
            x = onnx.numpy_helper.to_array(onnx.load_tensor(str(written_onnx_node_tests / name / "test_data_set_0" / "input_0.pb")))
            assert (params["seq_len"], params["batch"]) == (x.shape[::-1][1:] if params["layout"] else x.shape[:2])
            assert params["input_size"] == x.shape[2] and params["dtype"] == "float32"
    peepholes = backend_test(written_onnx_node_tests / "test_lstm_with_peepholes")["params"]
    assert peepholes["peepholes"] is True and peepholes["sequence_lens"] == "1,1"


def test_onnx_node_tests_expect_onnx_vectors(written_onnx_node_tests):
    """The stored data set is onnx's own: its inputs and expected outputs, named as the graph's."""
    from cases.onnx_node_tests import onnx_node_tests
    from conformance.corpus_layout import read_tensors

    for test in onnx_node_tests():
        (inputs, outputs), = test.data_sets
        data_dir = written_onnx_node_tests / test.name / "test_data_set_0"
        graph = test.model.graph
        for kind, arrays, declared in (("input", inputs, graph.input), ("output", outputs, graph.output)):
            stored = read_tensors(data_dir, kind, len(arrays))
            assert list(stored) == [v.name for v in declared]
            for array, value in zip(arrays, stored.values()):
                np.testing.assert_array_equal(value, array)


def test_the_default_preset_holds_the_node_cases_and_onnx_node_tests():
    from conformance.plan import selected_node_tests
    from verdict.records import RunOptions

    suite, onnx_names = selected_node_tests(RunOptions(preset="default"))
    assert [c.id for c in suite] == IDS and onnx_names == [n for names in ONNX_NODE_TESTS.values() for n in names]
    suite, onnx_names = selected_node_tests(RunOptions())  # no preset named: the default
    assert len(suite) == len(IDS) and len(onnx_names) == 18
    suite, onnx_names = selected_node_tests(RunOptions(preset="default", select=["test_gru", "node-rnn-clip"]))
    assert [c.id for c in suite] == ["node-rnn-clip"] and onnx_names == ONNX_NODE_TESTS["GRU"]
    for narrowed in (RunOptions(preset="default", cases=["num_layers=1"]), RunOptions(preset="default", kinds=["lstm"]),
                     RunOptions(preset="smoke"), RunOptions(preset="seed")):
        assert selected_node_tests(narrowed) == ([], [])
    suite, onnx_names = selected_node_tests(RunOptions(cases=["num_layers=1"], node_cases=True))
    assert [c.id for c in suite] == IDS and onnx_names == []
