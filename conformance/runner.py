"""A conformance run: plan the work, run it in isolated workers, record results, judge the run, render the report."""
from __future__ import annotations

import os
import shutil
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from cases.modes import MODES
from cases.space import PRESET_OPSETS
from conformance.plan import (CorpusJob, make_jobs, model_sources, not_applicable_records, parse_shard, preset_of, resolve_cases,
                              resolve_models, selected_node_tests, shard_jobs)
from conformance.worker import Settings
from exporters import DEFAULT_OPSET, EXPORTERS, KNOWN_OPSETS
from verdict.environment import RESULT_CODE, code_digest, package_versions
from verdict.errors import UsageError
from verdict.expectations import Expectation, Usage, apply_expectations, load_expectations, stale, usage, versions_of
from verdict.records import (Header, LocalisationRecord, Result, ResultsWriter, Run, RunOptions, incompleteness, load_run, make_header,
                             planned_of, prepare_out_dir, read_run)
from verdict.status import EXIT_SUITE, EXIT_UNEXPECTED, exit_code

DEFAULT_RUNTIMES = ["ort-cpu", "ort-cuda", "reference"]
DEFAULT_STAGE_TIMEOUT = 300.0
NODE_TESTS_DIR = "node-tests"  # where a run writes its node cases, inside the run directory


@dataclass
class RunSummary:
    results_path: Path
    report_path: Path | None
    counts: Counter
    exit_code: int
    # What the user must read beside the counts: lost results, stale expectations.
    notes: list[str] = field(default_factory=list)


def resolved(options: RunOptions) -> RunOptions:
    """The options with every default filled in: what the header records as what ran."""
    return msgspec.structs.replace(
        options,
        preset=preset_of(options),
        exporters=list(EXPORTERS) if options.exporters is None else options.exporters,
        modes=list(MODES) if options.modes is None else options.modes,
        runtimes=list(DEFAULT_RUNTIMES) if options.runtimes is None else options.runtimes,
        opsets=options.opsets or list(PRESET_OPSETS.get(preset_of(options) or "", [DEFAULT_OPSET])),
        jobs=options.jobs if options.jobs is not None else os.cpu_count() or 1,
    )


def validate(options: RunOptions, *, runtimes: bool = True) -> None:
    """Everything that can be checked before any work starts, so a typo costs nothing. `options` are resolved;
    `runtimes`: whether they name runtimes to run (export-corpus leaves them to the machine that runs the corpus)."""
    for name in options.exporters:
        if name not in EXPORTERS:
            raise UsageError(f"unknown exporter {name!r}; choose from {', '.join(EXPORTERS)}")
    for mode in options.modes:
        if mode not in MODES:
            raise UsageError(f"unknown shape mode {mode!r}; choose from {', '.join(MODES)}")
    if runtimes:
        check_runtimes(options.runtimes, options.runtime_options)
    if not (options.exporters and options.modes):
        raise UsageError("nothing to run: exporters and modes must each name at least one")
    if options.jobs < 1:
        raise UsageError(f"--jobs must be at least 1 (got {options.jobs})")
    if options.timeout <= 0:
        raise UsageError(f"--timeout must be positive (got {options.timeout})")
    outside = [o for o in options.opsets if o not in KNOWN_OPSETS]
    if outside:
        raise UsageError(f"--opsets {outside[0]} is outside what any exporter writes ({KNOWN_OPSETS.start}-{KNOWN_OPSETS.stop - 1})")
    if not resolve_cases(options) and not model_sources(options) and not any(selected_node_tests(options)):
        raise UsageError("no case matches the selection; see 'python -m conformance list'")
    resolve_models(options)  # what is wrong with a factory is found before any work starts
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


def check_runtimes(names: list[str], options: dict[str, dict]) -> None:
    """Each runtime exists and takes its options; options name no runtime that is not run."""
    from conformance.runtimes import UnknownRuntimeError, get_runtime

    if not names:
        raise UsageError("nothing to run: --runtimes must name at least one")
    unused = sorted(set(options) - set(names))
    if unused:
        raise UsageError(f"options given for runtime(s) not in --runtimes: {', '.join(unused)}")
    for name in names:
        try:
            get_runtime(name, options.get(name))
        except UnknownRuntimeError as exc:
            raise UsageError(str(exc)) from None


def check_resumable(header: Header, results_path: Path) -> None:
    """A run is resumed only by the versions and suite code that began it: one file must not mix them."""
    now, then = package_versions(), header.versions
    changed = [f"{name} {then.get(name)} → {now.get(name)}" for name in sorted(set(now) | set(then)) if now.get(name) != then.get(name)]
    if header.suite_digest is not None and header.suite_digest != code_digest(RESULT_CODE):
        changed.append("the suite's code")
    if changed:
        raise UsageError(f"cannot resume {results_path}: it was begun with other versions ({'; '.join(changed)}); "
                         "start a new run with --overwrite or another --out")


