"""Known upstream failures as data (cases/expectations.toml): a claimed failure is XFAIL, a claimed pass XPASS.

The rules, in one place:
- **Claiming.** An entry claims a result when every `when` condition and every `versions` condition holds.
  The first entry in file order that claims a result decides it: XFAIL when the observed status is one
  the entry lists (and, for an entry with a `max_abs` bound, the error is within it), XPASS when the
  result passed, and otherwise the observed failure stays, unexpected, with the entry named beside it.
  So put narrow entries before wide ones.
- **Typed conditions.** Each `when` key names a fact of known type (a case field, a node case's
  parameter, a result coordinate, a runtime setting); every value is checked against that type when
  the file is loaded, and a bad one is an error naming the entry. A fact a result does not have
  matches nothing, except the literal "<missing>".
- **Bounds.** An entry that explains a precision or rounding difference states the largest error it
  explains (`max_abs = "<=2e-2"`); past that the failure is not absorbed.
- **Staleness.** An entry that claimed nothing in a run that covered it (a case meeting its case
  conditions, and each other condition met by some result) is stale: retire it or narrow it
  (verdict.expectations.usage; `--strict-expectations` fails on it).
- SUITE_ERROR, SKIPPED and NOT_APPLICABLE are never claimed.
"""
from __future__ import annotations

import dataclasses
import operator
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import msgspec
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from cases.case import Case
from cases.models import MODEL_PARAM_TYPES
from cases.node_cases import NODE_PARAM_TYPES
from verdict.errors import UsageError
from verdict.records import ExpectationRef, Header, Result
from verdict.status import PRODUCT_FAILURES, Status, did_not_run, is_suite_failure, observed

DEFAULT_EXPECTATIONS = Path(__file__).resolve().parent.parent / "cases" / "expectations.toml"
MISSING = "<missing>"

# The facts a result offers to `when`, by type.
COORDINATE_TYPES: dict[str, type] = {
    "case": str, "exporter": str, "runtime": str, "dynamic": bool, "opset": int,
    "off_export_shape": bool,  # the run shape differs from the export shape
    "run_shape": str,  # "5x3", a packed case's "5x3xvaried"
    "lengths": str,  # a packed case's pattern of sequence lengths (cases.inputs.LENGTH_PATTERNS)
}
_TYPE_NAMES = {"str": str, "int": int, "float": float, "bool": bool}
CASE_FIELD_TYPES: dict[str, type] = {f.name: _TYPE_NAMES[str(f.type)] for f in dataclasses.fields(Case)}
PARAM_TYPES: dict[str, type] = {**NODE_PARAM_TYPES, **MODEL_PARAM_TYPES, **CASE_FIELD_TYPES}
# "runtime_options.<path>": a runtime setting recorded with the result, compared as text.
RUNTIME_OPTIONS = "runtime_options."
PARAMS = "params."
COMPARISON = re.compile(r"^\s*(>=|<=|!=|==|>|<)\s*(.+?)\s*$")
OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    ">": operator.gt, "<": operator.lt, ">=": operator.ge, "<=": operator.le, "==": operator.eq, "!=": operator.ne}
ORDERING = {">", "<", ">=", "<="}
# Packages whose version decides how a model was exported: in a corpus run they come from the machine that
# exported the corpus (the header's corpus_exported), the rest from the machine that ran it.
EXPORT_PACKAGES = ("torch", "onnxscript")
ENTRY_FIELDS = {"id", "when", "versions", "statuses", "reason", "link", "max_abs"}


class ExpectationsError(UsageError):
    pass


def fact_type(key: str) -> type | None:
    if key in COORDINATE_TYPES:
        return COORDINATE_TYPES[key]
    if key in CASE_FIELD_TYPES:
        return CASE_FIELD_TYPES[key]
    if key.startswith(PARAMS):
        return PARAM_TYPES.get(key[len(PARAMS):])
    if key.startswith(RUNTIME_OPTIONS) and len(key) > len(RUNTIME_OPTIONS):
        return str
    return None


@dataclass(frozen=True)
class Test:
    """One alternative of a condition: `operator operand`, or MISSING."""

    op: str
    operand: Any = None

    def __call__(self, value) -> bool:
        if self.op == MISSING:
            return value is None
        if value is None:
            return False
        return OPERATORS[self.op](value, self.operand)

    def __str__(self) -> str:
        return MISSING if self.op == MISSING else f"{self.op}{self.operand}"


