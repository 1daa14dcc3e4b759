"""The zoo of published recurrent architectures (cases/zoo) and the cell kinds (cases/kinds/lstm_cell.py, gru_cell.py)."""
import warnings
from functools import cache

import numpy as np
import pytest

torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")

from cases import Case, InvalidCaseError, parse_case  # noqa: E402
from cases import models  # noqa: E402
from cases.inputs import make_feeds  # noqa: E402
from cases.torch_model import build_module, eager_outputs  # noqa: E402
from cases.zoo import ZOO  # noqa: E402

RTOL, ATOL = 1e-4, 1e-5
# A traced export runs a Python loop over the frames once per frame of the example and records every step: the graph
# has the export length built in. With fewer frames it indexes past the input; with more it stops early.
UNROLLED = {"tacotron2_decoder": "the traced export unrolls the Python decoder loop at the export length"}


@cache
def spec(name: str) -> models.ModelSpec:
    return models.build_spec(ZOO[name])


def run_shapes(name: str) -> list[dict[str, int]]:
    """The export shape `{}` first, then the factory's run shapes."""
    return [{}, *spec(name).run_shapes]


def test_the_zoo_lists_every_model_in_order():
    assert list(ZOO) == ["crnn", "tacotron2_decoder", "silero_vad", "deepspeech", "pyannote", "wavernn",
                         "rnnt_predictor", "packed_text_encoder"]
    assert all(path == f"cases.zoo.{name}:factory" for name, path in ZOO.items())


@pytest.mark.parametrize("name", list(ZOO))
def test_zoo_model_builds_and_runs_eagerly_at_every_shape(name):
    built = spec(name)
    assert built.name == name
    assert built.input_names and built.output_names and built.dynamic_axes
    assert len(built.run_shapes) >= 2 and all(shape.get("time") for shape in built.run_shapes)
    assert all("time" in table.values() for input_name, table in built.dynamic_axes.items() if input_name in built.input_names)
    assert {str(t.dtype) for t in built.inputs} <= {"torch.float32", "torch.int64"}
    for sizes in run_shapes(name):
        outputs = models.eager_outputs(built, models.feeds(built, sizes))
        assert list(outputs) == built.output_names
        for output_name, array in outputs.items():
            assert np.isfinite(array).all(), f"{name} {sizes}: {output_name} is not finite"


def test_zoo_factories_are_deterministic():
    for name, path in ZOO.items():
        again = models.build_spec(path)
        for first, second in zip(spec(name).module.state_dict().values(), again.module.state_dict().values()):
            assert torch.equal(first, second), name


@pytest.mark.parametrize("pattern", ["varied", "equal"])
def test_packed_text_encoder_keeps_the_input_length(pattern):
    built = spec("packed_text_encoder")
    assert built.lengths == "lengths"
    for sizes in run_shapes("packed_text_encoder"):
        feeds = models.feeds(built, sizes, pattern)
        time = feeds["tokens"].shape[1]
        assert time == sizes.get("time", time) and feeds["lengths"].max() == time
        (encoded,) = models.eager_outputs(built, feeds).values()
        assert encoded.shape == (feeds["tokens"].shape[0], 16, time)
        for batch, length in enumerate(feeds["lengths"]):
            assert not encoded[batch, :, length:].any()  # padding stays zero


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """Each zoo model exported once by the TorchScript exporter (dynamic axes as the factory declares them)."""
    folder = tmp_path_factory.mktemp("zoo-onnx")
    sessions = {}

    def session(name):
        if name not in sessions:
            built = spec(name)
            path = str(folder / f"{name}.onnx")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                torch.onnx.export(built.module, built.inputs, path, dynamo=False, input_names=built.input_names,
                                  output_names=built.output_names, dynamic_axes=built.dynamic_axes)
            sessions[name] = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        return sessions[name]

    return session


def _export_params():
    params = []
    for name in ZOO:
        for index, sizes in enumerate(run_shapes(name)):
            label = f"{name}-" + ("export" if not sizes else "-".join(f"{k}{v}" for k, v in sizes.items()))
            marks = [pytest.mark.xfail(strict=True, reason=UNROLLED[name])] if index and name in UNROLLED else []
            params.append(pytest.param(name, index, id=label, marks=marks))
    return params


