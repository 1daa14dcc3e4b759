"""run: export, run, compare; write results.jsonl and report.html."""
from __future__ import annotations

import time

import msgspec

from conformance.commands import arguments


def register(sub) -> None:
    parser = sub.add_parser("run", help="export, run, compare; write results.jsonl and report.html")
    parser.set_defaults(handler=handle)
    arguments.add_selection(parser)
    arguments.add_export(parser)
    arguments.add_runtimes(parser)
    arguments.add_judging(parser)
    arguments.add_workers(parser)
    parser.add_argument("--out", default="conformance-out", help="run directory (default: conformance-out)")
    parser.add_argument("--keep-models", action="store_true", help="keep every model under OUT/models, not just failing ones")
    parser.add_argument("--shard", default=None, metavar="K/N",
                        help="run the K-th of N slices of the work, balanced by expected cost (for a CI matrix; join them with 'merge')")
    parser.add_argument("--baseline", default=None, metavar="RESULTS",
                        help="results file or run directory to diff against: the report shows what changed, and a regression exits 1")
    parser.add_argument("--eager-cuda", action="store_true",
                        help="also run torch eager on CUDA and record its difference from eager on CPU per output (the reference stays on CPU)")
    parser.add_argument("--resume", metavar="DIR", default=None,
                        help="finish an interrupted run in DIR with its original options (refused if the versions changed)")
    parser.add_argument("--overwrite", action="store_true", help="replace results already in --out")


def handle(args) -> int:
    from conformance.runner import print_summary, run

    options = msgspec.structs.replace(arguments.run_options(args), keep_models=args.keep_models, shard=args.shard,
                                      baseline=args.baseline, eager_cuda=args.eager_cuda)
    start = time.monotonic()
    summary = run(options, args.resume or args.out, resume=bool(args.resume), overwrite=args.overwrite, progress=not args.no_progress)
    print_summary(summary, time.monotonic() - start)
    return summary.exit_code
