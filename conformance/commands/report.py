"""report: render report.html from a results file, and judge it as `run` would."""
from __future__ import annotations

from pathlib import Path

from conformance.commands import arguments


def register(sub) -> None:
    parser = sub.add_parser("report", help="render report.html from a results.jsonl; exit code as for run")
    parser.set_defaults(handler=handle)
    parser.add_argument("results", help="results.jsonl (or a run directory)")
    parser.add_argument("-o", "--output", default=None, help="HTML file (default: report.html beside the results)")
    arguments.add_expectations(parser, default="the run's own, else cases/expectations.toml")
    parser.add_argument("--strict-expectations", action="store_true", help="exit 1 when an expectation matched nothing the run covered")


def handle(args) -> int:
    from conformance.runner import print_summary, report_results

    results = Path(args.results)
    output = Path(args.output) if args.output else (results if results.is_dir() else results.parent) / "report.html"
    summary = report_results(results, output, expectations=args.expectations, strict_expectations=args.strict_expectations)
    print_summary(summary)
    return summary.exit_code
