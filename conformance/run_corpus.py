"""run-corpus: run a corpus written by export-corpus in runtimes, on a machine without torch.

Reads DIR/manifest.json, runs every test in every runtime through the same worker pool and judging loop
as `run` (a runtime that crashes or hangs gives CRASH or TIMEOUT, and the run goes on), compares with the
expected outputs stored beside the inputs, applies the corpus's expectations and writes results.jsonl
(the records of `run`; the header says "source": "corpus") and report.html. Needs onnx, numpy, jinja2,
tqdm and packaging plus the runtimes themselves: nothing imported here, now or later, imports torch. There
is no fp64 oracle here (it needs torch), so oracle_max_abs is null.
"""
from __future__ import annotations

import json
import os
import time
from collections import Counter
from pathlib import Path

from cases.expectations import ExpectationsError, load_expectations, versions_of
from cases.status import Status
from conformance.corpus_layout import FORMAT, MANIFEST, MODEL, VERSION, data_set_dir, tensor_paths
from conformance.errors import UsageError
from conformance.plan import CorpusJob
from conformance.results import ResultsWriter, make_header, prepare_out_dir, read_results
from conformance.runner import DEFAULT_STAGE_TIMEOUT, RunSummary, exit_code_for, run_work
from conformance.worker import Settings

MANIFEST_KEYS = ("exported", "expectations", "tests", "not_applicable")


def read_manifest(corpus_dir: Path) -> dict:
    """The manifest of a complete corpus, or a UsageError that says what is wrong with it."""
    path = corpus_dir / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{corpus_dir} is not a corpus: it has no {MANIFEST} (write one with export-corpus)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise UsageError(f"{path} is not a corpus manifest (no format {FORMAT!r})")
    if manifest.get("version") != VERSION:
        raise UsageError(f"{path} is corpus version {manifest.get('version')}; this suite reads version {VERSION}")
    missing_keys = [key for key in MANIFEST_KEYS if key not in manifest]
    if missing_keys:
        raise UsageError(f"{path} lacks {', '.join(missing_keys)}")
    missing = [p for test in manifest["tests"] if test["status"] == Status.PASS.value for p in _files(corpus_dir, test) if not p.exists()]
    if missing:
        more = f" (and {len(missing) - 1} more files)" if len(missing) > 1 else ""
        raise UsageError(f"corpus {corpus_dir} is incomplete: {missing[0]} is missing{more}")
    return manifest


def _files(corpus_dir: Path, test: dict) -> list[Path]:
    test_dir = corpus_dir / test["name"]
    data_dirs = [data_set_dir(test_dir, i) for i in range(len(test["run_shapes"]))]
    tensors = [p for d in data_dirs for kind in ("input", "output") for p in tensor_paths(d, kind, len(test[kind + "s"]))]
    return [test_dir / MODEL, *tensors]


def run_corpus(corpus_dir: str | Path, runtimes: list[str], out_dir: str | Path, *, expectations: str | None = None,
               overwrite: bool = False, progress: bool = True, runtime_options: dict[str, dict] | None = None,
               jobs: int | None = None, timeout: float = DEFAULT_STAGE_TIMEOUT) -> RunSummary:
    corpus_dir, out_dir = Path(corpus_dir), Path(out_dir)
    manifest = read_manifest(corpus_dir)
    runtime_options = runtime_options or {}
    _check_runtimes(runtimes, runtime_options)
    expectations_path = Path(expectations) if expectations else corpus_dir / manifest["expectations"]
    try:
        known = load_expectations(expectations_path)
    except ExpectationsError as exc:
        raise UsageError(str(exc)) from None
    results_path = out_dir / "results.jsonl"
    if results_path.exists() and not overwrite:
        raise UsageError(f"{out_dir} already holds results; use --overwrite to replace them")
    prepare_out_dir(out_dir)
    header = make_header({"corpus": str(corpus_dir), "runtimes": runtimes, "expectations": str(expectations_path)})
    header.update(source="corpus", corpus_exported=manifest["exported"])
    work = [(CorpusJob(str(corpus_dir.resolve()), test, tuple(runtimes)), set()) for test in manifest["tests"]]
    total = sum(len(job.result_keys()) for job, _ in work)
    settings = Settings(models_dir=str(out_dir / "models"), runtime_options=runtime_options, scratch_dir=str(out_dir / ".scratch"))
    with ResultsWriter(results_path, header) as writer:
        for record in manifest["not_applicable"]:
            writer.write(record)
        run_work(work, total, settings, writer, known, versions_of(header), jobs=jobs or os.cpu_count() or 1, timeout=timeout,
                 logs_dir=out_dir / "logs", progress=progress)
    return _finish(results_path, out_dir / "report.html")


def _check_runtimes(names: list[str], options: dict[str, dict]) -> None:
    from conformance.runtimes import UnknownRuntimeError, get_runtime

    if not names:
        raise UsageError("nothing to run: --runtimes must name at least one")
    unused = sorted(set(options) - set(names))
    if unused:
        raise UsageError(f"options given for runtime(s) not in --runtimes: {', '.join(unused)}")
    try:
        for name in names:
            get_runtime(name, options.get(name))
    except UnknownRuntimeError as exc:
        raise UsageError(str(exc)) from None


def _finish(results_path: Path, report_path: Path) -> RunSummary:
    """The report and the exit code, as for `run` (no repro scripts: they would need torch)."""
    from reports import render_report

    header, results = read_results(results_path)
    render_report(header, results, report_path)
    return RunSummary(results_path, report_path, Counter(r["status"] for r in results), exit_code_for(results))


def register(subparsers) -> None:
    from conformance import arguments

    parser = subparsers.add_parser(
        "run-corpus",
        help="run a corpus from export-corpus in runtimes, without torch; write results.jsonl and report.html",
        description="Run every test of a corpus (DIR/manifest.json) in each runtime, compare with its stored expected "
                    "outputs and apply its expectations.toml. Needs no torch. Runtimes run in this process.",
    )
    parser.set_defaults(handler=_run_corpus)
    parser.add_argument("corpus", metavar="DIR", help="a corpus directory written by export-corpus")
    arguments.add_runtimes(parser)
    parser.add_argument("--out", default="corpus-out", help="run directory (default: corpus-out)")
    parser.add_argument("--expectations", default=None, help="expectations TOML (default: the corpus's own)")
    parser.add_argument("--jobs", "-j", type=int, default=None, help="worker processes (default: number of cores)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_STAGE_TIMEOUT, help=f"seconds per stage before TIMEOUT (default: {DEFAULT_STAGE_TIMEOUT:g})")
    parser.add_argument("--overwrite", action="store_true", help="replace results already in --out")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def _run_corpus(args) -> int:
    from conformance import arguments

    start = time.monotonic()
    summary = run_corpus(args.corpus, args.runtimes, args.out, expectations=args.expectations,
                         overwrite=args.overwrite, progress=not args.no_progress,
                         runtime_options=arguments.runtime_settings(args.runtime_config, args.runtime_option),
                         jobs=args.jobs, timeout=args.timeout)
    counts = ", ".join(f"{s} {n}" for s, n in sorted(summary.counts.items()))
    print(f"{sum(summary.counts.values())} results in {time.monotonic() - start:.0f}s: {counts}")
    print(f"results: {summary.results_path}\nreport:  {summary.report_path}")
    return summary.exit_code
