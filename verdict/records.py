"""results.jsonl: the schema of its header and results, the result key, and reading and writing it.

A results file is a header line, then one JSON line per result, appended and flushed as produced. Every
command that writes or reads one (run, run-corpus, merge, baseline, diff, trend, report, repro) goes
through this module.

The records are msgspec Structs rather than dataclasses: decoding is typed and strict (an unknown or
renamed field, a status that does not exist or a value of the wrong type is an error naming the line,
never a silently missing value), the encoding is RFC 8259 JSON (no NaN or Infinity tokens), and a nightly
of tens of thousands of results decodes in a fraction of a second. Readers see attributes, so code that
asks for a field the schema does not have fails at once instead of reading None.

Schema history: 1 (plain dicts, before this module typed them) is read and upgraded on the fly; 2 is
written. A file of a newer schema is refused with the reason.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import math
import re
import traceback
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Literal, NamedTuple

import msgspec

from verdict.environment import (RESULT_CODE, code_digest, command_line, git_state, numerics_env, onnxruntime_build,
                                 onnxruntime_import, package_versions, platform_info)
from verdict.errors import UsageError
from verdict.status import Status
from verdict.tolerances import Tolerance, ToleranceOverrides

SCHEMA_VERSION = 2
READABLE_SCHEMAS = (1, 2)


class _Record(msgspec.Struct, kw_only=True, omit_defaults=True, forbid_unknown_fields=True):
    """Strict: a field the schema does not know is an error, not a value nobody reads."""


class ErrorInfo(_Record):
    type: str
    message: str
    text: str = ""


# Exporters and runtimes colour their messages for terminals; a result keeps the text.
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")
ERROR_TEXT_LIMIT = 20000


def error_info(exc: BaseException) -> ErrorInfo:
    """Type, first line and (bounded) full text of an exception: what a result records."""
    message = ANSI_ESCAPE.sub("", str(exc)).strip()
    text = ANSI_ESCAPE.sub("", "".join(traceback.format_exception(exc)))
    if len(text) > ERROR_TEXT_LIMIT:
        text = text[:ERROR_TEXT_LIMIT // 2] + "\n…(truncated)…\n" + text[-ERROR_TEXT_LIMIT // 2 :]
    return ErrorInfo(type=type(exc).__name__, message=message.splitlines()[0][:500] if message else type(exc).__name__, text=text)


class ExpectationRef(_Record):
    """The expectation that claimed a result (verdict.expectations)."""

    id: str
    reason: str = ""
    link: str = ""


class OutputStats(_Record):
    """One output's comparison. The error statistics are against the yardstick: torch eager in the case's dtype,
    or the fp64 oracle for fp16 and bf16 (verdict.tolerances). None where they could not be computed."""

    status: Status = Status.PASS
    expected_shape: list[int] | None = None
    actual_shape: list[int] | None = None
    expected_dtype: str | None = None
    actual_dtype: str | None = None
    tolerance: Tolerance | None = None
    yardstick: Literal["eager", "oracle"] = "eager"
    # Over the elements both sides hold finite; None where there is none.
    max_abs: float | None = None
    max_rel: float | None = None
    mismatch_fraction: float | None = None
    # The smallest atol (at the rtol used) that would have passed; None when none would (a non-finite mismatch).
    atol_to_pass: float | None = None
    # Elements where either side is NaN or infinite and the other is not the same.
    nonfinite_mismatches: int = 0
    # The runtime's, and torch eager's own, max abs error against the fp64 oracle, where there is one.
    oracle_max_abs: float | None = None
    eager_oracle_max_abs: float | None = None


class NodeDifference(_Record):
    """One tensor of a node, the failing runtime's value against the reference runtime's (conformance.localise)."""

    name: str  # the tensor's name
    # None where the two cannot be compared: a tensor one side did not return, shapes that differ.
    max_abs: float | None = None
    nonfinite_mismatches: int = 0

    @property
    def amount(self) -> str:
        text = "not compared" if self.max_abs is None else f"max abs {self.max_abs:.3g}"
        if self.nonfinite_mismatches:
            text += f", {self.nonfinite_mismatches} non-finite value(s) differ"
        return text


class Localisation(_Record):
    """The first node of a model whose outputs differ between a failing runtime and a reference runtime while all of
    its inputs agree (conformance.localise)."""

    status: Literal["found", "not found", "unavailable"]
    reference: str  # the runtime compared against
    reason: str = ""
    node: str | None = None
    op_type: str | None = None
    module: str | None = None  # the torch module path, where the exporter recorded one
    inputs: list[NodeDifference] = []
    outputs: list[NodeDifference] = []

    @property
    def headline(self) -> str:
        """One line: the node and where it came from, or why there is none."""
        if self.status == "unavailable":
            return f"cannot localise against {runtime_label(self.reference)}: {self.reason}"
        if self.status == "not found":
            return f"none: {self.reason}"
        where = f" from torch module {self.module}" if self.module else ""
        return f"{self.node or '(unnamed)'} ({self.op_type}){where}"

    def describe(self) -> str:
        """The localisation as lines for a terminal: the node, then each of its inputs' and outputs' errors."""
        lines = [f"first diverging node: {self.headline}"]
        if self.status == "found":
            lines.append(f"  compared with {runtime_label(self.reference)}" + (f": {self.reason}" if self.reason else ""))
            width = max((len(d.name) for d in (*self.inputs, *self.outputs)), default=0)
            lines += [f"  input   {d.name:<{width}}  {d.amount}" for d in self.inputs]
            lines += [f"  output  {d.name:<{width}}  {d.amount}" for d in self.outputs]
        return "\n".join(lines)


def runtime_label(name: str) -> str:
    return "onnx.reference" if name == "reference" else name


class ExportSummary(_Record):
    status: Status
    opset: int | None = None
    ops: dict[str, int] = {}
    cached: bool = False
    seconds: float = 0.0
    log: str = ""


class Result(_Record, tag="result", tag_field="record"):
    key: str
    case: str
    status: Status
    raw_status: Status
    stage: str
    params: dict[str, Any] = {}
    exporter: str | None = None
    dynamic: bool | None = None
    opset: int | None = None
    runtime: str | None = None
    run_shape: list[int | str] | None = None
    message: str = ""
    error: ErrorInfo | None = None
    expectation: ExpectationRef | None = None
    outputs: dict[str, OutputStats] | None = None
    providers: list[str] = []
    placement: dict[str, dict[str, int]] = {}
    fallback: str | None = None
    runtime_options: dict[str, Any] = {}
    export: ExportSummary | None = None
    timings: dict[str, float | bool | None] = {}
    # run --eager-cuda: eager on CUDA against eager on CPU, per output (recorded, not judged).
    eager_cuda_max_abs: dict[str, float | None] | None = None
    eager_cuda_error: str | None = None
    # The first node where the runtime diverged from a reference runtime: written after the results, as a record of its
    # own (LocalisationRecord), for the first result of each failure cluster; attached here when the file is read.
    localisation: Localisation | None = None


class LocalisationRecord(_Record, tag="localisation", tag_field="record"):
    """A line of results.jsonl that localises the result `key` (appended after the run's results)."""

    key: str
    localisation: Localisation


def result_key(case: str, exporter: str | None, dynamic: bool | None, opset: int | None, runtime: str | None,
               run_shape: Iterable | None) -> str:
    """What makes a result unique: case, exporter, shape mode, opset, runtime, run shape."""
    mode = "dynamic" if dynamic else "static"
    shape = "x".join(str(n) for n in run_shape or [])
    return "|".join(str(p) for p in (case, exporter, mode, opset, runtime, shape))


class RunOptions(_Record):
    """What a run was asked to do. The header stores them resolved (verdict: what actually ran): every list
    filled, the opsets those that ran. `resume` and `repro` read them back."""

    preset: str | None = None  # None: "default", or nothing but the models where --model names some
    cases: list[str] = []
    models: list[str] = []  # users' model factories, package.module:factory (cases.models)
    select: list[str] = []
    kinds: list[str] = []  # module kinds to keep (cases.kinds.KINDS); empty: all
    # None: the default (every exporter and mode; conformance.runner.DEFAULT_RUNTIMES; the preset's opsets).
    exporters: list[str] | None = None
    modes: list[str] | None = None
    runtimes: list[str] | None = None
    opsets: list[int] | None = None
    node_cases: bool = False  # export-corpus --node-cases
    corpus: str | None = None  # run-corpus: the corpus directory
    jobs: int | None = None
    timeout: float = 300.0
    cache_dir: str | None = None
    no_cache: bool = False
    keep_models: bool = False
    expectations: str | None = None  # None: cases/expectations.toml
    strict_expectations: bool = False
    tolerances: ToleranceOverrides = msgspec.field(default_factory=ToleranceOverrides)
    # runtime name -> option -> value, e.g. {"ort:OpenVINOExecutionProvider": {"device_type": "CPU"}}
    runtime_options: dict[str, dict[str, Any]] = {}
    shard: str | None = None  # "K/N": the K-th of N deterministic slices of the work
    baseline: str | None = None
    eager_cuda: bool = False


# The options that decide what is tested and how it is judged (the rest, such as jobs and paths, do not):
# what merge requires to match, what diff lists as changed and what tells whether a result is in a selection.
SELECTION_OPTIONS = ("preset", "cases", "models", "select", "kinds", "exporters", "modes", "opsets", "node_cases")
JUDGING_OPTIONS = (*SELECTION_OPTIONS, "runtimes", "tolerances", "runtime_options")
assert set(JUDGING_OPTIONS) <= set(RunOptions.__struct_fields__), "an option was renamed: update SELECTION_OPTIONS"


class Planned(_Record):
    """The results a run set out to produce: how many, and a digest of their keys (planned_of)."""

    count: int
    digest: str


def planned_of(keys: Iterable[str]) -> Planned:
    ordered = sorted(set(keys))
    return Planned(count=len(ordered), digest=hashlib.sha256("\n".join(ordered).encode()).hexdigest()[:32])


def incompleteness(header: "Header | None", results: list[Result]) -> str | None:
    """None when a run holds exactly the results it planned (or planned nothing it recorded); else what is off."""
    if header is None or header.planned is None:
        return None
    got = planned_of(r.key for r in results)
    if got == header.planned:
        return None
    return f"{got.count} of the {header.planned.count} planned results are here" + (
        "" if got.count < header.planned.count else ", and not the planned ones")


class Gpu(_Record):
    name: str
    driver: str = ""


class Platform(_Record):
    system: str = ""
    machine: str = ""
    cpu: str = ""
    cpu_count: int | None = None
    gpus: list[Gpu] = []


class MergedSource(_Record):
    """One run a merge joined."""

    path: str
    shard: str | None = None
    started: str = ""
    command: str = ""
    versions: dict[str, str | None] = {}
    onnxruntime_build: str = ""
    onnxruntime_providers: list[str] = []
    platform: Platform = msgspec.field(default_factory=Platform)
    git_commit: str | None = None


class Header(_Record, tag="header", tag_field="record"):
    started: str
    command: str
    options: RunOptions
    versions: dict[str, str | None]
    schema: int
    # "run"; "corpus" (run-corpus: models exported elsewhere, see corpus_exported); "export-corpus"; "merge".
    source: str = "run"
    planned: Planned | None = None
    onnxruntime_providers: list[str] = []
    onnxruntime_build: str = ""
    numerics_env: dict[str, str] = {}
    platform: Platform = msgspec.field(default_factory=Platform)
    git_commit: str | None = None
    git_dirty: bool | None = None
    suite_digest: str | None = None  # verdict.environment.code_digest(RESULT_CODE)
    corpus_exported: Header | None = None  # a corpus run: the header of the export that made the models
    merged_from: list[MergedSource] = []

    @property
    def producer(self) -> Header:
        """The header that says how the models were made: a corpus run's models were exported elsewhere."""
        return self.corpus_exported if self.source == "corpus" and self.corpus_exported else self


def make_header(options: RunOptions, *, source: str = "run", planned: Planned | None = None) -> Header:
    imported, providers = onnxruntime_import()
    versions = package_versions()
    commit, dirty = git_state()
    return Header(
        schema=SCHEMA_VERSION,
        started=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        command=command_line(),
        options=options,
        versions=versions,
        source=source,
        planned=planned,
        onnxruntime_providers=providers,
        onnxruntime_build=onnxruntime_build(versions, providers),
        numerics_env=numerics_env(),
        platform=msgspec.convert(platform_info(), Platform),
        git_commit=commit,
        git_dirty=dirty,
        suite_digest=code_digest(RESULT_CODE),
    )



class Run(NamedTuple):
    header: Header | None
    results: list[Result]


class ResultsFileError(ValueError):
    pass


_ENCODER = msgspec.json.Encoder()
_RESULT_DECODER = msgspec.json.Decoder(Result | LocalisationRecord)
_HEADER_DECODER = msgspec.json.Decoder(Header)


def encode(record: Result | Header) -> bytes:
    return _ENCODER.encode(record)


def read_run(path: str | Path) -> Run:
    """(header, results) of a results file (.jsonl, or .jsonl.gz). A torn last line (a killed writer) is ignored;
    any other bad line is a ResultsFileError that names it."""
    path = Path(path)
    try:
        data = path.read_bytes()
        if path.suffix == ".gz":
            data = gzip.decompress(data)
    except FileNotFoundError:
        raise ResultsFileError(f"results file {path} does not exist") from None
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise ResultsFileError(f"cannot read results file {path}: {exc}") from None
    lines = data.split(b"\n")
    header: Header | None = None
    schema: int | None = None
    results: list[Result] = []
    localisations: dict[str, Localisation] = {}
    last = len(lines) - 1
    for number, line in enumerate(lines):
        if not line.strip():
            continue
        where = f"{path}:{number + 1}"
        try:
            if schema is None:  # the first line: the header, or (a headerless file) a result
                raw = json.loads(line)
                if isinstance(raw, dict) and raw.get("record") == "header":
                    header, schema = _read_header(raw, line, where)
                    continue
                schema = SCHEMA_VERSION if _is_current(raw) else 1
            record = _RESULT_DECODER.decode(line) if schema == SCHEMA_VERSION else _upgrade_v1_result(json.loads(line))
            if isinstance(record, LocalisationRecord):
                localisations[record.key] = record.localisation
            else:
                results.append(record)
        except (msgspec.DecodeError, json.JSONDecodeError, UnicodeDecodeError) as exc:
            if number == last and not isinstance(exc, msgspec.ValidationError):  # no trailing newline: the writer died mid-line
                break
            raise ResultsFileError(f"{where} is not a record of a results file: {exc}") from None
        except (KeyError, TypeError, ValueError) as exc:
            raise ResultsFileError(f"{where} is not a schema-{schema} result: {exc}") from None
    if localisations:
        results = [msgspec.structs.replace(r, localisation=localisations[r.key]) if r.key in localisations else r for r in results]
    return Run(header, results)


def _is_current(raw) -> bool:
    try:
        msgspec.convert(raw, Result)
    except msgspec.ValidationError:
        return False
    return True


def _read_header(raw: dict, line: bytes, where: str) -> tuple[Header, int]:
    schema = raw.get("schema")
    if schema not in READABLE_SCHEMAS:
        newer = isinstance(schema, int) and schema > SCHEMA_VERSION
        raise ResultsFileError(f"{where}: results schema {schema!r}; this suite reads schemas {', '.join(map(str, READABLE_SCHEMAS))}"
                               + (" (written by a newer suite: update it)" if newer else ""))
    if schema == SCHEMA_VERSION:
        return _HEADER_DECODER.decode(line), schema
    return header_from_builtins(raw), schema


def header_from_builtins(raw: dict) -> Header:
    """A header as decoded JSON (a corpus manifest embeds one), of any readable schema."""
    if raw.get("schema") == SCHEMA_VERSION:
        return msgspec.convert(raw, Header)
    return _upgrade_v1_header(raw)


def result_from_builtins(raw: dict, schema: int = SCHEMA_VERSION) -> Result:
    """A result as decoded JSON (a corpus manifest lists its not-applicable ones), of a readable schema."""
    return msgspec.convert(raw, Result) if schema == SCHEMA_VERSION else _upgrade_v1_result(raw)


def load_run(path: str | Path) -> Run:
    """read_run of a results file, or of the results.jsonl in a run directory; a UsageError (exit 2) if unreadable."""
    path = Path(path)
    if path.is_dir():
        path = path / "results.jsonl"
    try:
        return read_run(path)
    except ResultsFileError as exc:
        raise UsageError(str(exc)) from None


def prepare_out_dir(out_dir: Path) -> None:
    """Create the run directory and make sure it can be written, before any work starts."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise UsageError(f"output directory {out_dir} is not writable ({exc.strerror}); choose another with --out") from None


class ResultsWriter:
    """Appends one line per record and flushes it, so a killed run loses nothing it reported."""

    def __init__(self, path: str | Path, header: Header | None = None):
        self.path = Path(path)
        if header is not None:
            self.path.write_bytes(encode(header) + b"\n")
        else:
            self._drop_torn_tail()
        self._file = self.path.open("ab")

    def _drop_torn_tail(self) -> None:
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            with self.path.open("r+b") as f:
                f.truncate(data.rfind(b"\n") + 1)

    def write(self, record: Result | LocalisationRecord) -> None:
        self._file.write(encode(record) + b"\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def write_run(path: str | Path, header: Header | None, results: Iterable[Result]) -> Path:
    """A whole results file at once (merge, baseline); .gz compresses it."""
    path = Path(path)
    lines = b"".join(encode(r) + b"\n" for r in ([header] if header else [])) + b"".join(encode(r) + b"\n" for r in results)
    path.write_bytes(gzip.compress(lines, mtime=0) if path.suffix == ".gz" else lines)
    return path


# --- schema 1: plain dicts, written before the schema was typed ---------------------------------------------

def _finite(value) -> float | None:
    return value if isinstance(value, (int, float)) and math.isfinite(value) else None


def _upgrade_v1_options(raw: dict) -> RunOptions:
    raw = dict(raw or {})
    raw.setdefault("preset", "default")
    if "opset" in raw:  # schema 1's single opset, before opsets became an axis
        raw.setdefault("opsets", [raw.pop("opset")] if raw["opset"] is not None else None)
    tolerances = {k: {"*": raw.pop(k)} for k in ("rtol", "atol") if raw.get(k) is not None}
    raw.pop("rtol", None), raw.pop("atol", None)
    raw["tolerances"] = tolerances
    known = set(RunOptions.__struct_fields__)
    return msgspec.convert({k: v for k, v in raw.items() if k in known}, RunOptions)


def _upgrade_v1_header(raw: dict) -> Header:
    platform = dict(raw.get("platform") or {})
    platform["gpus"] = [g if isinstance(g, dict) else dict(zip(("name", "driver"), (s.strip() for s in str(g).rsplit(",", 1))))
                        for g in platform.get("gpus") or []]
    exported = raw.get("corpus_exported")
    options = _upgrade_v1_options(raw.get("options") or {})
    return Header(
        started=raw.get("started", ""), command=raw.get("command", ""), options=options,
        versions=raw.get("versions") or {}, schema=1, source=raw.get("source") or "run",
        onnxruntime_providers=raw.get("onnxruntime_providers") or [], onnxruntime_build=raw.get("onnxruntime_build") or "",
        numerics_env=raw.get("numerics_env") or {},
        platform=msgspec.convert({k: v for k, v in platform.items() if k in Platform.__struct_fields__}, Platform),
        git_commit=raw.get("git_commit"), git_dirty=raw.get("git_dirty"),
        corpus_exported=_upgrade_v1_header(exported) if exported else None,
        merged_from=[msgspec.convert({k: v for k, v in m.items() if k in MergedSource.__struct_fields__}, MergedSource)
                     for m in raw.get("merged_from") or []],
    )


def _upgrade_v1_result(raw: dict) -> Result:
    raw = dict(raw)
    if raw.get("record") != "result":
        raise ValueError(f"record type {raw.get('record')!r}")
    tolerance, oracle = raw.pop("tolerance", None), raw.pop("oracle_max_abs", None) or {}
    outputs = raw.get("outputs")
    if outputs:
        upgraded = {}
        for name, stats in outputs.items():
            stats = dict(stats or {})
            for field in ("max_abs", "max_rel", "mismatch_fraction", "atol_to_pass"):
                stats[field] = _finite(stats.get(field))
            stats["tolerance"] = tolerance
            stats["oracle_max_abs"] = _finite(oracle.get(name))
            upgraded[name] = {k: v for k, v in stats.items() if k in OutputStats.__struct_fields__}
        raw["outputs"] = upgraded
    if raw.get("raw_status") is None:
        raw["raw_status"] = raw.get("status")
    if raw.get("error") is not None:  # schema-1 baselines kept the error's type alone
        raw["error"] = {"type": raw["error"].get("type") or "", "message": raw["error"].get("message") or raw.get("message") or "",
                        "text": raw["error"].get("text") or ""}
    if raw.get("expectation") is not None:
        raw["expectation"] = {k: v for k, v in raw["expectation"].items() if k in ExpectationRef.__struct_fields__}
    if raw.get("export"):
        raw["export"] = {k: v for k, v in raw["export"].items() if k in ExportSummary.__struct_fields__}
    for field in ("placement", "runtime_options", "timings"):
        if raw.get(field) is None:
            raw.pop(field, None)
    raw.setdefault("params", {})
    raw.setdefault("stage", "")
    return msgspec.convert({k: v for k, v in raw.items() if k in Result.__struct_fields__ and v is not None or k in ("stage",)}, Result)
