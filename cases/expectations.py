"""Known upstream failures as data: a matching failure is XFAIL, an unexpected pass is XPASS."""
from __future__ import annotations

import operator
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from cases.case import Case
from cases.status import FAILURE_STATUSES, Status

DEFAULT_EXPECTATIONS = Path(__file__).with_name("expectations.toml")
RESULT_KEYS = {"case", "exporter", "runtime", "dynamic", "off_export_shape", "run_shape", "lengths"}
# Open-ended keys: "runtime_options.<name>" (a runtime setting recorded with the result; nested settings
# by their path, e.g. "runtime_options.provider_options.use_tf32") and "params.<name>" (any case
# parameter, for cases that are not a Case, e.g. ONNX node cases).
PREFIXED_KEYS = ("runtime_options.", "params.")
CASE_KEYS = set(Case.__dataclass_fields__)
COMPARISON = re.compile(r"^\s*(>=|<=|!=|==|>|<)\s*(.+)$")
OPERATORS = {">": operator.gt, "<": operator.lt, ">=": operator.ge, "<=": operator.le, "==": operator.eq, "!=": operator.ne}


class ExpectationsError(ValueError):
    pass


@dataclass(frozen=True)
class Expectation:
    id: str
    when: dict
    statuses: frozenset[str]
    reason: str
    link: str

    def matches(self, facts: dict) -> bool:
        return all(_value_matches(facts.get(key), wanted) for key, wanted in self.when.items())

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
        return OPERATORS[op](actual, operand_value)
    return actual == wanted


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
        expectations.append(Expectation(entry["id"], when, frozenset(statuses), str(entry["reason"]), str(entry["link"])))
    return expectations


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


def apply_expectations(record: dict, expectations: list[Expectation]) -> dict:
    """Set status to XFAIL / XPASS where an expectation matches; keep the observed one as raw_status."""
    raw = Status(record["raw_status"])
    facts = facts_of(record)
    for expectation in expectations:
        if not expectation.matches(facts):
            continue
        if raw.value in expectation.statuses:
            return {**record, "status": Status.XFAIL.value, "expectation": expectation.summary()}
        if raw == Status.PASS:
            return {**record, "status": Status.XPASS.value, "expectation": expectation.summary()}
    return {**record, "status": raw.value, "expectation": None}
