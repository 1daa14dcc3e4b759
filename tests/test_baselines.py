"""The committed baselines against the expectations: every claim about versions is measured, on both sides.

baselines/default.jsonl.gz is the default preset on the pinned torch (2.13.0), baselines/torch-2.15.0.jsonl.gz the
same on torch 2.15.0 (ort-cpu and reference); baselines/zoo.jsonl.gz and zoo-torch-2.15.0.jsonl.gz the zoo preset on each. The expectations are applied afresh to the statuses each run observed,
so the file as it stands now is what is checked.
"""
from pathlib import Path

import pytest

from verdict.expectations import apply_expectations, facts_of, load_expectations, versions_of
from verdict.records import read_run
from verdict.status import Status, is_ok, observed_pass

BASELINES = Path(__file__).resolve().parent.parent / "baselines"
EXPECTATIONS = load_expectations()


def baseline_runs() -> dict[str, tuple]:
    """file name -> (path, header, results) of each committed baseline made by `run` on this suite's schema."""
    runs = {}
    for path in sorted(BASELINES.glob("*.jsonl*")):
        header, results = read_run(path)
        if header is not None and header.source == "run" and header.schema == 2:
            runs[path.name] = (path, header, results)
    return runs


RUNS = baseline_runs()


def meets(entry, result) -> bool:
    return all(c.holds(facts_of(result)) for c in entry.conditions)


def rejudged(header, results):
    versions = versions_of(header)
    return [apply_expectations(r, EXPECTATIONS, versions) for r in results]


@pytest.mark.parametrize("preset", ["default", "zoo"])
def test_each_preset_has_baselines_on_two_torch_versions(preset):
    torches = {h.versions["torch"].split("+")[0] for _, h, _ in RUNS.values() if (h.options.preset or "default") == preset}
    assert torches >= {"2.13.0", "2.15.0"}


@pytest.mark.parametrize("name", sorted(RUNS))
def test_each_baseline_holds_no_unexpected_result_under_the_expectations(name):
    path, header, results = RUNS[name]
    unexpected = [(r.key, r.status.value) for r in rejudged(header, results) if not is_ok(r)]
    assert not unexpected, f"{path.name}: {len(unexpected)} unexpected, e.g. {unexpected[:3]}"


@pytest.mark.parametrize("entry", [e for e in EXPECTATIONS if e.versions], ids=lambda e: e.id)
def test_a_version_condition_is_measured_on_both_sides_of_its_boundary(entry):
    """Inside its range the entry claims failures it explains; outside, the results it would claim are ok, and some pass."""
    inside, outside = [], []
    for path, header, results in RUNS.values():
        if any(meets(entry, r) for r in results):  # a baseline of a preset that has the entry's configurations
            (inside if entry.holds_for(versions_of(header)) else outside).append((path, header, results))
    assert inside and outside, f"{entry.id}: no committed baseline on one side of {entry.versions}"
    for path, header, results in inside:
        claimed = [r for r in rejudged(header, results) if r.expectation and r.expectation.id == entry.id]
        assert claimed, f"{entry.id} claims nothing in {path.name}"
        assert {r.status for r in claimed} == {Status.XFAIL}, f"{entry.id} does not explain all it claims in {path.name}"
    for path, header, results in outside:
        matching = [r for r in rejudged(header, results) if meets(entry, r)]
        assert matching, f"{path.name} holds no result of {entry.id}'s configurations"
        assert all(is_ok(r) for r in matching), f"{entry.id}'s configurations fail unexpectedly in {path.name}"
        assert any(observed_pass(r) for r in matching), f"nothing {entry.id} covers passes in {path.name}: no boundary was measured"
