"""Runtimes that implement only the documented minimum, run(model_path, feeds), loaded by the CLI as
`tests.minimal_runtimes:<Class>`: one subclasses conformance.runtimes.Runtime, one subclasses nothing."""
import onnxruntime as ort

from conformance.runtimes import Runtime


def run_with_onnxruntime(model_path, feeds):
    session = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    return dict(zip((o.name for o in session.get_outputs()), session.run(None, feeds)))


class OnlyRun(Runtime):
    def run(self, model_path, feeds):
        return run_with_onnxruntime(model_path, feeds)


class DuckTyped:
    def run(self, model_path, feeds):
        return run_with_onnxruntime(model_path, feeds)
