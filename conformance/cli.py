"""python -m conformance run | report | list, and the commands of COMMAND_MODULES."""
from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

from conformance import arguments
from conformance.errors import UsageError
from conformance.runner import DEFAULT_STAGE_TIMEOUT

PROG = "python -m conformance"

# Further subcommands: each module has register(subparsers), which adds its parser with
# set_defaults(handler=...). Raising UsageError there gives the one-line exit-2 error.
COMMAND_MODULES: list[str] = ["conformance.diff", "conformance.baseline", "conformance.merge", "conformance.trend", "conformance.corpus", "conformance.run_corpus", "conformance.repro"]


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2: argparse's usage dump buries the point
        raise UsageError(f"{message} (see '{self.prog} --help')")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Which recurrent-layer configurations survive ONNX export and run correctly where.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="export, run, compare; write results.jsonl and report.html")
    run.set_defaults(handler=_run)
    arguments.add_selection(run)
    arguments.add_export(run)
    arguments.add_runtimes(run)
    run.add_argument("--out", default="conformance-out", help="run directory (default: conformance-out)")
    run.add_argument("--jobs", "-j", type=int, default=None, help="worker processes (default: number of cores)")
    run.add_argument("--timeout", type=float, default=DEFAULT_STAGE_TIMEOUT, help=f"seconds per stage before TIMEOUT (default: {DEFAULT_STAGE_TIMEOUT:g})")
    run.add_argument("--keep-models", action="store_true", help="keep every model under OUT/models, not just failing ones")
    run.add_argument("--rtol", type=float, default=None, help="override the per-dtype relative tolerance")
    run.add_argument("--atol", type=float, default=None, help="override the per-dtype absolute tolerance")
    run.add_argument("--shard", default=None, metavar="K/N",
                     help="run the K-th of N slices of the work, balanced by expected cost (for a CI matrix; join them with 'merge')")
    run.add_argument("--baseline", default=None, metavar="RESULTS",
                     help="results file or run directory to diff against: the report shows what changed, and a regression exits 1")
    run.add_argument("--eager-cuda", action="store_true",
                     help="also run torch eager on CUDA and record its difference from eager on CPU per output (the reference stays on CPU)")
    run.add_argument("--resume", metavar="DIR", default=None, help="finish an interrupted run in DIR with its original options")
    run.add_argument("--overwrite", action="store_true", help="replace results already in --out")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")

    report = sub.add_parser("report", help="render report.html from a results.jsonl")
    report.set_defaults(handler=_report)
    report.add_argument("results", help="results.jsonl")
    report.add_argument("-o", "--output", default=None, help="HTML file (default: report.html beside the results)")

    listing = sub.add_parser("list", help="list the cases of a selection, or the runtimes")
    listing.set_defaults(handler=_list)
    arguments.add_selection(listing)
    listing.add_argument("--runtimes", action="store_true", help="list runtimes and whether they can run here")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(sub)
    return parser


def _run(args) -> int:
    options = arguments.run_options(args)
    options.timeout, options.keep_models, options.rtol, options.atol = args.timeout, args.keep_models, args.rtol, args.atol
    options.shard, options.baseline, options.eager_cuda = args.shard, args.baseline, args.eager_cuda
    if args.jobs is not None:
        options.jobs = args.jobs
    from conformance.runner import run

    out = args.resume or args.out
    start = time.monotonic()
    summary = run(options, out, resume=bool(args.resume), overwrite=args.overwrite, progress=not args.no_progress)
    counts = ", ".join(f"{s} {n}" for s, n in sorted(summary.counts.items()))
    print(f"{sum(summary.counts.values())} results in {time.monotonic() - start:.0f}s: {counts}")
    print(f"results: {summary.results_path}\nreport:  {summary.report_path}")
    return summary.exit_code


def _report(args) -> int:
    from conformance.results import load_run
    from conformance.runner import exit_code_for
    from reports import render_report

    header, results = load_run(args.results)
    output = Path(args.output) if args.output else Path(args.results).with_name("report.html")
    try:
        render_report(header, results, output)
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror}") from None
    print(f"report: {output} ({len(results)} results)")
    return exit_code_for(results)


def _list(args) -> int:
    if args.runtimes:
        from conformance.runtimes import get_runtime, known_runtime_names

        for name in known_runtime_names():
            ok, reason = get_runtime(name).available()
            print(f"{name:12} {'available' if ok else 'unavailable: ' + reason}")
        return 0
    from conformance.runner import resolve_cases

    cases = resolve_cases(arguments.run_options(args))
    for case in cases:
        reason = case.invalid_reason()
        print(case.id + (f"  (not applicable: {reason})" if reason else ""))
    print(f"{len(cases)} cases, {sum(1 for c in cases if not c.invalid_reason())} applicable", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return args.handler(args)
    except UsageError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; finish the run with --resume", file=sys.stderr)
        return 130
