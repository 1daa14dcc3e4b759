"""What changed between two runs: regressions, lost results, new failures, fixes, status changes, numeric drift,
environment, and the expectations the new run left unused.

Results are matched by their `key`. The diff fails (exit 1) on:
- a regression: a result that was ok (verdict.status.is_ok) and now is not;
- numeric drift: an output's max abs error grew more than the drift factor (counted from one unit of the
  dtype's precision, so rounding noise is not drift);
- a new failure: a result the baseline does not hold, and not ok;
- a lost result: one the baseline holds that the new run selected but does not hold, or a new run that
  lacks results it planned.
It exits 3 when the new run holds a suite failure (SUITE_ERROR). An upstream fix (an expected failure that
now passes, as XPASS or as PASS where a version condition already lets it go) is no regression: it is listed
with the expectation that no longer holds. Needs only the results files: no torch.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import msgspec

from cases.dtypes import DTYPES
from verdict.expectations import Expectation, Usage, stale, usage, versions_of
from conformance.plan import in_selection
from verdict.records import JUDGING_OPTIONS, Header, Result, Run, incompleteness
from verdict.status import EXIT_OK, EXIT_SUITE, EXIT_UNEXPECTED, Status, is_ok, is_suite_failure, observed

DEFAULT_DRIFT_FACTOR = 10.0
# The header sections that describe where and how a run happened.
ENVIRONMENT_SECTIONS = ("versions", "onnxruntime_build", "onnxruntime_providers", "numerics_env", "platform", "git_commit", "git_dirty",
                        "suite_digest", "options")


def environment_of(header: Header | None) -> dict[str, object]:
    """The header's environment as flat 'section.field' -> value pairs (options: those that decide the results)."""
    flat: dict[str, object] = {}
    if header is None:
        return flat

    def walk(prefix: str, value) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}", inner)
        elif isinstance(value, list):
            flat[prefix] = ", ".join(" ".join(map(str, v.values())) if isinstance(v, dict) else str(v) for v in value)
        else:
            flat[prefix] = value

    data = msgspec.to_builtins(header)
    for section in ENVIRONMENT_SECTIONS:
        if section in data:
            value = data[section]
            walk(section, {k: v for k, v in value.items() if k in JUDGING_OPTIONS} if section == "options" else value)
    return flat


def describe(record: Result) -> str:
    """Status as shown in a diff: XFAIL[RUN_ERROR] says which failure the expectation absorbed."""
    status, raw = record.status, observed(record)
    return status.value if raw == status else f"{status.value}[{raw.value}]"


def max_errors(record: Result) -> dict[str, float]:
    return {name: stats.max_abs for name, stats in (record.outputs or {}).items() if stats.max_abs is not None}


def drift_of(base: Result, new: Result, factor: float) -> str | None:
    """The output whose max abs error grew the most beyond `factor`, described; None when none did."""
    # Below one unit of the dtype's precision an error is rounding noise: growth is measured from there,
    # so an exact 0 becoming one ulp is not drift.
    dtype = DTYPES.get(new.params.get("dtype")) or DTYPES.get(base.params.get("dtype"))
    floor = dtype.epsilon if dtype else 0.0
    base_errors, worst = max_errors(base), None
    for name, after in max_errors(new).items():
        if name not in base_errors:
            continue
        before = base_errors[name]
        reference = max(before, floor)
        if after <= factor * reference:
            continue
        growth = after / reference if reference else float("inf")
        if worst is None or growth > worst[0]:
            worst = (growth, f"{name} max abs {before:.2e} → {after:.2e} (×{growth:.3g})")
    return worst[1] if worst else None


@dataclass
class Change:
    key: str
    before: str
    after: str
    detail: str
    expectation: str | None = None  # upstream fixes: the id of the expectation the baseline result matched


@dataclass
class Retirement:
    """An expectation that upstream fixes no longer match: the results it claims that now pass, the failures it still holds."""
    expectation: str
    fixed: list[Change]
    held: int

    @property
    def advice(self) -> str:
        passing = f"{len(self.fixed)} result{'s' * (len(self.fixed) != 1)} it claims now pass (XPASS)"
        if self.held:
            return f"{passing}, {self.held} failure{'s' * (self.held != 1)} it still holds: narrow it (a version condition, a narrower 'when')"
        return f"{passing}, it holds no failure now: retire it, or give it a version condition if older versions still fail"


