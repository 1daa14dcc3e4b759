"""repro: run one result of a run again and say whether it reproduces."""
from __future__ import annotations

import sys


def register(sub) -> None:
    parser = sub.add_parser("repro", help="run one result of a run again and say whether it reproduces")
    parser.set_defaults(handler=handle)
    parser.add_argument("run", help="results file or run directory")
    parser.add_argument("key", help="the result's key, as the report and results.jsonl show it")
    parser.add_argument("--keep", metavar="DIR", default=None,
                        help="also write the result as an ONNX backend test in DIR: model.onnx, inputs and torch's outputs")


def handle(args) -> int:
    from conformance.repro import reproduce

    recorded, now = reproduce(args.run, args.key, args.keep)
    print(f"result:   {args.key}")
    print(f"recorded: {recorded.raw_status.value} at {recorded.stage}: {recorded.message}")
    print(f"now:      {now.raw_status.value} at {now.stage}: {now.message}")
    if now.error:
        print(now.error.text or now.error.message, file=sys.stderr)
    reproduced = now.raw_status == recorded.raw_status
    print("reproduced" if reproduced else "NOT reproduced")
    return 0 if reproduced else 1
