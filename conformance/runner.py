"""A conformance run: plan the work, run it in isolated workers, record results, render the report."""
from __future__ import annotations

import dataclasses
import os
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from cases import KINDS, Case, InvalidCaseError, parse_case, preset_cases, select
from cases.expectations import DEFAULT_EXPECTATIONS, apply_expectations, load_expectations, versions_of
from cases.modes import MODES
from cases.space import PRESET_OPSETS, PRESETS
from cases.status import is_ok
from conformance.compare import Tolerance
from conformance.errors import UsageError
from conformance.plan import make_jobs, not_applicable_records, parse_shard, shard_jobs
from conformance.results import ResultsWriter, load_run, make_header, prepare_out_dir, read_results
from conformance.worker import Settings
from exporters import DEFAULT_OPSET, EXPORTERS, KNOWN_OPSETS

DEFAULT_RUNTIMES = ["ort-cpu", "ort-cuda", "reference"]
DEFAULT_STAGE_TIMEOUT = 300.0


@dataclass
class RunOptions:
    preset: str = "default"
    cases: list[str] = field(default_factory=list)
    select: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)  # module kinds to keep (cases.kinds.KINDS); empty: all
    exporters: list[str] = field(default_factory=lambda: list(EXPORTERS))
    modes: list[str] = field(default_factory=lambda: list(MODES))
    runtimes: list[str] = field(default_factory=lambda: list(DEFAULT_RUNTIMES))
    opsets: list[int] = field(default_factory=list)  # empty: the preset's (cases.space.PRESET_OPSETS) or DEFAULT_OPSET
    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)
    timeout: float = DEFAULT_STAGE_TIMEOUT
    cache_dir: str | None = None
    no_cache: bool = False
    keep_models: bool = False
    expectations: str = str(DEFAULT_EXPECTATIONS)
    rtol: float | None = None
    atol: float | None = None
    # runtime name -> option -> value, e.g. {"ort:OpenVINOExecutionProvider": {"device_type": "CPU"}}
    runtime_options: dict[str, dict] = field(default_factory=dict)
    shard: str | None = None  # "K/N": this run does the K-th of N deterministic slices of the work
    baseline: str | None = None  # results file or run directory whose diff the report embeds
    eager_cuda: bool = False  # also record eager-on-CUDA against eager-on-CPU differences

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "RunOptions":
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class RunSummary:
    results_path: Path
    report_path: Path | None
    counts: Counter
    exit_code: int


def resolve_cases(options: RunOptions) -> list[Case]:
    unknown_kinds = [k for k in options.kinds if k not in KINDS]
    if unknown_kinds:
        raise UsageError(f"unknown kind {unknown_kinds[0]!r}; choose from {', '.join(KINDS)}")
    if options.cases:
        try:
            cases = [parse_case(spec) for spec in options.cases]
        except InvalidCaseError as exc:
            raise UsageError(str(exc)) from None
    else:
        if options.preset not in PRESETS:
            raise UsageError(f"unknown preset {options.preset!r}; choose from {', '.join(PRESETS)}")
        cases = preset_cases(options.preset)
    return select(cases, options.select, options.kinds)


def opsets_of(options: RunOptions) -> list[int]:
    return options.opsets or list(PRESET_OPSETS.get(options.preset, [DEFAULT_OPSET]))


def validate(options: RunOptions) -> None:
    """Everything that can be checked before any work starts, so a typo costs nothing."""
    from conformance.runtimes import UnknownRuntimeError, get_runtime

    for name in options.exporters:
        if name not in EXPORTERS:
            raise UsageError(f"unknown exporter {name!r}; choose from {', '.join(EXPORTERS)}")
    for mode in options.modes:
        if mode not in MODES:
            raise UsageError(f"unknown shape mode {mode!r}; choose from {', '.join(MODES)}")
    for name in options.runtimes:
        try:
            get_runtime(name, options.runtime_options.get(name))
        except UnknownRuntimeError as exc:
            raise UsageError(str(exc)) from None
    unused = sorted(set(options.runtime_options) - set(options.runtimes))
    if unused:
        raise UsageError(f"options given for runtime(s) not in --runtimes: {', '.join(unused)}")
    if not (options.exporters and options.modes and options.runtimes):
        raise UsageError("nothing to run: exporters, modes and runtimes must each name at least one")
    if options.jobs < 1:
        raise UsageError(f"--jobs must be at least 1 (got {options.jobs})")
    if options.timeout <= 0:
        raise UsageError(f"--timeout must be positive (got {options.timeout})")
    outside = [o for o in options.opsets if o not in KNOWN_OPSETS]
    if outside:
        raise UsageError(f"--opsets {outside[0]} is outside what any exporter writes ({KNOWN_OPSETS.start}-{KNOWN_OPSETS.stop - 1})")
    if not resolve_cases(options):
        raise UsageError("no case matches the selection; see 'python -m conformance list'")
    if options.shard:
        try:
            parse_shard(options.shard)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    if options.baseline:
        load_run(options.baseline)
    if options.eager_cuda:
        import torch

        if not torch.cuda.is_available():
            raise UsageError(f"--eager-cuda needs a CUDA device, and torch {torch.__version__} sees none here")


