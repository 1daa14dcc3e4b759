"""upstream: an issue draft, with a standalone repro, per failure cluster no upstream issue explains yet."""
from __future__ import annotations


def register(sub) -> None:
    parser = sub.add_parser("upstream", help="write a Markdown issue draft with a standalone repro per unexpected or not-yet-linked "
                                             "failure cluster of a run")
    parser.set_defaults(handler=handle)
    parser.add_argument("run", help="results file or run directory")
    parser.add_argument("cluster", nargs="?", default=None,
                        help="one cluster's id (as this command prints them), drafted whether or not it is linked; default: "
                             "every unexpected cluster and every expected one whose expectations link no upstream issue")
    parser.add_argument("-o", "--out", default="upstream-drafts", metavar="DIR",
                        help="where the drafts go, one folder per cluster (default: upstream-drafts)")


def handle(args) -> int:
    from pathlib import Path

    from conformance.upstream import drafts
    from verdict.errors import UsageError
    from verdict.records import load_run, prepare_out_dir

    header, results = load_run(args.run)
    out = Path(args.out)
    if out.exists() and any(out.iterdir()):
        raise UsageError(f"{out} is not empty; choose another with --out (drafts are never overwritten)")
    prepare_out_dir(out)
    written = drafts(header, results, out, args.cluster)
    for draft in written:
        print(f"{draft.id}  {draft.count:5d} result(s)  {draft.title}")
    print(f"{len(written)} draft(s) in {out}" if written else "no cluster needs a draft: every failure is expected and linked upstream")
    return 0
