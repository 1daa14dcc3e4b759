"""list: the cases of a selection, or the runtimes and whether they can run here."""
from __future__ import annotations

import sys

from conformance.commands import arguments


def register(sub) -> None:
    parser = sub.add_parser("list", help="list the cases of a selection, or the runtimes")
    parser.set_defaults(handler=handle)
    arguments.add_selection(parser)
    parser.add_argument("--runtimes", action="store_true", help="list runtimes and whether they can run here")


def handle(args) -> int:
    if args.runtimes:
        from conformance.runtimes import runtime_availability

        for name, (ok, reason) in runtime_availability().items():
            print(f"{name:12} {'available' if ok else 'unavailable: ' + reason}")
        return 0
    from conformance.plan import resolve_cases, resolve_models

    options = arguments.run_options(args)
    cases = resolve_cases(options)
    models, unbuildable = resolve_models(options)
    for case in cases:
        reason = case.invalid_reason()
        print(case.id + (f"  (not applicable: {reason})" if reason else ""))
    for model in models:
        print(f"{model.id}  ({model.source})")
    for record in unbuildable:
        print(f"{record.case}  (cannot be built: {record.message})")
    from conformance.plan import selected_node_tests

    suite_cases, onnx_names = selected_node_tests(options)
    for case in suite_cases:
        print(f"{case.id}  (node case)")
    for name in onnx_names:
        print(f"{name}  (onnx node test)")
    print(f"{len(cases)} cases, {sum(1 for c in cases if not c.invalid_reason())} applicable; {len(models) + len(unbuildable)} models; "
          f"{len(suite_cases) + len(onnx_names)} node cases", file=sys.stderr)
    return 0
