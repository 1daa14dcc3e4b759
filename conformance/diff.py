"""What changed between two runs: regressions, fixes, status changes, numeric drift, environment.

Results are matched by their `key`. A regression is a result that was ok (cases.status.is_ok) and
now is not, or whose max abs error grew by more than the drift factor; `python -m conformance diff`
exits 1 when there is one. An upstream fix — an expected failure (XFAIL) that now passes, whether as
XPASS (the expectation still claims it) or PASS (a version condition already lets it go) — is no
regression: it is listed with the expectation that no longer holds. Needs only the results files: no torch.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field

from cases.dtypes import DTYPES
from cases.status import Status, is_ok
from conformance.errors import UsageError
from conformance.results import load_run

DEFAULT_DRIFT_FACTOR = 10.0
# The header sections that describe where and how a run happened.
ENVIRONMENT_SECTIONS = ("versions", "onnxruntime_build", "onnxruntime_providers", "numerics_env", "platform", "git_commit", "git_dirty", "options")
# The run options that decide what is tested and how it is judged; the others (jobs, paths, cache) do not change results.
RESULT_OPTIONS = ("preset", "cases", "select", "exporters", "modes", "runtimes", "opset", "rtol", "atol", "runtime_options")


def environment_of(header: dict | None) -> dict[str, object]:
    """The header's environment as flat 'section.field' -> value pairs, lists joined for display."""
    flat: dict[str, object] = {}

    def walk(prefix: str, value) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}", inner)
        elif isinstance(value, list):
            flat[prefix] = ", ".join(" ".join(map(str, v.values())) if isinstance(v, dict) else str(v) for v in value)
        else:
            flat[prefix] = value

    for section in ENVIRONMENT_SECTIONS:
        if section in (header or {}):
            value = header[section]
            walk(section, {k: v for k, v in (value or {}).items() if k in RESULT_OPTIONS} if section == "options" else value)
    return flat


def describe(record: dict) -> str:
    """Status as shown in a diff: XFAIL[RUN_ERROR] says which failure the expectation absorbed."""
    status, raw = record["status"], record.get("raw_status", record["status"])
    return status if raw == status else f"{status}[{raw}]"


def max_errors(record: dict) -> dict[str, float]:
    return {
        name: stats["max_abs"]
        for name, stats in (record.get("outputs") or {}).items()
        if isinstance(stats, dict) and isinstance(stats.get("max_abs"), (int, float))
    }


def drift_of(base: dict, new: dict, factor: float) -> str | None:
    """The output whose max abs error grew the most beyond `factor`, described; None when none did."""
    # Below one unit of the dtype's precision an error is rounding noise: growth is measured from there,
    # so an exact 0 becoming one ulp is not drift.
    dtype = DTYPES.get((new.get("params") or {}).get("dtype"))
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
    new_failures: list[Change] = field(default_factory=list)  # not in base, not ok
    upstream_fixes: list[Change] = field(default_factory=list)  # XFAIL -> observed PASS (XPASS or PASS)
    fixes: list[Change] = field(default_factory=list)  # not ok -> ok
    status_changes: list[Change] = field(default_factory=list)  # any other change of (observed) status
    drift: list[Change] = field(default_factory=list)  # same verdict, max abs error grew > drift_factor
    added: int = 0
    removed: list[Change] = field(default_factory=list)
    environment: list[tuple[str, object, object]] = field(default_factory=list)  # (field, base, new)
    still_held: dict[str, int] = field(default_factory=dict)  # expectation id -> XFAIL results it holds in the new run

    @property
    def exit_code(self) -> int:
        return 1 if self.regressions or self.drift else 0

    def sections(self) -> list[tuple[str, str, str, list[Change]]]:
        """(id, name, title, changes) in reading order: what broke first."""
        return [
            ("regressions", "regressions", "Regressions (was ok, now fails)", self.regressions),
            ("drift", "drift", f"Numeric drift (max abs error grew more than {self.drift_factor:g}×)", self.drift),
            ("new-failures", "new failures", "New results that fail (not in the baseline)", self.new_failures),
            ("upstream-fixes", "upstream fixes", "Upstream fixes (expected failure, now passes)", self.upstream_fixes),
            ("fixes", "fixes", "Fixes (failed, now ok)", self.fixes),
            ("status-changes", "status changes", "Other status changes", self.status_changes),
            ("removed", "removed", "Only in the baseline", self.removed),
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
        return f"{counts}, {self.added} added; exit {self.exit_code}"


def diff_runs(base: tuple[dict | None, list[dict]], new: tuple[dict | None, list[dict]], *,
              drift_factor: float = DEFAULT_DRIFT_FACTOR, base_label: str = "base", new_label: str = "new") -> RunDiff:
    (base_header, base_results), (new_header, new_results) = base, new
    diff = RunDiff(str(base_label), str(new_label), drift_factor)
    before = {r["key"]: r for r in base_results}
    after = {r["key"]: r for r in new_results}
    for key, record in after.items():
        old = before.get(key)
        if old is None:
            diff.added += 1
            if not is_ok(record["status"]):
                diff.new_failures.append(Change(key, "absent", describe(record), record.get("message") or ""))
            continue
        change = Change(key, describe(old), describe(record), record.get("message") or "")
        was_ok, now_ok = is_ok(old["status"]), is_ok(record["status"])
        if old["status"] == Status.XFAIL.value and record.get("raw_status", record["status"]) == Status.PASS.value:
            change.expectation = (old.get("expectation") or {}).get("id")
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
    diff.removed = [Change(key, describe(r), "absent", "") for key, r in before.items() if key not in after]
    for record in new_results:
        if record["status"] == Status.XFAIL.value and record.get("expectation"):
            diff.still_held[record["expectation"]["id"]] = diff.still_held.get(record["expectation"]["id"], 0) + 1
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
    for _, _, title, changes in diff.sections():
        if changes:
            lines.append(f"{title}: {len(changes)}")
            lines += [f"  {c.key}  {c.before} → {c.after}" + (f"  {c.detail}" if c.detail else "") for c in changes]
    return "\n".join(lines)


def register(subparsers) -> None:
    parser = subparsers.add_parser("diff", help="what changed between two runs; exit 1 on a regression or drift")
    parser.set_defaults(handler=_diff)
    parser.add_argument("base", help="baseline: results file or run directory")
    parser.add_argument("new", help="newer run: results file or run directory")
    parser.add_argument("--drift-factor", type=float, default=DEFAULT_DRIFT_FACTOR,
                        help=f"max abs error growth that counts as drift (default: {DEFAULT_DRIFT_FACTOR:g})")
    parser.add_argument("-o", "--output", default=None, metavar="DIFF.html", help="also write the diff as an HTML page")


def _diff(args) -> int:
    from reports import render_diff

    if args.drift_factor <= 1:
        raise UsageError(f"--drift-factor must be greater than 1 (got {args.drift_factor:g})")
    diff = diff_runs(load_run(args.base), load_run(args.new), drift_factor=args.drift_factor,
                     base_label=args.base, new_label=args.new)
    print(format_text(diff))
    if args.output:
        try:
            render_diff(diff, args.output)
        except OSError as exc:
            raise UsageError(f"cannot write {args.output}: {exc.strerror}") from None
        print(f"diff report: {args.output}", file=sys.stderr)
    return diff.exit_code
