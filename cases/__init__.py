"""What to test: recurrent-layer configurations of each module kind, presets, node cases, and the known upstream
failures (expectations.toml; the logic that applies them is verdict.expectations).

Importing this package never imports torch; the eager model lives in cases.torch_model.
"""
from cases.case import Case, InvalidCaseError
from cases.kinds import KINDS
from cases.space import PRESETS, parse_case, preset_cases, select

__all__ = ["KINDS", "Case", "InvalidCaseError", "PRESETS", "parse_case", "preset_cases", "select"]
