import pytest

from cases import KINDS, Case, InvalidCaseError, parse_case, preset_cases, select
from cases.space import LAYERS, SEED_GRID


def test_id_is_stable_and_greppable():
    case = Case(num_layers=2, bidirectional=True, proj_size=3, batch_first=True, bias=False)
    assert case.id == "L2-bi-proj3-bf-nobias-h0-fp32"
    assert Case(num_layers=2, bidirectional=True, proj_size=3, batch_first=True, bias=False).id == case.id


def test_non_default_fields_appear_in_id():
    case = Case(input_size=16, hidden_size=32, dropout=0.3, num_layers=2, seq_len=1, batch=16, seed=7, dtype="float16")
    assert case.id == "L2-uni-noproj-sf-bias-h0-fp16-i16h32-drop0.3-s1b16-seed7"


@pytest.mark.parametrize("preset", ["smoke", "seed", "default", "full"])
def test_preset_ids_are_unique(preset):
    cases = preset_cases(preset)
    assert len({c.id for c in cases}) == len(cases)


def test_seed_is_the_dense_lstm_grid():
    cases = preset_cases("seed")
    assert len(cases) == 64 == 2 ** len(SEED_GRID)
    assert all(c.invalid_reason() is None and c.kind == "lstm" and not c.packed for c in cases)
    assert {c.proj_size for c in cases} == {0, 3} and {c.num_layers for c in cases} == {1, 2}


def test_default_is_the_seed_grid_plus_every_kind_dense_and_packed():
    cases = preset_cases("default")
    assert {c.id for c in preset_cases("seed")} <= {c.id for c in cases}
    assert all(c.invalid_reason() is None for c in cases)
    dense = {kind: [c for c in cases if c.kind == kind and not c.packed] for kind in LAYERS}
    assert [len(dense[kind]) for kind in LAYERS] == [64, 32, 32, 32]
    assert {c.kind for c in cases if c.packed} == set(LAYERS)


def test_the_zoo_preset_is_the_cell_kinds_and_the_zoo_models():
    from cases.space import PRESET_MODELS
    from cases.zoo import ZOO

    cases = preset_cases("zoo")
    assert {c.kind for c in cases} == set(KINDS) - set(LAYERS) == {"lstm_cell", "gru_cell"}
    assert all(c.invalid_reason() is None for c in cases) and len(cases) == 16
    assert PRESET_MODELS["zoo"] == tuple(ZOO.values())


def test_kinds_filter_any_preset():
    chosen = select(preset_cases("default"), [], ["gru", "rnn_relu"])
    assert chosen and {c.kind for c in chosen} == {"gru", "rnn_relu"}
    assert {c.id.split("-")[0] for c in chosen} == {"G1", "G2", "Rrelu1", "Rrelu2"}


def test_full_extends_default():
    full = {c.id for c in preset_cases("full")}
    assert {c.id for c in preset_cases("default")} <= full
    assert {"float16", "bfloat16", "float64"} <= {c.dtype for c in preset_cases("full")}


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"proj_size": 8}, "proj_size >= hidden_size"),
        ({"proj_size": -1}, "proj_size must be >= 0"),
        ({"dropout": 0.5}, "num_layers=1"),
        ({"dropout": 0.5, "num_layers": 2, "train": True}, "training mode is random"),
        ({"dtype": "int8"}, "unknown dtype"),
        ({"hidden_size": 0}, "hidden_size must be >= 1"),
        ({"kind": "gru", "proj_size": 3}, "gru has no projection"),
        ({"kind": "conv"}, "unknown kind 'conv'"),
    ],
)
def test_invalid_combinations_say_why(kwargs, fragment):
    assert fragment in Case(**kwargs).invalid_reason()


def test_valid_combinations_have_no_reason():
    assert Case(dropout=0.3, num_layers=2).invalid_reason() is None
    assert Case(train=True).invalid_reason() is None


def test_expected_shapes_follow_torch_conventions():
    case = Case(num_layers=2, bidirectional=True, proj_size=3, batch_first=True, hidden_size=8)
    assert case.expected_shapes(seq_len=5, batch=4) == {"output": (4, 5, 6), "h_n": (4, 4, 3), "c_n": (4, 4, 8)}
    gru = Case(kind="gru", num_layers=2, bidirectional=True)
    assert gru.expected_shapes(seq_len=5, batch=4) == {"output": (5, 4, 16), "h_n": (4, 4, 8)}


def test_each_kind_declares_its_interface():
    """Inputs and outputs by kind; a packed case takes lengths after the input."""
    assert Case().input_names() == ["input", "h0", "c0"] and Case().output_names() == ["output", "h_n", "c_n"]
    packed_gru = Case(kind="rnn_tanh", packed=True)
    assert packed_gru.input_names() == ["input", "lengths", "h0"] and packed_gru.output_names() == ["output", "h_n"]
    assert packed_gru.input_shapes(5, 3)["lengths"] == (3,) and packed_gru.dynamic_axes()["lengths"] == {0: "batch"}
    assert Case(kind="rnn_relu", initial_state=False).id == "Rrelu1-uni-sf-bias-noh0-fp32"
    assert Case(kind="gru", packed=True).id == "G1-uni-sf-bias-h0-fp32-packed"


def test_eager_models_match_the_torch_layers_they_wrap():
    """The wrapper is transparent: dense outputs are the layer's; packed ones zero the padding and keep each final state."""
    import numpy as np
    import torch

    from cases.inputs import make_feeds
    from cases.torch_model import build_module, eager_outputs

    for kind in LAYERS:
        case = Case(kind=kind, num_layers=2, bidirectional=True)
        module, feeds = build_module(case), make_feeds(case, 5, 3)
        states = [torch.from_numpy(feeds[n]) for n in case.layer.state_names]
        with torch.no_grad():
            output, final = module.layer(torch.from_numpy(feeds["input"]), tuple(states) if len(states) == 2 else states[0])
        assert np.array_equal(eager_outputs(case, module, feeds)["output"], output.numpy())
        packed = Case(kind=kind, packed=True)
        feeds = make_feeds(packed, 5, 3)
        outputs = eager_outputs(packed, build_module(packed), feeds)
        for batch, length in enumerate(feeds["lengths"]):
            assert not outputs["output"][length:, batch].any() and outputs["output"][length - 1, batch].any()


def test_parse_case_builds_and_validates():
    assert parse_case("num_layers=2, bidirectional=true").id == "L2-bi-noproj-sf-bias-h0-fp32"
    with pytest.raises(InvalidCaseError, match="proj_size >= hidden_size"):
        parse_case("proj_size=8")
    with pytest.raises(InvalidCaseError, match="unknown case field"):
        parse_case("layers=2")
    with pytest.raises(InvalidCaseError, match="expected a number"):
        parse_case("num_layers=two")
    assert parse_case("kind=gru,packed=true").id == "G1-uni-sf-bias-h0-fp32-packed"
    with pytest.raises(InvalidCaseError, match="unknown kind 'lstmp'"):
        parse_case("kind=lstmp")


def test_select_by_substring():
    cases = preset_cases("default")
    chosen = select(cases, ["proj3-bf"])
    assert chosen and all("proj3-bf" in c.id for c in chosen)