def run(options: RunOptions, out_dir: str | Path, *, resume: bool = False, overwrite: bool = False, progress: bool = True) -> RunSummary:
    out_dir = Path(out_dir)
    results_path = out_dir / "results.jsonl"
    done: set[str] = set()
    if resume:
        if not results_path.exists():
            raise UsageError(f"nothing to resume: {results_path} does not exist")
        header, existing = load_run(results_path)
        if header is None:
            raise UsageError(f"{results_path} has no run header; it cannot be resumed")
        check_resumable(header, results_path)
        options = header.options
        done = {r.key for r in existing}
    elif results_path.exists() and not overwrite:
        raise UsageError(f"{out_dir} already holds results; use --resume {out_dir} to finish that run or --overwrite to start again")
    options = resolved(options)
    validate(options)
    expectations = load_expectations(options.expectations)
    prepare_out_dir(out_dir)

    cases = resolve_cases(options)
    models, unbuildable = resolve_models(options)
    valid = [c for c in cases if not c.invalid_reason()] + models
    jobs = make_jobs(valid, options.exporters, [MODES[m] for m in options.modes], options.runtimes, options.opsets)
    jobs += node_jobs(options, out_dir / NODE_TESTS_DIR)
    shard_index = 1
    if options.shard:
        shard_index, shard_count = parse_shard(options.shard)
        jobs = shard_jobs(jobs, shard_index, shard_count)
    # Not-applicable records and models that cannot be built belong to no job: shard 1 alone writes them, so merged
    # shards hold each once.
    jobless = not_applicable_records(cases + models, options.exporters, options.opsets) + unbuildable if shard_index == 1 else []
    planned = planned_of([r.key for r in jobless] + [k for job in jobs for k in job.result_keys()])
    header = make_header(options, planned=planned)
    with ResultsWriter(results_path, None if resume else header) as writer:
        for record in jobless:
            if record.key not in done:
                writer.write(apply_expectations(record, expectations, versions_of(header)))
        work = [(job, {k for k in job.result_keys() if k in done}) for job in jobs]
        work = [(job, skip) for job, skip in work if len(skip) < len(job.result_keys())]
        total = sum(len(job.result_keys()) - len(skip) for job, skip in work)
        if work:
            settings = Settings(
                models_dir=str(out_dir / "models"),
                cache_dir=None if options.no_cache else (options.cache_dir or str(_default_cache_dir())),
                keep_models=options.keep_models,
                tolerances=options.tolerances,
                runtime_options=options.runtime_options,
                scratch_dir=str(out_dir / ".scratch"),
                eager_cuda=options.eager_cuda,
            )
            run_work(work, total, settings, writer, expectations, versions_of(header), jobs=options.jobs, timeout=options.timeout,
                     logs_dir=out_dir / "logs", progress=progress)
        localise_clusters(results_path, writer, options, out_dir / "models")
    return finish(results_path, out_dir / "report.html", options, just_ran=True)


def node_jobs(options: RunOptions, node_dir: Path) -> list[CorpusJob]:
    """The selection's node cases (conformance.plan.selected_node_tests), written as a corpus under the run directory
    (afresh, also on resume: the same files) and run as corpus tests: no exporter, their stored expected outputs."""
    import tempfile

    from conformance.corpus import write_node_tests

    suite_cases, onnx_names = selected_node_tests(options)
    if not (suite_cases or onnx_names):
        return []
    shutil.rmtree(node_dir, ignore_errors=True)
    node_dir.mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix="lstm-node-tests-") as workdir:
        tests = write_node_tests(node_dir, suite_cases, onnx_names, Path(workdir))
    return [CorpusJob(str(node_dir.resolve()), test, tuple(options.runtimes)) for test in tests]


def localise_clusters(results_path: Path, writer: ResultsWriter, options: RunOptions, models_dir: Path) -> None:
    """The first diverging node of each failure cluster's first result, appended to the results (conformance.localise)."""
    from conformance.localise import localise_failures

    for key, localisation in localise_failures(read_run(results_path).results, options, models_dir, timeout=options.timeout).items():
        writer.write(LocalisationRecord(key=key, localisation=localisation))


def _default_cache_dir() -> Path:
    from conformance.cache import default_cache_dir

    return default_cache_dir()


