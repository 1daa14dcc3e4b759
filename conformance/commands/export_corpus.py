"""export-corpus: models, inputs and expected outputs as an ONNX backend-test corpus for machines without torch."""
from __future__ import annotations

import time

import msgspec

from conformance.commands import arguments


def register(sub) -> None:
    parser = sub.add_parser(
        "export-corpus",
        help="export models, inputs and expected outputs as an ONNX backend-test corpus (run it with run-corpus, no torch needed)",
        description="Export the selected cases once and write DIR/<test>/model.onnx with test_data_set_<i>/input_<n>.pb and "
                    "output_<n>.pb (expected: torch eager; fp16 and bf16 tests also oracle_<n>.pb, the fp64 oracle) per run "
                    "shape, DIR/manifest.json and DIR/expectations.toml. Export failures are listed in the manifest, so "
                    "run-corpus reports them too. --node-cases adds ONNX LSTM, GRU and RNN node cases (ids node-lstm-*, "
                    "node-gru-*, node-rnn-*): attributes the exporters never emit (direction=reverse, peepholes, input_forget, "
                    "clip, activations, sequence_lens, layout=1, GRU linear_before_reset=0), built with onnx.helper, expected "
                    "outputs from onnx.reference; selection options do not apply to them.",
    )
    parser.set_defaults(handler=handle)
    parser.add_argument("--out", required=True, metavar="DIR", help="corpus directory (new or empty)")
    arguments.add_selection(parser)
    arguments.add_export(parser)
    parser.add_argument("--node-cases", action="store_true", help="add the ONNX LSTM, GRU and RNN node cases (node-lstm-*, node-gru-*, node-rnn-*)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def handle(args) -> int:
    from conformance.corpus import export_corpus

    options = msgspec.structs.replace(arguments.run_options(args), node_cases=args.node_cases)
    start = time.monotonic()
    counts = export_corpus(options, args.out, progress=not args.no_progress)
    summary = ", ".join(f"{status} {n}" for status, n in sorted(counts.items()))
    print(f"{sum(counts.values())} tests in {time.monotonic() - start:.0f}s: {summary}")
    print(f"corpus: {args.out} (run it with: python -m conformance run-corpus {args.out} --runtimes ...)")
    return 0
