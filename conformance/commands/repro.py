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
    parser.add_argument("--localize", action="store_true",
                        help="for a numeric or shape mismatch or a run error, also find the first ONNX node where the runtime "
                             "diverges from a reference runtime (onnxruntime CPU; onnx.reference for onnxruntime itself)")
    parser.add_argument("--json", action="store_true",
                        help="with --localize: print the localisation as one JSON line instead of the readable block")


def handle(args) -> int:
    from conformance.repro import reproduce, reproduce_and_localise

    localize = args.localize or args.json
    if localize:
        recorded, now, localisation = reproduce_and_localise(args.run, args.key, args.keep)
    else:
        (recorded, now), localisation = reproduce(args.run, args.key, args.keep), None
    print(f"result:   {args.key}")
    print(f"recorded: {recorded.raw_status.value} at {recorded.stage}: {recorded.message}")
    print(f"now:      {now.raw_status.value} at {now.stage}: {now.message}")
    if now.error:
        print(now.error.text or now.error.message, file=sys.stderr)
    if localisation is not None:
        import msgspec

        print(msgspec.json.encode(localisation).decode() if args.json else localisation.describe())
    reproduced = now.raw_status == recorded.raw_status
    print("reproduced" if reproduced else "NOT reproduced")
    return 0 if reproduced else 1