@dataclass
class RunDiff:
    base_label: str
    new_label: str
    drift_factor: float
    regressions: list[Change] = field(default_factory=list)  # ok -> not ok
    lost: list[Change] = field(default_factory=list)  # in the baseline and in the new run's selection, but not in the new run
    new_failures: list[Change] = field(default_factory=list)  # not in base, not ok
    upstream_fixes: list[Change] = field(default_factory=list)  # XFAIL -> observed PASS (XPASS or PASS)
    fixes: list[Change] = field(default_factory=list)  # not ok -> ok
    status_changes: list[Change] = field(default_factory=list)  # any other change of (observed) status
    drift: list[Change] = field(default_factory=list)  # same verdict, max abs error grew > drift_factor
    added: int = 0
    removed: list[Change] = field(default_factory=list)  # only in the baseline, outside the new run's selection
    incomplete: str | None = None  # the new run lacks results it planned
    suite_failures: int = 0  # SUITE_ERROR results in the new run
    environment: list[tuple[str, object, object]] = field(default_factory=list)  # (field, base, new)
    still_held: dict[str, int] = field(default_factory=dict)  # expectation id -> XFAIL results it holds in the new run
    unused: list[Usage] = field(default_factory=list)  # expectations stale in the new run

    @property
    def exit_code(self) -> int:
        if self.suite_failures:
            return EXIT_SUITE
        failed = self.regressions or self.drift or self.new_failures or self.lost or self.incomplete
        return EXIT_UNEXPECTED if failed else EXIT_OK

    def sections(self) -> list[tuple[str, str, str, list[Change]]]:
        """(id, name, title, changes) in reading order: what broke first."""
        return [
            ("regressions", "regressions", "Regressions (was ok, now fails)", self.regressions),
            ("lost", "lost", "Lost results (in the baseline and selected, but not in this run)", self.lost),
            ("drift", "drift", f"Numeric drift (max abs error grew more than {self.drift_factor:g}×)", self.drift),
            ("new-failures", "new failures", "New results that fail (not in the baseline)", self.new_failures),
            ("upstream-fixes", "upstream fixes", "Upstream fixes (expected failure, now passes)", self.upstream_fixes),
            ("fixes", "fixes", "Fixes (failed, now ok)", self.fixes),
            ("status-changes", "status changes", "Other status changes", self.status_changes),
            ("removed", "not selected", "Only in the baseline, outside this run's selection", self.removed),
        ]

    def expectations_to_retire(self) -> list[Retirement]:
        """The expectations that upstream fixes left claiming passes (XPASS), by id. One that still holds
        failures is to be narrowed (e.g. with a version condition), not deleted."""
        claimed: dict[str, list[Change]] = {}
        for change in self.upstream_fixes:
            if change.after.startswith(Status.XPASS.value):
                claimed.setdefault(change.expectation or "?", []).append(change)
        return [Retirement(expectation, fixed, self.still_held.get(expectation, 0)) for expectation, fixed in sorted(claimed.items())]

    def count(self, name: str, changes: list[Change]) -> str:
        text = f"{len(changes)} {name}"
        if changes is self.upstream_fixes and changes:
            text += f" ({len(self.expectations_to_retire())} expectations to retire)"
        return text

    def summary(self) -> str:
        counts = ", ".join(self.count(name, changes) for _, name, _, changes in self.sections())
        extra = "".join([f"; INCOMPLETE: {self.incomplete}" if self.incomplete else "",
                         f"; {self.suite_failures} SUITE_ERROR" if self.suite_failures else "",
                         f"; {len(self.unused)} stale expectations" if self.unused else ""])
        return f"{counts}, {self.added} added{extra}; exit {self.exit_code}"


