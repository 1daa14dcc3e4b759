import pytest

from cases import InvalidCaseError, LSTMCase, parse_case, preset_cases, select
from cases.space import CORE_GRID


def test_id_is_stable_and_greppable():
    case = LSTMCase(num_layers=2, bidirectional=True, proj_size=3, batch_first=True, bias=False)
    assert case.id == "L2-bi-proj3-bf-nobias-h0-fp32"
    assert LSTMCase(num_layers=2, bidirectional=True, proj_size=3, batch_first=True, bias=False).id == case.id


def test_non_default_fields_appear_in_id():
    case = LSTMCase(input_size=16, hidden_size=32, dropout=0.3, num_layers=2, seq_len=1, batch=16, seed=7, dtype="float16")
    assert case.id == "L2-uni-noproj-sf-bias-h0-fp16-i16h32-drop0.3-s1b16-seed7"


@pytest.mark.parametrize("preset", ["smoke", "default", "full"])
def test_preset_ids_are_unique(preset):
    cases = preset_cases(preset)
    assert len({c.id for c in cases}) == len(cases)


def test_default_is_the_full_seed_grid():
    cases = preset_cases("default")
    assert len(cases) == 64 == 2 ** len(CORE_GRID)
    assert all(c.invalid_reason() is None for c in cases)
    assert {c.proj_size for c in cases} == {0, 3} and {c.num_layers for c in cases} == {1, 2}


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
    ],
)
def test_invalid_combinations_say_why(kwargs, fragment):
    assert fragment in LSTMCase(**kwargs).invalid_reason()


def test_valid_combinations_have_no_reason():
    assert LSTMCase(dropout=0.3, num_layers=2).invalid_reason() is None
    assert LSTMCase(train=True).invalid_reason() is None


def test_expected_shapes_follow_torch_conventions():
    case = LSTMCase(num_layers=2, bidirectional=True, proj_size=3, batch_first=True, hidden_size=8)
    assert case.expected_shapes(seq_len=5, batch=4) == {"output": (4, 5, 6), "h_n": (4, 4, 3), "c_n": (4, 4, 8)}


def test_parse_case_builds_and_validates():
    assert parse_case("num_layers=2, bidirectional=true").id == "L2-bi-noproj-sf-bias-h0-fp32"
    with pytest.raises(InvalidCaseError, match="proj_size >= hidden_size"):
        parse_case("proj_size=8")
    with pytest.raises(InvalidCaseError, match="unknown case field"):
        parse_case("layers=2")
    with pytest.raises(InvalidCaseError, match="expected a number"):
        parse_case("num_layers=two")


def test_select_by_substring():
    cases = preset_cases("default")
    chosen = select(cases, ["proj3-bf"])
    assert chosen and all("proj3-bf" in c.id for c in chosen)
