"""Faults planted in the suite's own code, in every process of a run (the parent and its spawned workers).

Python imports `sitecustomize` at start-up from the path; tests put this directory on PYTHONPATH and choose the
fault with LSTM_CONFORMANCE_PLANT:
- compare-raises: the comparator raises on its second call in each process (a bug in the suite's judging code);
- eager-hangs: torch eager hangs (the eager stage, not the runtime under test, must be charged with it).
"""
import os
import time

FAULT = os.environ.get("LSTM_CONFORMANCE_PLANT", "")

if FAULT == "compare-raises":
    import verdict.compare

    _compare, _calls = verdict.compare.compare, []

    def compare(*args, **kwargs):
        _calls.append(None)
        if len(_calls) == 2:
            raise ZeroDivisionError("planted: the comparator divides by zero")
        return _compare(*args, **kwargs)

    verdict.compare.compare = compare

elif FAULT == "eager-hangs":
    import cases.torch_model

    def eager_outputs(*args, **kwargs):
        time.sleep(3600)

    cases.torch_model.eager_outputs = eager_outputs
