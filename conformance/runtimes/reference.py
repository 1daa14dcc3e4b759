"""onnx.reference.ReferenceEvaluator: onnx's own Python implementation, a third independent opinion."""
from __future__ import annotations

from conformance.runtimes.base import SessionRuntime


class ReferenceRuntime(SessionRuntime):
    name = "reference"

    def available(self):
        try:
            import onnx.reference  # noqa: F401
        except ImportError as exc:
            return False, f"onnx.reference not importable: {exc}"
        return True, ""

    def load(self, model_path):
        from onnx.reference import ReferenceEvaluator

        return ReferenceEvaluator(model_path)

    def run_session(self, session, feeds):
        return dict(zip(session.output_names, session.run(None, feeds)))

    def repro_source(self):
        return ("from onnx.reference import ReferenceEvaluator\n\n\n"
                "def run(model_path, feeds):\n"
                "    session = ReferenceEvaluator(model_path)\n"
                "    return dict(zip(session.output_names, session.run(None, feeds)))\n")
