"""python -m conformance run | report | list."""
from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

from conformance.runner import DEFAULT_RUNTIMES, DEFAULT_STAGE_TIMEOUT, MODES, RunOptions, UsageError

PROG = "python -m conformance"

# Further subcommands: each module has register(subparsers), which adds its parser with
# set_defaults(handler=...). Raising UsageError there gives the one-line exit-2 error.
COMMAND_MODULES: list[str] = ["conformance.diff", "conformance.baseline", "conformance.merge", "conformance.trend", "conformance.corpus", "conformance.run_corpus"]


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2: argparse's usage dump buries the point
        raise UsageError(f"{message} (see '{self.prog} --help')")


def csv_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def build_parser() -> argparse.ArgumentParser:
    from exporters import DEFAULT_OPSET, EXPORTERS

    parser = _Parser(prog=PROG, description="Which torch.nn.LSTM configurations survive ONNX export and run correctly where.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="export, run, compare; write results.jsonl and report.html")
    run.set_defaults(handler=_run)
    run.add_argument("--preset", default="default", help="smoke | default | full (default: default)")
    run.add_argument("--case", action="append", default=[], metavar="FIELD=V,...",
                     help="an explicit case instead of a preset, e.g. 'num_layers=2,proj_size=3' (repeatable)")
    run.add_argument("-k", action="append", default=[], metavar="SUBSTRING", dest="select",
                     help="keep cases whose id contains SUBSTRING (repeatable: any of)")
    run.add_argument("--out", default="conformance-out", help="run directory (default: conformance-out)")
    run.add_argument("--exporters", type=csv_list, default=list(EXPORTERS), help=f"comma list (default: {','.join(EXPORTERS)})")
    run.add_argument("--modes", type=csv_list, default=list(MODES), help="static,dynamic (default: both)")
    run.add_argument("--runtimes", type=csv_list, default=list(DEFAULT_RUNTIMES),
                     help=f"comma list: built-ins, plugins, ort:<ExecutionProvider>, module:Class (default: {','.join(DEFAULT_RUNTIMES)})")
    run.add_argument("--runtime-option", action="append", default=[], metavar="RUNTIME:KEY=VALUE",
                     help="a runtime setting, e.g. 'ort-cpu:graph_optimization_level=disable' or a provider option (repeatable)")
    run.add_argument("--runtime-config", default=None, metavar="FILE.toml",
                     help='runtime settings as TOML tables: [runtime."ort:OpenVINOExecutionProvider"] device_type = "CPU"')
    run.add_argument("--opset", type=int, default=DEFAULT_OPSET, help=f"ONNX opset to export (default: {DEFAULT_OPSET})")
    run.add_argument("--jobs", "-j", type=int, default=None, help="worker processes (default: number of cores)")
    run.add_argument("--timeout", type=float, default=DEFAULT_STAGE_TIMEOUT, help=f"seconds per stage before TIMEOUT (default: {DEFAULT_STAGE_TIMEOUT:g})")
    run.add_argument("--cache-dir", default=None, help="export cache (default: ~/.cache/lstm-onnx-conformance/exports)")
    run.add_argument("--no-cache", action="store_true", help="export every model afresh")
    run.add_argument("--keep-models", action="store_true", help="keep every model under OUT/models, not just failing ones")
    run.add_argument("--expectations", default=None, help="expectations TOML (default: cases/expectations.toml)")
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

    listing = sub.add_parser("list", help="list the cases of a preset, or the runtimes")
    listing.set_defaults(handler=_list)
    listing.add_argument("--preset", default="default")
    listing.add_argument("-k", action="append", default=[], dest="select", metavar="SUBSTRING")
    listing.add_argument("--runtimes", action="store_true", help="list runtimes and whether they can run here")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(sub)
    return parser


def _run(args) -> int:
    options = RunOptions(
        preset=args.preset, cases=args.case, select=args.select, exporters=args.exporters, modes=args.modes,
        runtimes=args.runtimes, opset=args.opset, timeout=args.timeout, cache_dir=args.cache_dir,
        no_cache=args.no_cache, keep_models=args.keep_models, rtol=args.rtol, atol=args.atol,
        shard=args.shard, baseline=args.baseline, eager_cuda=args.eager_cuda,
    )
    options.runtime_options = _runtime_options(args.runtime_config, args.runtime_option)
    if args.jobs is not None:
        options.jobs = args.jobs
    if args.expectations:
        options.expectations = args.expectations
    from conformance.runner import run

    out = args.resume or args.out
    start = time.monotonic()
    summary = run(options, out, resume=bool(args.resume), overwrite=args.overwrite, progress=not args.no_progress)
    counts = ", ".join(f"{s} {n}" for s, n in sorted(summary.counts.items()))
    print(f"{sum(summary.counts.values())} results in {time.monotonic() - start:.0f}s: {counts}")
    print(f"results: {summary.results_path}\nreport:  {summary.report_path}")
    return summary.exit_code


def _runtime_options(config: str | None, items: list[str]) -> dict[str, dict]:
    """Settings from the config file first, then from the command line (which wins)."""
    import tomllib

    settings: dict[str, dict] = {}
    if config:
        try:
            table = tomllib.loads(Path(config).read_text()).get("runtime", {})
        except OSError as exc:
            raise UsageError(f"cannot read runtime config {config}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise UsageError(f"runtime config {config} is not valid TOML: {exc}") from None
        if not isinstance(table, dict) or not all(isinstance(v, dict) for v in table.values()):
            raise UsageError(f"runtime config {config}: expected tables [runtime.\"NAME\"] of key = value")
        settings = {name: {k: str(v) for k, v in values.items()} for name, values in table.items()}
    for item in items:
        head, eq, value = item.partition("=")
        runtime, sep, key = head.rpartition(":")  # runtime names may hold ':' themselves (ort:<Provider>)
        if not (sep and runtime and eq and key.strip()):
            raise UsageError(f"--runtime-option {item!r} is not of the form RUNTIME:KEY=VALUE")
        settings.setdefault(runtime, {})[key.strip()] = value.strip()
    return settings


def _report(args) -> int:
    from conformance.runner import exit_code_for, load_run
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

    cases = resolve_cases(RunOptions(preset=args.preset, select=args.select))
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
