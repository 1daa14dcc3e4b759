"""trend: pass rates over several runs, and the failures that appeared or disappeared with which versions."""
from __future__ import annotations


def register(sub) -> None:
    parser = sub.add_parser("trend", help="pass rate per runtime and per exporter over several runs, as an HTML chart, "
                                          "and which failures appeared or disappeared with which versions")
    parser.set_defaults(handler=handle)
    parser.add_argument("runs", nargs="+", help="results files or run directories, in any order")
    parser.add_argument("-o", "--output", default="trend.html", help="HTML file (default: trend.html)")


def handle(args) -> int:
    from reports.trend import describe_transition, write_trend

    runs, transitions = write_trend(args.runs, args.output)
    for transition in transitions:
        print(describe_transition(transition))
    print(f"trend: {args.output} ({len(runs)} runs, {runs[0][1].started} to {runs[-1][1].started})")
    return 0
