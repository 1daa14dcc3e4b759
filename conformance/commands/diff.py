"""diff: what changed between two runs."""
from __future__ import annotations

import sys

from conformance.commands import arguments
from conformance.diff import DEFAULT_DRIFT_FACTOR


def register(sub) -> None:
    parser = sub.add_parser("diff", help="what changed between two runs; exit 1 on a regression, drift, a new failure or a lost result")
    parser.set_defaults(handler=handle)
    parser.add_argument("base", help="baseline: results file or run directory")
    parser.add_argument("new", help="newer run: results file or run directory")
    parser.add_argument("--drift-factor", type=float, default=DEFAULT_DRIFT_FACTOR,
                        help=f"max abs error growth that counts as drift (default: {DEFAULT_DRIFT_FACTOR:g})")
    parser.add_argument("-o", "--output", default=None, metavar="DIFF.html", help="also write the diff as an HTML page")
    arguments.add_expectations(parser)
    parser.add_argument("--strict-expectations", action="store_true",
                        help="exit 1 when an expectation matched nothing the new run covered")


def handle(args) -> int:
    from conformance.diff import diff_files, format_text

    diff = diff_files(args.base, args.new, drift_factor=args.drift_factor, output=args.output, expectations=args.expectations)
    print(format_text(diff))
    if args.output:
        print(f"diff report: {args.output}", file=sys.stderr)
    return max(diff.exit_code, int(bool(args.strict_expectations and diff.unused)))
