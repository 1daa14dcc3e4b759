"""The judge stage: a runtime's outputs against the yardstick (verdict.compare), as a finished result.

The comparator is the suite's own code: if it raises, that result is SUITE_ERROR with the traceback (in the
result and the worker's log), never a product failure an expectation could claim, and the run goes on.
"""
from __future__ import annotations

import sys
import time
import traceback

from conformance.plan import Work
from conformance.runtimes import RuntimeOutput
from verdict.records import error_info
from verdict.compare import compare
from verdict.records import Result
from verdict.status import Status


def judge(work: Work, runtime: str, shape: tuple, output: RuntimeOutput, data, source, fields: dict) -> Result:
    """`data`: the run shape's conformance.stages.export.Data; `source`: the model's source (tolerances, yardstick)."""
    start = time.perf_counter()
    try:
        comparison = compare(data.expected, output.outputs, source.tolerance_for, oracle=data.oracle,
                             judge_by_oracle=source.judge_by_oracle)
    except Exception as exc:
        return suite_error(work, runtime, shape, "compare", exc, fields)
    status = comparison.status
    if output.fallback and status == Status.PASS:
        status = Status.FALLBACK
    timings = {**fields.pop("timings", {}), "compare_s": round(time.perf_counter() - start, 4)}
    return work.result(runtime, shape, status, "compare", message=output.fallback if status == Status.FALLBACK else comparison.message,
                       outputs=comparison.outputs, providers=list(output.providers), placement=output.placement,
                       fallback=output.fallback, timings=timings, **fields)


def suite_error(work: Work, runtime: str, shape: tuple, stage: str, exc: BaseException, fields: dict) -> Result:
    """The suite's own code raised: SUITE_ERROR, loud, with the traceback in the result and in the worker's log."""
    traceback.print_exception(exc, file=sys.stderr)
    info = error_info(exc)
    fields = {k: v for k, v in fields.items() if k != "timings"}
    return work.result(runtime, shape, Status.SUITE_ERROR, stage, error=info,
                       message=f"the suite's own code failed: {info.type}: {info.message}", **fields)
