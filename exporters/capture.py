"""Capture everything a stage prints, at the file-descriptor level.

Exporters print from C++ (TorchScript graph dumps) and Python (Dynamo progress, warnings,
onnxscript's constant folder): sys.stdout redirection misses half of it.
"""
from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import warnings


class Captured:
    text: str = ""


@contextlib.contextmanager
def captured_output(limit: int = 20000):
    """Yields a Captured whose .text holds what fds 1 and 2 received (tail-truncated to limit)."""
    result = Captured()
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as sink, warnings.catch_warnings():
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            yield result
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
            sink.seek(0)
            text = sink.read().decode("utf-8", "replace")
            result.text = text if len(text) <= limit else "…(truncated)…\n" + text[-limit:]
