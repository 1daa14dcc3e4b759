"""What to test: recurrent-layer configurations of each module kind, presets, expectations and the status taxonomy.

Importing this package never imports torch; the eager model lives in cases.torch_model.
"""
from cases.case import Case, InvalidCaseError
from cases.kinds import KINDS
from cases.space import PRESETS, parse_case, preset_cases, select
from cases.status import Status

__all__ = ["KINDS", "Case", "InvalidCaseError", "PRESETS", "Status", "parse_case", "preset_cases", "select"]
