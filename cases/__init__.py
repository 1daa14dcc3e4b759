"""What to test: LSTM configurations, presets, expectations and the status taxonomy.

Importing this package never imports torch; the eager model lives in cases.torch_model.
"""
from cases.case import InvalidCaseError, LSTMCase
from cases.space import PRESETS, parse_case, preset_cases, select
from cases.status import Status

__all__ = ["InvalidCaseError", "LSTMCase", "PRESETS", "Status", "parse_case", "preset_cases", "select"]
