import pytest

from verdict.status import (EXIT_OK, EXIT_SUITE, EXIT_UNEXPECTED, PRODUCT_FAILURES, PYTEST_FAIL, PYTEST_PASS, PYTEST_SKIP,
                            PYTEST_XFAIL, Status, did_not_run, exit_code, is_ok, observed_pass, pytest_outcome)
from records_helpers import result


@pytest.mark.parametrize(
    "status, expected",
    [
        (Status.PASS, PYTEST_PASS),
        (Status.XFAIL, PYTEST_XFAIL),
        (Status.XPASS, PYTEST_FAIL),
        (Status.SKIPPED, PYTEST_SKIP),
        (Status.NOT_APPLICABLE, PYTEST_SKIP),
        (Status.FALLBACK, PYTEST_FAIL),
        (Status.CRASH, PYTEST_FAIL),
        (Status.TIMEOUT, PYTEST_FAIL),
        (Status.NUMERIC_MISMATCH, PYTEST_FAIL),
        (Status.EXPORT_ERROR, PYTEST_FAIL),
        (Status.SUITE_ERROR, PYTEST_FAIL),
    ],
)
def test_status_maps_to_outcome(status, expected):
    assert pytest_outcome(status) == expected


def test_every_status_has_an_outcome():
    assert {pytest_outcome(s) for s in Status} == {PYTEST_PASS, PYTEST_FAIL, PYTEST_XFAIL, PYTEST_SKIP}


def test_a_suite_failure_is_no_product_failure():
    """No expectation may claim SUITE_ERROR: it is not among the failures they list."""
    assert Status.SUITE_ERROR not in PRODUCT_FAILURES


def test_the_rules():
    xpass = result(status="XPASS", raw_status="PASS")
    xfail = result(status="XFAIL", raw_status="RUN_ERROR")
    assert observed_pass(xpass) and not is_ok(xpass)
    assert not observed_pass(xfail) and is_ok(xfail)
    assert did_not_run(result(status="SKIPPED")) and did_not_run(result(status="NOT_APPLICABLE"))


def test_exit_codes():
    assert exit_code([result(), result(status="XFAIL", raw_status="RUN_ERROR")]) == EXIT_OK
    assert exit_code([result(), result(status="RUN_ERROR")]) == EXIT_UNEXPECTED
    assert exit_code([result(status="RUN_ERROR"), result(status="SUITE_ERROR")]) == EXIT_SUITE
    assert exit_code([result()], also_unexpected=True) == EXIT_UNEXPECTED
