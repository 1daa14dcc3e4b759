"""python -m conformance trend RUN... -o trend.html: pass rate per runtime and per exporter over runs,
and which failures appeared or disappeared with which versions."""
from __future__ import annotations

from conformance.errors import UsageError
from conformance.results import load_run


def load_runs_in_time_order(paths: list[str]) -> list[tuple[str, dict, list[dict]]]:
    """(label, header, results) per run, ordered by the header's start time (ties keep the given order)."""
    runs = []
    for path in paths:
        header, results = load_run(path)
        if not header or not header.get("started"):
            raise UsageError(f"{path} has no run header with a start time; a trend needs to know when each run happened")
        runs.append((path, header, results))
    return sorted(runs, key=lambda run: run[1]["started"])


def register(subparsers) -> None:
    parser = subparsers.add_parser("trend", help="pass rate per runtime and per exporter over several runs, as an HTML chart, and which failures appeared or disappeared with which versions")
    parser.set_defaults(handler=_trend)
    parser.add_argument("runs", nargs="+", help="results files or run directories, in any order")
    parser.add_argument("-o", "--output", default="trend.html", help="HTML file (default: trend.html)")


def _trend(args) -> int:
    from reports import render_trend
    from reports.trend import describe_transition, failure_changes

    runs = load_runs_in_time_order(args.runs)
    try:
        render_trend(runs, args.output)
    except OSError as exc:
        raise UsageError(f"cannot write {args.output}: {exc.strerror}") from None
    for transition in failure_changes(runs):
        print(describe_transition(transition))
    print(f"trend: {args.output} ({len(runs)} runs, {runs[0][1]['started']} to {runs[-1][1]['started']})")
    return 0
