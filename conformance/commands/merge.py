"""merge: join shards, or runs of different machines, into one results file and report."""
from __future__ import annotations


def register(sub) -> None:
    parser = sub.add_parser("merge", help="join shards (or runs of different machines) into one results file and report")
    parser.set_defaults(handler=handle)
    parser.add_argument("runs", nargs="+", help="results files or run directories")
    parser.add_argument("-o", "--out", required=True, help="run directory for the merged results.jsonl and report.html")
    parser.add_argument("--allow-mismatch", action="store_true",
                        help="merge even when suite commit, torch/onnx/onnxscript versions or the selection differ")
    parser.add_argument("--overwrite", action="store_true", help="replace results already in --out")


def handle(args) -> int:
    from conformance.merge import merge_runs
    from conformance.runner import print_summary

    summary = merge_runs(args.runs, args.out, allow_mismatch=args.allow_mismatch, overwrite=args.overwrite)
    print(f"merged {len(args.runs)} runs")
    print_summary(summary)
    return summary.exit_code
