"""The one place statuses become test outcomes (used by the pytest layer)."""
from __future__ import annotations

from cases.status import Status

PASS, FAIL, XFAIL, SKIP = "pass", "fail", "xfail", "skip"


def outcome(status: str | Status) -> str:
    status = Status(status)
    if status == Status.PASS:
        return PASS
    if status == Status.XFAIL:
        return XFAIL
    if status in (Status.SKIPPED, Status.NOT_APPLICABLE):
        return SKIP
    return FAIL  # every failure, and XPASS: an expectation that no longer holds must be updated