@dataclass(frozen=True)
class Condition:
    key: str
    tests: tuple[Test, ...]  # any of

    def holds(self, facts: dict) -> bool:
        value = facts.get(self.key)
        return any(test(value) for test in self.tests)


def _parse_test(key: str, kind: type, value, where: str) -> Test:
    if value == MISSING:
        return Test(MISSING)
    if isinstance(value, str) and (m := COMPARISON.match(value)):
        op, text = m.groups()
        if op in ORDERING and kind not in (int, float):
            raise ExpectationsError(f"{where}: when.{key} = {value!r}: {op} orders numbers, and {key} is {kind.__name__}")
        return Test(op, _parse_operand(key, kind, text, where))
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if type(value) is not kind:
        raise ExpectationsError(f"{where}: when.{key} = {value!r} is {type(value).__name__}, and {key} is {kind.__name__}"
                                + (" (write true or false, without quotes)" if kind is bool else ""))
    return Test("==", value)


def _parse_operand(key: str, kind: type, text: str, where: str):
    try:
        if kind is bool:
            if text.lower() not in ("true", "false"):
                raise ValueError
            return text.lower() == "true"
        return kind(text)
    except ValueError:
        raise ExpectationsError(f"{where}: when.{key}: {text!r} is not a {kind.__name__}") from None


def _parse_bound(value, where: str) -> Test | None:
    if value is None:
        return None
    m = COMPARISON.match(value) if isinstance(value, str) else None
    if not m or m.group(1) not in ("<=", "<"):
        raise ExpectationsError(f"{where}: max_abs = {value!r} must bound the error from above, e.g. \"<=2e-2\"")
    try:
        bound = float(m.group(2))
    except ValueError:
        raise ExpectationsError(f"{where}: max_abs = {value!r}: {m.group(2)!r} is not a number") from None
    return Test(m.group(1), bound)


@dataclass(frozen=True)
class Expectation:
    id: str
    conditions: tuple[Condition, ...]
    statuses: frozenset[Status]
    reason: str
    link: str
    # package -> the versions the expectation holds for, e.g. {"torch": SpecifierSet("<2.15")}
    versions: dict[str, SpecifierSet] = field(default_factory=dict)
    # The largest error (max abs over the outputs) a NUMERIC_MISMATCH it explains may have.
    max_abs: Test | None = None

    def claims(self, facts: dict, versions: dict[str, str | None]) -> bool:
        return self.holds_for(versions) and all(c.holds(facts) for c in self.conditions)

    def holds_for(self, versions: dict[str, str | None]) -> bool:
        return all(_version_matches(versions.get(package), specifier) for package, specifier in self.versions.items())

    def explains(self, result: Result) -> bool:
        if observed(result) not in self.statuses:
            return False
        if self.max_abs is None or observed(result) != Status.NUMERIC_MISMATCH:
            return True
        return self.max_abs(worst_error(result))

    def ref(self) -> ExpectationRef:
        return ExpectationRef(id=self.id, reason=self.reason, link=self.link)


def worst_error(result: Result) -> float:
    """The largest max abs error over a result's outputs; infinite where a non-finite value differed or none was measured."""
    errors = []
    for stats in (result.outputs or {}).values():
        if stats.nonfinite_mismatches or (stats.max_abs is None and stats.status == Status.NUMERIC_MISMATCH):
            return float("inf")
        if stats.max_abs is not None:
            errors.append(stats.max_abs)
    return max(errors, default=float("inf"))


def _version_matches(installed: str | None, specifier: SpecifierSet) -> bool:
    """A package the run did not record (not installed) or whose version is not PEP 440 meets no condition.

    Pre-releases count (torch nightlies are 2.16.0.devYYYYMMDD); a local label does not (2.13.0+cpu is 2.13.0).
    """
    try:
        return installed is not None and specifier.contains(Version(installed), prereleases=True)
    except InvalidVersion:
        return False


def versions_of(header: Header | None) -> dict[str, str | None]:
    """The package versions that judge a run's results, by canonical name, from its header.

    A corpus run (run-corpus) ran models that another machine exported: the exporter packages' versions
    are the exporting machine's, the rest (runtimes, onnx, numpy) the running machine's.
    """
    if header is None:
        return {}
    versions = dict(header.versions)
    if header.source == "corpus" and header.corpus_exported is not None:
        exported = header.corpus_exported.versions
        versions.update({name: exported.get(name) for name in EXPORT_PACKAGES})
    return canonical_versions(versions)


