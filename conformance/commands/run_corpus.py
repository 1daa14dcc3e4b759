"""run-corpus: run a corpus (export-corpus's, or any ONNX backend-test directory) in runtimes, without torch."""
from __future__ import annotations

import time

from conformance.commands import arguments


def register(sub) -> None:
    parser = sub.add_parser(
        "run-corpus",
        help="run a corpus (export-corpus's, or any ONNX backend-test directory) in runtimes, without torch; write "
             "results.jsonl and report.html",
        description="Run every test of a corpus in each runtime, compare with its stored expected outputs and apply the "
                    "expectations, through the same isolated worker pool as run. Needs no torch. A corpus is either one "
                    "export-corpus wrote (DIR/manifest.json, its tolerances and expectations.toml) or any ONNX backend-test "
                    "directory (one folder per test: model.onnx, test_data_set_<i>/input_<k>.pb and output_<k>.pb), such "
                    "as onnx's onnx/backend/test/data/node or the recurrent node tests `python -m cases.onnx_node_tests DIR` "
                    "writes; there the tolerances are onnx's backend-test ones (rtol 1e-3, atol 1e-7) unless --rtol/--atol "
                    "say otherwise, and the expectations are DIR/expectations.toml if present, else the suite's.",
    )
    parser.set_defaults(handler=handle)
    parser.add_argument("corpus", metavar="DIR", help="a corpus directory written by export-corpus, or an ONNX backend-test directory")
    arguments.add_runtimes(parser, default=None)
    arguments.add_judging(parser)
    arguments.add_workers(parser)
    arguments.add_expectations(parser, default="the corpus's own")
    parser.add_argument("--out", default="corpus-out", help="run directory (default: corpus-out)")
    parser.add_argument("--overwrite", action="store_true", help="replace results already in --out")


def handle(args) -> int:
    from conformance.run_corpus import run_corpus
    from conformance.runner import print_summary

    start = time.monotonic()
    summary = run_corpus(args.corpus, arguments.run_options(args), args.out, overwrite=args.overwrite, progress=not args.no_progress)
    print_summary(summary, time.monotonic() - start)
    return summary.exit_code