@pytest.mark.parametrize("name, index", _export_params())
def test_zoo_model_exported_by_torchscript_matches_onnxruntime(exported, name, index):
    """One call per shape (a streaming model's chunks are the suite's business: one call is enough here)."""
    built = spec(name)
    session = exported(name)
    feeds = models.feeds(built, run_shapes(name)[index])
    expected = models.eager_outputs(built, feeds)
    actual = session.run(built.output_names, {i.name: feeds[i.name] for i in session.get_inputs()})
    for output_name, array in zip(built.output_names, actual):
        np.testing.assert_allclose(array, expected[output_name], rtol=RTOL, atol=ATOL, err_msg=f"{name}: {output_name}")


# The cell kinds: a torch.nn.LSTMCell / GRUCell stepped over the sequence, interchangeable with a one-layer layer.
CELLS = [("lstm_cell", torch.nn.LSTM), ("gru_cell", torch.nn.GRU)]


@pytest.mark.parametrize("kind, reference", CELLS, ids=[kind for kind, _ in CELLS])
@pytest.mark.parametrize("batch_first", [False, True], ids=["sf", "bf"])
@pytest.mark.parametrize("initial_state, bias", [(True, True), (False, True), (True, False)],
                         ids=["h0", "noh0", "nobias"])
def test_cell_kind_equals_the_one_layer_layer_with_its_weights(kind, reference, batch_first, initial_state, bias):
    case = Case(kind=kind, batch_first=batch_first, initial_state=initial_state, bias=bias)
    assert case.invalid_reason() is None
    module = build_module(case)
    layer = reference(case.input_size, case.hidden_size, bias=bias, batch_first=batch_first)
    module.layer.cell.load_state_dict({key.removesuffix("_l0"): value for key, value in layer.state_dict().items()})
    feeds = make_feeds(case, 5, 3)
    outputs = eager_outputs(case, module, feeds)
    args = [torch.from_numpy(feeds["input"])]
    if initial_state:
        states = tuple(torch.from_numpy(feeds[name]) for name in case.layer.state_names)
        args.append(states if len(states) == 2 else states[0])
    with torch.no_grad():
        output, final = layer(*args)
    finals = final if isinstance(final, tuple) else (final,)
    expected = dict(zip(case.output_names(), (output, *finals)))
    assert {name: array.shape for name, array in outputs.items()} == case.expected_shapes(5, 3)
    for name, tensor in expected.items():
        np.testing.assert_allclose(outputs[name], tensor.numpy(), rtol=0, atol=1e-6, err_msg=f"{case.id}: {name}")


def test_cell_kinds_declare_their_interface():
    assert Case(kind="lstm_cell").id == "LC1-uni-sf-bias-h0-fp32"
    assert Case(kind="gru_cell", batch_first=True).id == "GC1-uni-bf-bias-h0-fp32"
    assert Case(kind="lstm_cell").input_names() == ["input", "h0", "c0"]
    assert Case(kind="lstm_cell").output_names() == ["output", "h_n", "c_n"]
    assert Case(kind="gru_cell").input_names() == ["input", "h0"] and Case(kind="gru_cell").output_names() == ["output", "h_n"]


@pytest.mark.parametrize("kind", ["lstm_cell", "gru_cell"])
@pytest.mark.parametrize("fields, fragment", [
    ({"num_layers": 2}, "num_layers=2"),
    ({"bidirectional": True}, "bidirectional"),
    ({"packed": True}, "packed"),
    ({"dropout": 0.3}, "dropout=0.3"),
    ({"dropout": 0.3, "num_layers": 2}, "num_layers=2"),
    ({"proj_size": 3}, "projection"),
])
def test_cell_kinds_refuse_what_a_single_cell_cannot_be(kind, fields, fragment):
    reason = Case(kind=kind, **fields).invalid_reason()
    assert reason and fragment in reason and kind in reason


def test_an_invalid_cell_case_asked_for_explicitly_says_why():
    with pytest.raises(InvalidCaseError, match="bidirectional"):
        parse_case("kind=gru_cell,bidirectional=true")