def canonical_versions(versions: dict[str, str | None]) -> dict[str, str | None]:
    """Package versions by canonical name (onnxruntime_gpu and onnxruntime-gpu are one package)."""
    return {canonicalize_name(name): version for name, version in versions.items()}


def load_expectations(path: str | Path | None = None) -> list[Expectation]:
    """The entries of an expectations file, checked; an ExpectationsError (exit 2) names the first bad one."""
    path = Path(path or DEFAULT_EXPECTATIONS)
    try:
        data = tomllib.loads(path.read_text())
    except OSError as exc:
        raise ExpectationsError(f"cannot read expectations file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ExpectationsError(f"expectations file {path} is not valid TOML: {exc}") from None
    entries = data.get("expectation", [])
    if not isinstance(entries, list):
        raise ExpectationsError(f"{path}: 'expectation' must be an array of tables ([[expectation]])")
    expectations, seen = [], set()
    for number, entry in enumerate(entries, 1):
        where = f"{path}: expectation #{number}" + (f" ({entry['id']})" if isinstance(entry, dict) and "id" in entry else "")
        expectations.append(_parse_entry(entry, where, seen))
    return expectations


def _parse_entry(entry, where: str, seen: set) -> Expectation:
    if not isinstance(entry, dict):
        raise ExpectationsError(f"{where} is not a table")
    missing = [k for k in ("id", "when", "statuses", "reason", "link") if k not in entry]
    if missing:
        raise ExpectationsError(f"{where} lacks {', '.join(missing)}")
    unknown_fields = sorted(set(entry) - ENTRY_FIELDS)
    if unknown_fields:
        raise ExpectationsError(f"{where}: unknown field(s) {', '.join(unknown_fields)}")
    if entry["id"] in seen:
        raise ExpectationsError(f"{where}: duplicate id {entry['id']!r}")
    seen.add(entry["id"])
    when = entry["when"]
    if not isinstance(when, dict) or not when:
        raise ExpectationsError(f"{where}: 'when' must be a non-empty table")
    conditions = []
    for key, value in when.items():
        kind = fact_type(key)
        if kind is None:
            raise ExpectationsError(f"{where}: unknown 'when' key {key!r}: a case field, params.<name>, runtime_options.<name> "
                                    f"or one of {', '.join(COORDINATE_TYPES)}")
        values = value if isinstance(value, list) else [value]
        if not values:
            raise ExpectationsError(f"{where}: when.{key} is an empty list")
        conditions.append(Condition(key, tuple(_parse_test(key, kind, v, where) for v in values)))
    statuses = entry["statuses"]
    valid = sorted(s.value for s in PRODUCT_FAILURES)
    if not isinstance(statuses, list) or not statuses or not set(statuses) <= set(valid):
        raise ExpectationsError(f"{where}: 'statuses' must list failure statuses from {', '.join(valid)}")
    bound = _parse_bound(entry.get("max_abs"), where)
    if bound is not None and Status.NUMERIC_MISMATCH.value not in statuses:
        raise ExpectationsError(f"{where}: max_abs bounds a NUMERIC_MISMATCH, which 'statuses' does not list")
    return Expectation(entry["id"], tuple(conditions), frozenset(Status(s) for s in statuses), str(entry["reason"]),
                       str(entry["link"]), _parse_versions(entry.get("versions", {}), where), bound)


def _parse_versions(table, where: str) -> dict[str, SpecifierSet]:
    if not isinstance(table, dict):
        raise ExpectationsError(f"{where}: 'versions' must be a table such as {{ torch = \"<2.15\" }}")
    parsed = {}
    for package, specifier in table.items():
        try:
            if not isinstance(specifier, str) or not specifier.strip():
                raise InvalidSpecifier(specifier)
            parsed[canonicalize_name(package)] = SpecifierSet(specifier)
        except InvalidSpecifier:
            raise ExpectationsError(f"{where}: versions.{package} = {specifier!r} is not a version specifier "
                                    f"such as \"<2.15\" or \">=2.13,<2.15\"") from None
    return parsed


def facts_of(result: Result) -> dict:
    """What an expectation can match on: the case's parameters, the result's coordinates, the runtime's settings."""
    params = result.params
    run_shape = result.run_shape
    export_shape = [params.get("seq_len"), params.get("batch")]
    return {
        **params,
        **{f"{PARAMS}{k}": v for k, v in params.items()},
        **_flattened(RUNTIME_OPTIONS[:-1], result.runtime_options),
        "case": result.case,
        "exporter": result.exporter,
        "runtime": result.runtime,
        "dynamic": result.dynamic,
        "opset": result.opset,
        # A packed case's run shape also names its length pattern: only the sizes count here.
        "off_export_shape": None if run_shape is None else list(run_shape[:2]) != export_shape,
        "run_shape": "x".join(map(str, run_shape)) if run_shape else None,
        "lengths": run_shape[2] if run_shape and len(run_shape) > 2 else None,
    }


def _flattened(prefix: str, table: dict) -> dict:
    facts = {}
    for key, value in table.items():
        if isinstance(value, dict):
            facts.update(_flattened(f"{prefix}.{key}", value))
        else:
            facts[f"{prefix}.{key}"] = str(value)
    return facts


def claimant(result: Result, expectations: list[Expectation], versions: dict[str, str | None]) -> Expectation | None:
    """The first entry that claims the result (see the module's rules)."""
    facts = facts_of(result)
    return next((e for e in expectations if e.claims(facts, versions)), None)


def apply_expectations(result: Result, expectations: list[Expectation], versions: dict[str, str | None]) -> Result:
    """The result with its final status: XFAIL, XPASS or the observed one, and the claiming entry if any.

    `versions`: the package versions that produced the result, as versions_of(header) gives them.
    """
    raw = observed(result)
    if is_suite_failure(result) or did_not_run(result):
        return msgspec.structs.replace(result, status=raw, expectation=None)
    entry = claimant(result, expectations, versions)
    if entry is None:
        return msgspec.structs.replace(result, status=raw, expectation=None)
    if raw == Status.PASS:
        status = Status.XPASS
    elif entry.explains(result):
        status = Status.XFAIL
    else:
        status = raw
    return msgspec.structs.replace(result, status=status, expectation=entry.ref())


@dataclass(frozen=True)
class Usage:
    """How an entry fared in a run: `claimed` results, and whether it is "used", "stale" or "out of scope" (and why)."""

    id: str
    claimed: int
    state: str
    why: str = ""


def usage(expectations: list[Expectation], results: Iterable[Result], versions: dict[str, str | None]) -> list[Usage]:
    """Per entry: "used" (it claimed a result), "out of scope" or "stale".

    Out of scope: the run's versions are not the entry's, or no result that ran is of a case meeting all its case
    conditions (case fields, params.*, case), or no result that ran meets one of its other conditions (exporter,
    runtime, run shape, runtime settings) on its own. Stale: in scope, yet it claimed nothing; its conditions never
    meet together, or earlier entries take every result they meet (the first claim decides).
    """
    ran = [r for r in results if not did_not_run(r)]
    claimed: dict[str, int] = {}
    for result in ran:
        if result.expectation is not None:
            claimed[result.expectation.id] = claimed.get(result.expectation.id, 0) + 1
    facts: list[dict] | None = None
    report = []
    for entry in expectations:
        count = claimed.get(entry.id, 0)
        if count:
            report.append(Usage(entry.id, count, "used"))
            continue
        if not entry.holds_for(versions):
            wanted = ", ".join(f"{p} {s}" for p, s in entry.versions.items())
            report.append(Usage(entry.id, 0, "out of scope", f"holds for {wanted}; this run has "
                                + ", ".join(f"{p} {versions.get(p)}" for p in entry.versions)))
            continue
        facts = facts if facts is not None else [facts_of(r) for r in ran]
        case_conditions = [c for c in entry.conditions if is_case_fact(c.key)]
        if not any(all(c.holds(f) for c in case_conditions) for f in facts):
            report.append(Usage(entry.id, 0, "out of scope", "no case of this run meets "
                                + ", ".join(f"{c.key} {' or '.join(map(str, c.tests))}" for c in case_conditions)))
            continue
        uncovered = next((c for c in entry.conditions if not is_case_fact(c.key) and not any(c.holds(f) for f in facts)), None)
        if uncovered is not None:
            report.append(Usage(entry.id, 0, "out of scope", f"no result of this run has {uncovered.key} {' or '.join(map(str, uncovered.tests))}"))
        else:
            report.append(Usage(entry.id, 0, "stale", "this run covered its cases and each of its other conditions, yet it claimed "
                                                      "nothing: retire it, narrow it, or move it before the entry that takes its results"))
    return report


def is_case_fact(key: str) -> bool:
    """A fact of the case itself (its fields and parameters), as opposed to where and how a result ran."""
    return key == "case" or key in CASE_FIELD_TYPES or key.startswith(PARAMS)


def stale(report: list[Usage]) -> list[Usage]:
    return [u for u in report if u.state == "stale"]