def run_work(work: list, total: int, settings: Settings, writer: ResultsWriter, expectations: list[Expectation], versions: dict, *,
             jobs: int, timeout: float, logs_dir: Path, progress: bool) -> None:
    """Run (work, keys already done) pairs in isolated workers; write each result, judged, as it comes.

    `versions` are the package versions expectations are checked against (verdict.expectations.versions_of).
    The one judging loop of `run` and `run-corpus`: CRASH and TIMEOUT isolation for both.
    """
    from tqdm import tqdm

    from conformance.pool import WorkerPool

    jobs = max(1, min(jobs, len(work)))
    if settings.scratch_dir:
        os.makedirs(settings.scratch_dir, exist_ok=True)
    counts: Counter = Counter()
    with tqdm(total=total, unit="result", disable=not progress, dynamic_ncols=True, desc="conformance") as bar:

        def emit(raw: Result) -> None:
            result = apply_expectations(raw, expectations, versions)
            writer.write(result)
            counts[result.status.value] += 1
            bar.update(1)
            bar.set_postfix_str(" ".join(f"{s}={n}" for s, n in sorted(counts.items())), refresh=False)

        try:
            WorkerPool(jobs, settings, logs_dir, timeout).run(work, emit)
        finally:
            if settings.scratch_dir:
                shutil.rmtree(settings.scratch_dir, ignore_errors=True)


@dataclass
class Judgement:
    """The verdict of a whole run, beyond its results' statuses."""

    exit_code: int
    notes: list[str]
    usage: list[Usage]
    diff: object | None = None  # conformance.diff.RunDiff against the baseline
    incomplete: str | None = None  # what is missing of the planned results


def judge_run(run: Run, expectations: list[Expectation], *, baseline: Run | None = None, baseline_label: str = "",
              label: str = "", strict_expectations: bool = False) -> Judgement:
    """Exit code and notes of a run: its results (3 on a suite failure, 1 on an unexpected one), missing planned
    results (1), stale expectations (1 with `strict_expectations`), and the diff against `baseline` if given."""
    from conformance.diff import diff_runs

    header, results = run
    notes = []
    report = usage(expectations, results, versions_of(header))
    lost = incompleteness(header, results)
    if lost:
        notes.append(f"results are missing: {lost}")
    for entry in stale(report):
        notes.append(f"expectation {entry.id} matched nothing: {entry.why}")
    run_diff = diff_runs(baseline, run, base_label=baseline_label, new_label=label, expectations=expectations) if baseline else None
    fixes = {change.key for change in run_diff.upstream_fixes} if run_diff else set()
    code = exit_code((r for r in results if r.key not in fixes),
                     also_unexpected=bool(lost) or bool(strict_expectations and stale(report)) or bool(run_diff and run_diff.exit_code))
    if run_diff and run_diff.exit_code == EXIT_SUITE:
        code = EXIT_SUITE
    return Judgement(code, notes, report, run_diff, lost)


def finish(results_path: Path, report_path: Path | None, options: RunOptions, *, just_ran: bool = False) -> RunSummary:
    """The report (with the diff against the options' baseline, if any), the exit code and the notes.

    A regression against the baseline fails the run like an unexpected failure does. An upstream fix (a
    baseline XFAIL now XPASS) does not: the diff lists it with the expectation to retire, and it stays XPASS.
    """
    from reports import render_report

    recorded = read_run(results_path)
    expectations = load_expectations(options.expectations)
    # Judged afresh by these expectations: a report with other expectations than the run's says what they say.
    run = Run(recorded.header, [apply_expectations(r, expectations, versions_of(recorded.header)) for r in recorded.results])
    baseline = load_run(options.baseline) if options.baseline else None
    judgement = judge_run(run, expectations, baseline=baseline, baseline_label=options.baseline or "", label=str(results_path),
                          strict_expectations=options.strict_expectations)
    if judgement.incomplete and just_ran:
        # The run has just finished: a planned result that did not come back was lost by the suite itself.
        judgement.exit_code = EXIT_SUITE
    if report_path is not None:
        render_report(run.header, run.results, report_path, diff=judgement.diff, usage=judgement.usage)
    return RunSummary(results_path, report_path, Counter(r.status.value for r in run.results), judgement.exit_code, judgement.notes)


def report_results(path: str | Path, output: Path, *, expectations: str | None = None, strict_expectations: bool = False) -> RunSummary:
    """The report of a results file, judged as its run was (its expectations file, where it still exists here)."""
    path = Path(path)
    results_path = path / "results.jsonl" if path.is_dir() else path
    header = load_run(results_path).header
    options = header.options if header else RunOptions()
    recorded = options.expectations if options.expectations and Path(options.expectations).exists() else None
    options = msgspec.structs.replace(options, expectations=expectations or recorded, baseline=None,
                                      strict_expectations=strict_expectations)
    try:
        return finish(results_path, output, options)
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror}") from None


def print_summary(summary: RunSummary, seconds: float | None = None) -> None:
    counts = ", ".join(f"{s} {n}" for s, n in sorted(summary.counts.items()))
    took = f" in {seconds:.0f}s" if seconds is not None else ""
    print(f"{sum(summary.counts.values())} results{took}: {counts}")
    for note in summary.notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"results: {summary.results_path}" + (f"\nreport:  {summary.report_path}" if summary.report_path else ""))
