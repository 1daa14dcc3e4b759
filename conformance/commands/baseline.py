"""baseline: a slim copy of a run to keep in the repository for diffs."""
from __future__ import annotations


def register(sub) -> None:
    parser = sub.add_parser("baseline", help="write a slim copy of a run for diffs (e.g. baselines/default.jsonl.gz)")
    parser.set_defaults(handler=handle)
    parser.add_argument("run", help="results file or run directory")
    parser.add_argument("-o", "--output", required=True, metavar="BASELINE.jsonl", help="where to write the slim results file (.gz: compressed)")


def handle(args) -> int:
    from conformance.baseline import write_baseline

    path, count = write_baseline(args.run, args.output)
    print(f"baseline: {path} ({count} results, {path.stat().st_size // 1024} KiB)")
    return 0
