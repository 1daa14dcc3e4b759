"""The status taxonomy: every result carries exactly one of these names."""
from __future__ import annotations

from enum import Enum


class Status(str, Enum):
    PASS = "PASS"
    NUMERIC_MISMATCH = "NUMERIC_MISMATCH"
    SHAPE_MISMATCH = "SHAPE_MISMATCH"
    DTYPE_MISMATCH = "DTYPE_MISMATCH"
    OUTPUT_COUNT_MISMATCH = "OUTPUT_COUNT_MISMATCH"
    EXPORT_ERROR = "EXPORT_ERROR"
    INVALID_MODEL = "INVALID_MODEL"
    LOAD_ERROR = "LOAD_ERROR"
    RUN_ERROR = "RUN_ERROR"
    CRASH = "CRASH"
    TIMEOUT = "TIMEOUT"
    SKIPPED = "SKIPPED"
    FALLBACK = "FALLBACK"
    NOT_APPLICABLE = "NOT_APPLICABLE"
    XFAIL = "XFAIL"
    XPASS = "XPASS"

    def __str__(self) -> str:
        return self.value


# Results that leave a run green: the product works, fails as documented, or could not be tried here.
OK_STATUSES = frozenset({Status.PASS, Status.XFAIL, Status.SKIPPED, Status.NOT_APPLICABLE})

# Failures an expectation may claim; SKIPPED / NOT_APPLICABLE are not outcomes of the product.
FAILURE_STATUSES = frozenset(
    {
        Status.NUMERIC_MISMATCH,
        Status.SHAPE_MISMATCH,
        Status.DTYPE_MISMATCH,
        Status.OUTPUT_COUNT_MISMATCH,
        Status.EXPORT_ERROR,
        Status.INVALID_MODEL,
        Status.LOAD_ERROR,
        Status.RUN_ERROR,
        Status.CRASH,
        Status.TIMEOUT,
        Status.FALLBACK,
    }
)

# Report order: worst news first, so the eye lands on it.
DISPLAY_ORDER = [
    Status.XPASS,
    Status.CRASH,
    Status.TIMEOUT,
    Status.FALLBACK,
    Status.NUMERIC_MISMATCH,
    Status.SHAPE_MISMATCH,
    Status.DTYPE_MISMATCH,
    Status.OUTPUT_COUNT_MISMATCH,
    Status.RUN_ERROR,
    Status.LOAD_ERROR,
    Status.INVALID_MODEL,
    Status.EXPORT_ERROR,
    Status.XFAIL,
    Status.SKIPPED,
    Status.NOT_APPLICABLE,
    Status.PASS,
]


def is_ok(status: str | Status) -> bool:
    return Status(status) in OK_STATUSES
