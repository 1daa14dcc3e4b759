"""A slim copy of a run to keep in the repository as the baseline of `diff` and `run --baseline`.

It keeps what a diff, a report and the expectations' version checks read: keys and coordinates, the case's
parameters (kind, packed, dtype and the rest), the opset, the runtime's settings, statuses, a clipped message,
the error type, the expectation that claimed the result, each output's status and max abs error, the header.
It drops the bulk: tracebacks, exporter logs, per-output shapes, node placement, timings.
"""
from __future__ import annotations

from pathlib import Path

import msgspec

from verdict.errors import UsageError
from verdict.records import ErrorInfo, ExpectationRef, OutputStats, Result, load_run, write_run

MESSAGE_LIMIT = 200


def slim(record: Result) -> Result:
    return Result(
        key=record.key, case=record.case, status=record.status, raw_status=record.raw_status, stage=record.stage,
        params=record.params, exporter=record.exporter, dynamic=record.dynamic, opset=record.opset, runtime=record.runtime,
        run_shape=record.run_shape, message=record.message[:MESSAGE_LIMIT],
        error=ErrorInfo(type=record.error.type, message=record.error.message[:MESSAGE_LIMIT]) if record.error else None,
        expectation=ExpectationRef(id=record.expectation.id) if record.expectation else None,
        outputs={name: OutputStats(status=o.status, max_abs=o.max_abs, nonfinite_mismatches=o.nonfinite_mismatches, yardstick=o.yardstick)
                 for name, o in record.outputs.items()} if record.outputs else None,
        runtime_options=record.runtime_options, fallback=record.fallback,
    )


def write_baseline(run: str | Path, output: str | Path) -> tuple[Path, int]:
    """The slim copy of `run` (a results file or run directory) at `output` (.jsonl, or .jsonl.gz); (path, results)."""
    header, results = load_run(run)
    try:
        path = write_run(output, header, [slim(r) for r in results])
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror}") from None
    return path, len(results)
