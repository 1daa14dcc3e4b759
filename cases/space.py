"""The parameter space as literal tables (axis -> values), expanded by product into presets."""
from __future__ import annotations

import dataclasses
import itertools

from cases.case import Case, InvalidCaseError
from cases.kinds import KINDS
from cases.zoo import ZOO

Grid = dict[str, tuple]

# The torch.nn recurrent layers, multi-layer and bidirectional; the cell kinds (one cell stepped in a loop) have a grid of their own.
LAYERS = ("lstm", "gru", "rnn_tanh", "rnn_relu")
CELLS = tuple(kind for kind in KINDS if kind not in LAYERS)

# The five seed axes plus initial states: 2**6 = 64 LSTM configurations.
SEED_GRID: Grid = {
    "num_layers": (1, 2),
    "bias": (True, False),
    "bidirectional": (False, True),
    "proj_size": (0, 3),
    "batch_first": (False, True),
    "initial_state": (True, False),
}
# The same axes for the layers without a projection: 32 configurations per kind.
FAMILY_GRID: Grid = {
    "kind": ("gru", "rnn_tanh", "rnn_relu"),
    **{axis: values for axis, values in SEED_GRID.items() if axis != "proj_size"},
}
# Variable-length batches of every kind: stacked and bidirectional layers are where packing goes wrong.
PACKED_GRID: Grid = {
    "kind": LAYERS,
    "packed": (True,),
    "num_layers": (1, 2),
    "bidirectional": (False, True),
    "batch_first": (False, True),
}

# The cells stepped in a loop: one layer, one direction.
CELL_GRID: Grid = {"kind": CELLS, "bias": (True, False), "batch_first": (False, True), "initial_state": (True, False)}

PRESETS: dict[str, list[Grid]] = {
    "smoke": [
        {"num_layers": (1,), "bidirectional": (False,), "proj_size": (0, 3)},
        {"num_layers": (2,), "bidirectional": (True,), "batch_first": (True,), "bias": (False,), "initial_state": (False,)},
        # hidden_size 8: torch refuses this projection, so the report must list it as not applicable.
        {"proj_size": (8,)},
        {"kind": ("gru", "rnn_relu"), "bidirectional": (True,)},
        {"kind": ("lstm",), "packed": (True,), "num_layers": (2,), "bidirectional": (True,)},
    ],
    "seed": [SEED_GRID],
    "default": [SEED_GRID, FAMILY_GRID, PACKED_GRID],
    # Real recurrent architectures (cases.zoo, as users' models: PRESET_MODELS) and the cell kinds beside them.
    "zoo": [CELL_GRID],
    "full": [
        {**SEED_GRID, "num_layers": (1, 2, 3)},
        {**FAMILY_GRID, "num_layers": (1, 2, 3)},
        {**PACKED_GRID, "initial_state": (True, False), "bias": (True, False)},
        CELL_GRID,
        {"kind": LAYERS, "dtype": ("float16", "bfloat16", "float64"), "num_layers": (1, 2), "bidirectional": (False, True),
         "initial_state": (True, False)},
        {"kind": LAYERS, "dropout": (0.3,), "num_layers": (1, 2, 3), "train": (False, True), "bidirectional": (False, True)},
        {"input_size": (1, 16), "hidden_size": (1, 32), "proj_size": (0, 1), "bidirectional": (False, True)},
        {"kind": LAYERS, "input_size": (1, 16), "hidden_size": (1, 32), "bidirectional": (False, True)},
        {"kind": LAYERS, "seq_len": (1, 32), "batch": (1, 16), "batch_first": (False, True), "packed": (False, True)},
    ],
}

# Opsets a preset sweeps when --opsets does not say: the full preset crosses the LSTM op's versions (LSTM-14
# added layout, LSTM-22 bfloat16) and the range both exporters write.
PRESET_OPSETS: dict[str, tuple[int, ...]] = {"full": (14, 17, 18, 20, 22, 23)}

# Users' models (cases.models) a preset runs beside its cases, by factory path.
PRESET_MODELS: dict[str, tuple[str, ...]] = {"zoo": tuple(ZOO.values())}

FIELD_TYPES = {f.name: f.type for f in dataclasses.fields(Case)}


def expand(grid: Grid) -> list[Case]:
    axes = list(grid)
    return [Case(**dict(zip(axes, values))) for values in itertools.product(*(grid[a] for a in axes))]


def preset_cases(name: str) -> list[Case]:
    """All cases of a preset, invalid ones included, deduplicated by id in table order."""
    if name not in PRESETS:
        raise KeyError(name)
    seen: dict[str, Case] = {}
    for grid in PRESETS[name]:
        for case in expand(grid):
            seen.setdefault(case.id, case)
    return list(seen.values())


def select(cases: list[Case], substrings: list[str] | None, kinds: list[str] | None = None) -> list[Case]:
    """Keep cases whose id contains any of the substrings (like pytest -k, but plain text) and whose kind is listed."""
    return [
        c for c in cases
        if (not substrings or any(s in c.id for s in substrings)) and (not kinds or c.kind in kinds)
    ]


def _parse_value(field: str, text: str):
    kind = FIELD_TYPES[field]
    if kind == "bool":
        lowered = text.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise InvalidCaseError(f"{field}={text!r}: expected true or false")
    if kind in ("int", "float"):
        try:
            return int(text) if kind == "int" else float(text)
        except ValueError:
            raise InvalidCaseError(f"{field}={text!r}: expected a number") from None
    return text.strip()


def parse_case(spec: str) -> Case:
    """'kind=gru,num_layers=2' -> Case; an explicitly requested case must be valid."""
    params = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep:
            raise InvalidCaseError(f"case field {item!r} is not of the form name=value")
        if key not in FIELD_TYPES:
            raise InvalidCaseError(f"unknown case field {key!r}; fields are {', '.join(FIELD_TYPES)}")
        params[key] = _parse_value(key, value)
    if params.get("kind", "lstm") not in KINDS:
        raise InvalidCaseError(f"unknown kind {params['kind']!r}; kinds are {', '.join(KINDS)}")
    case = Case(**params)
    reason = case.invalid_reason()
    if reason:
        raise InvalidCaseError(f"case {case.id} is not applicable: {reason}")
    return case