def diff_runs(base: Run, new: Run, *, drift_factor: float = DEFAULT_DRIFT_FACTOR, base_label: str = "base", new_label: str = "new",
              expectations: list[Expectation] | None = None) -> RunDiff:
    (base_header, base_results), (new_header, new_results) = base, new
    diff = RunDiff(str(base_label), str(new_label), drift_factor)
    before = {r.key: r for r in base_results}
    after = {r.key: r for r in new_results}
    for key, record in after.items():
        diff.suite_failures += is_suite_failure(record)
        old = before.get(key)
        if old is None:
            diff.added += 1
            if not is_ok(record):
                diff.new_failures.append(Change(key, "absent", describe(record), record.message))
            continue
        change = Change(key, describe(old), describe(record), record.message)
        was_ok, now_ok = is_ok(old), is_ok(record)
        if old.status == Status.XFAIL and observed(record) == Status.PASS:
            change.expectation = old.expectation.id if old.expectation else None
            change.detail = f"expectation {change.expectation} no longer holds" if change.expectation else "expected failure now passes"
            diff.upstream_fixes.append(change)
        elif was_ok and not now_ok:
            diff.regressions.append(change)
        elif now_ok and not was_ok:
            diff.fixes.append(change)
        elif change.before != change.after:
            diff.status_changes.append(change)
        elif drift := drift_of(old, record, drift_factor):
            change.detail = drift
            diff.drift.append(change)
    selected = in_selection(new_header.producer.options) if new_header else (lambda result: True)
    runtimes = set(new_header.options.runtimes or ()) if new_header else None
    for key, record in before.items():
        if key in after:
            continue
        gone = Change(key, describe(record), "absent", "")
        in_new_selection = selected(record) and (runtimes is None or record.runtime in (None, *runtimes))
        (diff.lost if in_new_selection else diff.removed).append(gone)
    diff.incomplete = incompleteness(new_header, new_results)
    for record in new_results:
        if record.status == Status.XFAIL and record.expectation:
            diff.still_held[record.expectation.id] = diff.still_held.get(record.expectation.id, 0) + 1
    if expectations is not None:
        diff.unused = stale(usage(expectations, new_results, versions_of(new_header)))
    base_env, new_env = environment_of(base_header), environment_of(new_header)
    diff.environment = [
        (name, base_env.get(name), new_env.get(name))
        for name in dict.fromkeys([*base_env, *new_env])
        if base_env.get(name) != new_env.get(name)
    ]
    return diff


def format_text(diff: RunDiff) -> str:
    lines = [f"diff {diff.base_label} → {diff.new_label}: {diff.summary()}"]
    if diff.environment:
        lines.append("environment:")
        lines += [f"  {name}: {base} → {new}" for name, base, new in diff.environment]
    if retire := diff.expectations_to_retire():
        lines.append(f"Expectations to retire: {len(retire)}")
        lines += [f"  {r.expectation}: {r.advice}" for r in retire]
    if diff.unused:
        lines.append(f"Expectations that matched nothing in the new run: {len(diff.unused)}")
        lines += [f"  {u.id}: {u.why}" for u in diff.unused]
    for _, _, title, changes in diff.sections():
        if changes:
            lines.append(f"{title}: {len(changes)}")
            lines += [f"  {c.key}  {c.before} → {c.after}" + (f"  {c.detail}" if c.detail else "") for c in changes]
    return "\n".join(lines)


def diff_files(base: str, new: str, *, drift_factor: float = DEFAULT_DRIFT_FACTOR, output: str | None = None,
               expectations: str | None = None) -> RunDiff:
    """The diff of two results files or run directories; with `output`, also as an HTML page."""
    from reports import render_diff
    from verdict.errors import UsageError
    from verdict.expectations import load_expectations
    from verdict.records import load_run

    if drift_factor <= 1:
        raise UsageError(f"--drift-factor must be greater than 1 (got {drift_factor:g})")
    diff = diff_runs(load_run(base), load_run(new), drift_factor=drift_factor, base_label=base, new_label=new,
                     expectations=load_expectations(expectations))
    if output:
        try:
            render_diff(diff, output)
        except OSError as exc:
            raise UsageError(f"cannot write {output}: {exc.strerror}") from None
    return diff
