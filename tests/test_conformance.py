"""The conformance matrix as pytest tests: one test per (case, exporter, mode, runtime).

Each test reads its results from the shared smoke run and maps their statuses to an outcome.
"""
import pytest

from cases import preset_cases
from verdict.status import DISPLAY_ORDER, PYTEST_FAIL as FAIL, PYTEST_SKIP as SKIP, PYTEST_XFAIL as XFAIL, pytest_outcome as outcome
from cases.modes import MODES
from conformance.runner import DEFAULT_RUNTIMES
from exporters import EXPORTERS

SEVERITY = {s.value: i for i, s in enumerate(DISPLAY_ORDER)}

PARAMS = [
    pytest.param(case.id, exporter, mode, runtime, id=f"{case.id}-{exporter}-{mode}-{runtime}")
    for case in preset_cases("smoke")
    if not case.invalid_reason()
    for exporter in EXPORTERS
    for mode in MODES
    for runtime in DEFAULT_RUNTIMES
]


@pytest.mark.parametrize("case_id, exporter, mode, runtime", PARAMS)
def test_conformance(smoke_run, case_id, exporter, mode, runtime):
    records = [
        r for r in smoke_run["results"]
        if (r.case, r.exporter, "dynamic" if r.dynamic else "static", r.runtime) == (case_id, exporter, mode, runtime)
    ]
    assert records, "no result recorded"
    worst = min(records, key=lambda r: SEVERITY[r.status])
    detail = f"{worst.status.value} at run shape {worst.run_shape} ({worst.stage}): {worst.message[:160]}"
    verdict = outcome(worst.status)
    if verdict == SKIP:
        pytest.skip(detail)
    if verdict == XFAIL:
        pytest.xfail(f"{detail} — {worst.expectation.link}")
    if verdict == FAIL:
        pytest.fail(detail, pytrace=False)
