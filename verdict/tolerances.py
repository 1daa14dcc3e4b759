"""The one tolerance table, and how a run's overrides apply to it.

Anchored on torch.testing.assert_close and the ONNX backend tests, tightened for fp32 so a 1e-3
perturbation fails while onnxruntime's ~1e-7 LSTM error passes with margin.

fp16 and bf16 results are judged against the fp64 oracle (torch eager in float64 on the same weights and
inputs), not against torch eager in the same precision: a runtime that is closer to the truth than torch
must not fail for it. Such an output passes when its error against the oracle is within the dtype's
tolerance, or at most ORACLE_FACTOR times torch eager's own error against the oracle.
"""
from __future__ import annotations

import msgspec


class Tolerance(msgspec.Struct, frozen=True):
    rtol: float
    atol: float


TOLERANCES: dict[str, Tolerance] = {
    "float32": Tolerance(rtol=1e-4, atol=1e-5),
    "float16": Tolerance(rtol=1e-2, atol=1e-3),
    "bfloat16": Tolerance(rtol=5e-2, atol=1e-2),
    "float64": Tolerance(rtol=1e-7, atol=1e-7),
}
# The dtypes judged against the fp64 oracle, and how much worse than torch eager's own error a result may be.
ORACLE_DTYPES = frozenset({"float16", "bfloat16"})
ORACLE_FACTOR = 2.0
# The key of an override that applies to every output: `--atol 1e-4`, where `--atol h_n:1e-4` names one.
ALL_OUTPUTS = "*"


class ToleranceOverrides(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A run's --rtol / --atol: output name (or ALL_OUTPUTS) -> value. A bound not given keeps the dtype's."""

    rtol: dict[str, float] = {}
    atol: dict[str, float] = {}

    def __bool__(self) -> bool:
        return bool(self.rtol or self.atol)

    def for_output(self, base: Tolerance, output: str) -> Tolerance:
        def pick(table: dict[str, float], default: float) -> float:
            return table.get(output, table.get(ALL_OUTPUTS, default))

        return Tolerance(rtol=pick(self.rtol, base.rtol), atol=pick(self.atol, base.atol))


def parse_override(text: str) -> tuple[str, float]:
    """'1e-4' -> ('*', 1e-4); 'h_n:1e-4' -> ('h_n', 1e-4). ValueError with the reason otherwise."""
    name, sep, value = text.rpartition(":")
    name = name.strip() if sep else ALL_OUTPUTS
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{text!r} is not a tolerance: give a number, or OUTPUT:NUMBER such as h_n:1e-4") from None
    if not sep and not value.strip() or not name:
        raise ValueError(f"{text!r} is not a tolerance: give a number, or OUTPUT:NUMBER such as h_n:1e-4")
    if not 0 <= number < float("inf"):
        raise ValueError(f"{text!r}: a tolerance must be a finite number >= 0")
    return name, number


def uses_oracle(dtype: str) -> bool:
    return dtype in ORACLE_DTYPES
