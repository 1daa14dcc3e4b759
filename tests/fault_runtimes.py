"""Runtimes with real faults, loaded by the CLI as `tests.fault_runtimes:<Class>`."""
import os
import sys
import time

from conformance.runtimes.ort import OrtRuntime


class AbortingRuntime:
    name = "aborting"

    def available(self):
        return True, ""

    def run(self, model_path, feeds):
        print("aborting runtime: about to abort", file=sys.stderr, flush=True)
        os.abort()


class HangingRuntime:
    name = "hanging"

    def available(self):
        return True, ""

    def run(self, model_path, feeds):
        time.sleep(3600)


class SlowOrtRuntime(OrtRuntime):
    """onnxruntime CPU, a little slow per run, so a run can be killed part-way."""

    def __init__(self):
        super().__init__("CPUExecutionProvider", name="slow-ort")

    def run_session(self, state, feeds):
        time.sleep(0.3)
        return super().run_session(state, feeds)
