import pytest

from cases.status import Status
from conformance.outcomes import FAIL, PASS, SKIP, XFAIL, outcome


@pytest.mark.parametrize(
    "status, expected",
    [
        (Status.PASS, PASS),
        (Status.XFAIL, XFAIL),
        (Status.XPASS, FAIL),
        (Status.SKIPPED, SKIP),
        (Status.NOT_APPLICABLE, SKIP),
        (Status.FALLBACK, FAIL),
        (Status.CRASH, FAIL),
        (Status.TIMEOUT, FAIL),
        (Status.NUMERIC_MISMATCH, FAIL),
        (Status.EXPORT_ERROR, FAIL),
    ],
)
def test_status_maps_to_outcome(status, expected):
    assert outcome(status) == expected


def test_every_status_has_an_outcome():
    assert {outcome(s) for s in Status} == {PASS, FAIL, XFAIL, SKIP}
