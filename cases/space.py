"""The parameter space as literal tables (axis -> values), expanded by product into presets."""
from __future__ import annotations

import dataclasses
import itertools

from cases.case import InvalidCaseError, LSTMCase

Grid = dict[str, tuple]

# The five seed axes plus initial states: 2**6 = 64 configurations.
CORE_GRID: Grid = {
    "num_layers": (1, 2),
    "bias": (True, False),
    "bidirectional": (False, True),
    "proj_size": (0, 3),
    "batch_first": (False, True),
    "initial_state": (True, False),
}

PRESETS: dict[str, list[Grid]] = {
    "smoke": [
        {"num_layers": (1,), "bidirectional": (False,), "proj_size": (0, 3)},
        {"num_layers": (2,), "bidirectional": (True,), "batch_first": (True,), "bias": (False,), "initial_state": (False,)},
        # hidden_size 8: torch refuses this projection, so the report must list it as not applicable.
        {"proj_size": (8,)},
    ],
    "default": [CORE_GRID],
    "full": [
        {**CORE_GRID, "num_layers": (1, 2, 3)},
        {"dtype": ("float16", "bfloat16", "float64"), "num_layers": (1, 2), "bidirectional": (False, True), "initial_state": (True, False)},
        {"dropout": (0.3,), "num_layers": (1, 2, 3), "train": (False, True), "bidirectional": (False, True)},
        {"input_size": (1, 16), "hidden_size": (1, 32), "proj_size": (0, 1), "bidirectional": (False, True)},
        {"seq_len": (1, 32), "batch": (1, 16), "batch_first": (False, True)},
    ],
}

FIELD_TYPES = {f.name: f.type for f in dataclasses.fields(LSTMCase)}


def expand(grid: Grid) -> list[LSTMCase]:
    axes = list(grid)
    return [LSTMCase(**dict(zip(axes, values))) for values in itertools.product(*(grid[a] for a in axes))]


def preset_cases(name: str) -> list[LSTMCase]:
    """All cases of a preset, invalid ones included, deduplicated by id in table order."""
    if name not in PRESETS:
        raise KeyError(name)
    seen: dict[str, LSTMCase] = {}
    for grid in PRESETS[name]:
        for case in expand(grid):
            seen.setdefault(case.id, case)
    return list(seen.values())


def select(cases: list[LSTMCase], substrings: list[str] | None) -> list[LSTMCase]:
    """Keep cases whose id contains any of the substrings (like pytest -k, but plain text)."""
    if not substrings:
        return cases
    return [c for c in cases if any(s in c.id for s in substrings)]


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


def parse_case(spec: str) -> LSTMCase:
    """'num_layers=2,proj_size=3' -> LSTMCase; an explicitly requested case must be valid."""
    params = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep:
            raise InvalidCaseError(f"case field {item!r} is not of the form name=value")
        if key not in FIELD_TYPES:
            raise InvalidCaseError(f"unknown case field {key!r}; fields are {', '.join(FIELD_TYPES)}")
        params[key] = _parse_value(key, value)
    case = LSTMCase(**params)
    reason = case.invalid_reason()
    if reason:
        raise InvalidCaseError(f"case {case.id} is not applicable: {reason}")
    return case
