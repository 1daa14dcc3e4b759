"""onnxruntime CPU with every graph optimisation disabled: the model's own nodes, run as written.

Beside `ort-cpu` it tells an onnxruntime kernel bug from an optimiser (fusion, constant folding,
layout) bug. It implements only the minimal plugin interface: `name`, `available()` and `run()`.
"""
from __future__ import annotations

import numpy as np


class UnoptimizedOrtRuntime:
    name = "ort-cpu-noopt"

    def available(self) -> tuple[bool, str]:
        try:
            import onnxruntime  # noqa: F401
        except ImportError as exc:
            return False, f"onnxruntime not importable: {exc}"
        return True, ""

    def run(self, model_path: str, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        session = ort.InferenceSession(model_path, sess_options=options, providers=["CPUExecutionProvider"])
        names = [output.name for output in session.get_outputs()]
        return dict(zip(names, session.run(names, feeds)))
