"""The load and run stages: a runtime loads the model once, then runs it at each run shape.

What a runtime raises is the runtime's failure, LOAD_ERROR or RUN_ERROR, with its message: these are the
only places where an exception becomes a product failure rather than the suite's.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from conformance.runtimes import RuntimeHandle, RuntimeOutput
from verdict.records import error_info
from verdict.records import ErrorInfo


def load(runtime: RuntimeHandle, model_path: Path) -> tuple[Any, float, ErrorInfo | None]:
    """(session, seconds, None), or (None, seconds, error info) when the runtime cannot load the model."""
    start = time.perf_counter()
    try:
        session = runtime.load(str(model_path))
    except Exception as exc:
        return None, time.perf_counter() - start, error_info(exc)
    return session, time.perf_counter() - start, None


def run(runtime: RuntimeHandle, session: Any, feeds: dict) -> tuple[RuntimeOutput | None, float, ErrorInfo | None]:
    """(outputs, seconds, None), or (None, seconds, error info) when the runtime fails to run."""
    start = time.perf_counter()
    try:
        output = runtime.run_session(session, feeds)
    except Exception as exc:
        return None, time.perf_counter() - start, error_info(exc)
    return output, time.perf_counter() - start, None


def run_data(runtime: RuntimeHandle, session: Any, data) -> tuple[RuntimeOutput | None, float, ErrorInfo | None]:
    """Run one run shape's data (conformance.stages.export.Data): one call, or a streaming model's calls in turn, each
    fed the state the runtime itself returned from the call before; their outputs named per call."""
    if data.chunks is None:
        return run(runtime, session, data.feeds)
    from conformance.stages.export import CHUNK_MARK

    outputs, carried, seconds, last = {}, {}, 0.0, None
    for index, chunk in enumerate(data.chunks):
        last, took, error = run(runtime, session, {**chunk, **carried})
        seconds += took
        if error is not None:
            return None, seconds, error
        outputs.update({f"{name}{CHUNK_MARK}{index}": value for name, value in last.outputs.items()})
        carried = {target: last.outputs[source] for source, target in data.carry.items() if source in last.outputs}
    return RuntimeOutput(outputs, last.providers, last.placement, last.fallback), seconds, None
