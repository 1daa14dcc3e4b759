"""Known upstream failures as data: a matching failure is XFAIL, an unexpected pass is XPASS."""
from __future__ import annotations

import operator
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from cases.case import Case
from cases.status import FAILURE_STATUSES, Status

DEFAULT_EXPECTATIONS = Path(__file__).with_name("expectations.toml")
RESULT_KEYS = {"case", "exporter", "runtime", "dynamic", "opset", "off_export_shape", "run_shape", "lengths"}
# Open-ended keys: "runtime_options.<name>" (a runtime setting recorded with the result; nested settings
# by their path, e.g. "runtime_options.provider_options.use_tf32") and "params.<name>" (any case
# parameter, for cases that are not a Case, e.g. ONNX node cases).
PREFIXED_KEYS = ("runtime_options.", "params.")
CASE_KEYS = set(Case.__dataclass_fields__)
COMPARISON = re.compile(r"^\s*(>=|<=|!=|==|>|<)\s*(.+)$")
OPERATORS = {">": operator.gt, "<": operator.lt, ">=": operator.ge, "<=": operator.le, "==": operator.eq, "!=": operator.ne}
# Packages whose version decides how a model was exported: in a corpus run they come from the machine that
# exported the corpus (the header's corpus_exported), the rest from the machine that ran it.
EXPORT_PACKAGES = ("torch", "onnxscript")


class ExpectationsError(ValueError):
    pass


@dataclass(frozen=True)
class Expectation:
    id: str
    when: dict
    statuses: frozenset[str]
    reason: str
    link: str
    # package -> the versions the expectation holds for, e.g. {"torch": SpecifierSet("<2.15")}
    versions: dict[str, SpecifierSet] = field(default_factory=dict)

    def matches(self, facts: dict, versions: dict[str, str | None]) -> bool:
        return all(_value_matches(facts.get(key), wanted) for key, wanted in self.when.items()) and all(
            _version_matches(versions.get(package), specifier) for package, specifier in self.versions.items()
        )

    def summary(self) -> dict:
        return {"id": self.id, "reason": self.reason, "link": self.link}


def _value_matches(actual, wanted) -> bool:
    if isinstance(wanted, list):
        return any(_value_matches(actual, w) for w in wanted)
    if isinstance(wanted, str) and (m := COMPARISON.match(wanted)):
        op, operand = m.groups()
        try:
            operand_value = type(actual)(operand) if isinstance(actual, (int, float)) else operand
        except ValueError:
            return False
        try:
            return OPERATORS[op](actual, operand_value)
        except TypeError:  # a fact this result does not have (None), or of another type, is not ordered
            return False
    return actual == wanted


def _version_matches(installed: str | None, specifier: SpecifierSet) -> bool:
    """A package the run did not record (not installed) or whose version is not PEP 440 meets no condition.

    Pre-releases count (torch nightlies are 2.16.0.devYYYYMMDD); a local label does not (2.13.0+cpu is 2.13.0).
    """
    try:
        return installed is not None and specifier.contains(Version(installed), prereleases=True)
    except InvalidVersion:
        return False


def versions_of(header: dict | None) -> dict[str, str | None]:
    """The package versions that judge a run's results, by canonical name, from its results header.

    A corpus run (run-corpus) ran models that another machine exported: the exporter packages' versions
    are the exporting machine's, the rest (runtimes, onnx, numpy) the running machine's.
    """
    header = header or {}
    versions = dict(header.get("versions") or {})
    exported = (header.get("corpus_exported") or {}).get("versions") or {}
    versions.update({name: exported.get(name) for name in EXPORT_PACKAGES if "corpus_exported" in header})
    return {canonicalize_name(name): version for name, version in versions.items()}


def load_expectations(path: str | Path = DEFAULT_EXPECTATIONS) -> list[Expectation]:
    path = Path(path)
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
        where = f"{path}: expectation #{number}"
        if not isinstance(entry, dict):
            raise ExpectationsError(f"{where} is not a table")
        missing = [k for k in ("id", "when", "statuses", "reason", "link") if k not in entry]
        if missing:
            raise ExpectationsError(f"{where} lacks {', '.join(missing)}")
        unknown_fields = sorted(set(entry) - {"id", "when", "versions", "statuses", "reason", "link"})
        if unknown_fields:
            raise ExpectationsError(f"{where}: unknown field(s) {', '.join(unknown_fields)}")
        if entry["id"] in seen:
            raise ExpectationsError(f"{where}: duplicate id {entry['id']!r}")
        seen.add(entry["id"])
        when = entry["when"]
        if not isinstance(when, dict) or not when:
            raise ExpectationsError(f"{where}: 'when' must be a non-empty table")
        unknown = sorted(k for k in set(when) - RESULT_KEYS - CASE_KEYS if not k.startswith(PREFIXED_KEYS))
        if unknown:
            raise ExpectationsError(f"{where}: unknown 'when' key(s) {', '.join(unknown)}")
        statuses = entry["statuses"]
        valid = {s.value for s in FAILURE_STATUSES}
        if not isinstance(statuses, list) or not statuses or not set(statuses) <= valid:
            raise ExpectationsError(f"{where}: 'statuses' must list failure statuses from {', '.join(sorted(valid))}")
        expectations.append(Expectation(entry["id"], when, frozenset(statuses), str(entry["reason"]), str(entry["link"]),
                                        _parse_versions(entry.get("versions", {}), where)))
    return expectations


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


def facts_of(record: dict) -> dict:
    """What an expectation can match on: the case fields plus the result's coordinates."""
    params = record.get("params") or {}
    export_shape = [params.get("seq_len"), params.get("batch")]
    run_shape = record.get("run_shape")
    return {
        **params,
        **{f"params.{k}": v for k, v in params.items()},
        **_flattened("runtime_options", record.get("runtime_options") or {}),
        "case": record.get("case"),
        "exporter": record.get("exporter"),
        "runtime": record.get("runtime"),
        "dynamic": record.get("dynamic"),
        "opset": record.get("opset"),
        # A packed case's run shape also names its length pattern: only the sizes count here.
        "off_export_shape": run_shape is not None and list(run_shape[:2]) != export_shape,
        "run_shape": "x".join(map(str, run_shape or [])) or None,
        # A packed case's pattern of sequence lengths at this run (cases.inputs.LENGTH_PATTERNS).
        "lengths": run_shape[2] if run_shape and len(run_shape) > 2 else None,
    }


def _flattened(prefix: str, table: dict) -> dict:
    facts = {}
    for key, value in table.items():
        facts[f"{prefix}.{key}"] = value
        if isinstance(value, dict):
            facts.update(_flattened(f"{prefix}.{key}", value))
    return facts


def apply_expectations(record: dict, expectations: list[Expectation], versions: dict[str, str | None]) -> dict:
    """Set status to XFAIL / XPASS where an expectation matches; keep the observed one as raw_status.

    `versions`: the package versions that produced the record, as versions_of(header) gives them.
    """
    raw = Status(record["raw_status"])
    facts = facts_of(record)
    for expectation in expectations:
        if not expectation.matches(facts, versions):
            continue
        if raw.value in expectation.statuses:
            return {**record, "status": Status.XFAIL.value, "expectation": expectation.summary()}
        if raw == Status.PASS:
            return {**record, "status": Status.XPASS.value, "expectation": expectation.summary()}
    return {**record, "status": raw.value, "expectation": None}
