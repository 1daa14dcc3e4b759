"""The statuses, and the one set of rules every consumer reads them by.

Each result carries exactly one status. Four questions are asked of it, and they are answered here only:

- **observed pass**: did the product do the right thing? The status before expectations (`raw_status`)
  is PASS. An XPASS is an observed pass, an XFAIL is not.
- **did not run**: SKIPPED (the runtime is not available here) or NOT_APPLICABLE (not a test).
- **product failure**: an exporter, runtime or torch itself failed (EXPORT_ERROR … FALLBACK). An
  expectation may claim these: they become XFAIL.
- **suite failure**: SUITE_ERROR, the suite's own code raised. No expectation can claim it, and any run
  holding one exits 3: its verdict cannot be trusted.

Exit codes, for every command: 0 all good, 1 unexpected results, 2 bad input, 3 the suite failed.
"""
from __future__ import annotations

from enum import Enum
from typing import Iterable, Protocol


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
    FALLBACK = "FALLBACK"
    SUITE_ERROR = "SUITE_ERROR"
    SKIPPED = "SKIPPED"
    NOT_APPLICABLE = "NOT_APPLICABLE"
    XFAIL = "XFAIL"
    XPASS = "XPASS"

    def __str__(self) -> str:
        return self.value


EXIT_OK, EXIT_UNEXPECTED, EXIT_USAGE, EXIT_SUITE = 0, 1, 2, 3

# What an exporter, a runtime or torch got wrong: the failures an expectation may claim.
PRODUCT_FAILURES = frozenset(
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
SUITE_FAILURES = frozenset({Status.SUITE_ERROR})
NOT_RUN = frozenset({Status.SKIPPED, Status.NOT_APPLICABLE})
# Final statuses that leave a run green: the product works, fails as documented, or could not be tried here.
OK_STATUSES = frozenset({Status.PASS, Status.XFAIL, *NOT_RUN})

# Report order: worst news first, so the eye lands on it.
DISPLAY_ORDER = [
    Status.SUITE_ERROR,
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


class Judged(Protocol):
    """What the rules read of a result: its final status and the status observed before expectations."""

    status: Status
    raw_status: Status


def observed(result: Judged) -> Status:
    return Status(result.raw_status)


def observed_pass(result: Judged) -> bool:
    return observed(result) == Status.PASS


def did_not_run(result: Judged) -> bool:
    return Status(result.status) in NOT_RUN


def is_product_failure(status: str | Status) -> bool:
    return Status(status) in PRODUCT_FAILURES


def is_suite_failure(result: Judged) -> bool:
    return Status(result.status) in SUITE_FAILURES or observed(result) in SUITE_FAILURES


def is_failure(result: Judged) -> bool:
    """Observed failing, expected or not: a product or suite failure before expectations."""
    return observed(result) in PRODUCT_FAILURES | SUITE_FAILURES


def is_ok(result: Judged) -> bool:
    """Leaves a run green: a pass, an expected failure, or not run."""
    return Status(result.status) in OK_STATUSES


def exit_code(results: Iterable[Judged], *, also_unexpected: bool = False) -> int:
    """3 when the suite failed on any result, else 1 on anything unexpected (or when `also_unexpected`), else 0."""
    unexpected = also_unexpected
    for result in results:
        if is_suite_failure(result):
            return EXIT_SUITE
        unexpected = unexpected or not is_ok(result)
    return EXIT_UNEXPECTED if unexpected else EXIT_OK


# The pytest layer's outcomes.
PYTEST_PASS, PYTEST_FAIL, PYTEST_XFAIL, PYTEST_SKIP = "pass", "fail", "xfail", "skip"


def pytest_outcome(status: str | Status) -> str:
    status = Status(status)
    if status == Status.PASS:
        return PYTEST_PASS
    if status == Status.XFAIL:
        return PYTEST_XFAIL
    if status in NOT_RUN:
        return PYTEST_SKIP
    return PYTEST_FAIL  # every failure, the suite's own, and XPASS: an expectation that no longer holds must be updated
