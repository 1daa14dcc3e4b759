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