def run(options: RunOptions, out_dir: str | Path, *, resume: bool = False, overwrite: bool = False, progress: bool = True) -> RunSummary:
    from cases.expectations import ExpectationsError

    out_dir = Path(out_dir)
    results_path = out_dir / "results.jsonl"
    done: dict[str, dict] = {}
    if resume:
        if not results_path.exists():
            raise UsageError(f"nothing to resume: {results_path} does not exist")
        header, existing = _read_for_resume(results_path)
        options = RunOptions.from_dict(header.get("options", {}))
        done = {r["key"]: r for r in existing}
    elif results_path.exists() and not overwrite:
        raise UsageError(f"{out_dir} already holds results; use --resume {out_dir} to finish that run or --overwrite to start again")
    validate(options)
    try:
        expectations = load_expectations(options.expectations)
    except ExpectationsError as exc:
        raise UsageError(str(exc)) from None
    prepare_out_dir(out_dir)

    cases = resolve_cases(options)
    valid = [c for c in cases if not c.invalid_reason()]
    opsets = opsets_of(options)
    jobs = make_jobs(valid, options.exporters, [MODES[m] for m in options.modes], options.runtimes, opsets)
    shard_index = 1
    if options.shard:
        shard_index, shard_count = parse_shard(options.shard)
        jobs = shard_jobs(jobs, shard_index, shard_count)
    # On resume the file keeps its header; the versions that judge the new results are this process's.
    header = make_header(options.to_dict())
    writer = ResultsWriter(results_path, None if resume else header)
    with writer:
        # Not-applicable records belong to no job: shard 1 alone writes them, so merged shards hold each once.
        for record in not_applicable_records(cases, options.exporters, opsets) if shard_index == 1 else []:
            if record["key"] not in done:
                writer.write(record)
        work = [(job, {k for k in job.result_keys() if k in done}) for job in jobs]
        work = [(job, skip) for job, skip in work if len(skip) < len(job.result_keys())]
        total = sum(len(job.result_keys()) - len(skip) for job, skip in work)
        if work:
            _execute(options, out_dir, work, total, expectations, versions_of(header), writer, progress)
    return finish(results_path, out_dir / "report.html", options.baseline)


def _read_for_resume(results_path: Path):
    header, existing = load_run(results_path)
    if header is None:
        raise UsageError(f"{results_path} has no run header; it cannot be resumed")
    return header, existing


def _execute(options, out_dir, work, total, expectations, versions, writer, progress) -> None:
    from conformance.cache import default_cache_dir

    cache_dir = None if options.no_cache else (options.cache_dir or str(default_cache_dir()))
    settings = Settings(
        models_dir=str(out_dir / "models"),
        cache_dir=cache_dir,
        keep_models=options.keep_models,
        tolerance=_tolerance_override(options),
        runtime_options=options.runtime_options,
        scratch_dir=str(out_dir / ".scratch"),
        eager_cuda=options.eager_cuda,
    )
    run_work(work, total, settings, writer, expectations, versions, jobs=options.jobs, timeout=options.timeout,
             logs_dir=out_dir / "logs", progress=progress)


def run_work(work: list, total: int, settings: Settings, writer: ResultsWriter, expectations: list, versions: dict, *, jobs: int,
             timeout: float, logs_dir: Path, progress: bool) -> None:
    """Run (work, keys already done) pairs in isolated workers; write each result, judged, as it comes.

    `versions` are the package versions expectations are checked against (cases.expectations.versions_of).

    The one judging loop of `run` and `run-corpus`: CRASH and TIMEOUT isolation for both.
    """
    from tqdm import tqdm

    from conformance.pool import WorkerPool

    jobs = max(1, min(jobs, len(work)))
    if settings.scratch_dir:
        os.makedirs(settings.scratch_dir, exist_ok=True)
    counts: Counter = Counter()
    with tqdm(total=total, unit="result", disable=not progress, dynamic_ncols=True, desc="conformance") as bar:

        def emit(raw: dict) -> None:
            record = apply_expectations(raw, expectations, versions)
            writer.write(record)
            counts[record["status"]] += 1
            bar.update(1)
            bar.set_postfix_str(" ".join(f"{s}={n}" for s, n in sorted(counts.items())), refresh=False)

        try:
            WorkerPool(jobs, settings, logs_dir, timeout).run(work, emit)
        finally:
            if settings.scratch_dir:
                shutil.rmtree(settings.scratch_dir, ignore_errors=True)


def _tolerance_override(options: RunOptions) -> Tolerance | None:
    if options.rtol is None and options.atol is None:
        return None
    return Tolerance(rtol=options.rtol if options.rtol is not None else 0.0, atol=options.atol if options.atol is not None else 0.0)


def exit_code_for(results: list[dict]) -> int:
    return 0 if all(is_ok(r["status"]) for r in results) else 1


def finish(results_path: Path, report_path: Path | None, baseline: str | None = None) -> RunSummary:
    """The report (with the diff against `baseline` if given) and the exit code.

    A regression against the baseline fails the run like an unexpected failure does. An upstream fix (a
    baseline XFAIL now XPASS) does not: the diff lists it with the expectation to retire, and it stays XPASS.
    """
    from conformance.diff import diff_runs
    from reports import render_report

    header, results = read_results(results_path)
    run_diff = diff_runs(load_run(baseline), (header, results), base_label=baseline, new_label=str(results_path)) if baseline else None
    if report_path is not None:
        render_report(header, results, report_path, diff=run_diff)
    upstream_fixes = {change.key for change in run_diff.upstream_fixes} if run_diff else set()
    exit_code = max(exit_code_for([r for r in results if r["key"] not in upstream_fixes]), run_diff.exit_code if run_diff else 0)
    return RunSummary(results_path, report_path, Counter(r["status"] for r in results), exit_code)
