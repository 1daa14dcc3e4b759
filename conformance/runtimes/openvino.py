"""OpenVINO on its CPU device, reading the ONNX file directly.

The CPU plugin chooses its own inference precision: unless told otherwise it computes an fp32
model in bf16 on CPUs with native bf16 (avx512_bf16), and it silently keeps f32 where a requested
bf16 or f16 has no hardware support. The precision it actually uses is recorded with every result
(`runtime_options.inference_precision`), so a downgrade explains a numeric mismatch instead of
hiding behind it. `openvino` keeps the device defaults; `openvino-f32` asks for f32.
"""
from __future__ import annotations

from contextlib import contextmanager
from types import MappingProxyType
from typing import Mapping

from conformance.runtimes.base import SessionRuntime

DEVICE = "CPU"
PRECISION_HINT = "INFERENCE_PRECISION_HINT"
THREADS = "INFERENCE_NUM_THREADS"


def openvino_message(exc: Exception) -> str:
    """OpenVINO wraps its message in 'Exception from <file>:<line>:' lines; the message itself comes last."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__


@contextmanager
def openvino_errors():
    try:
        yield
    except RuntimeError as exc:
        raise RuntimeError(openvino_message(exc)) from exc


def onnx_output_names(read_names: list[set[str]], compiled_names: list[set[str]]) -> list[str]:
    """The ONNX name of each compiled output, in order.

    Compiling folds no-op nodes and merges the names of their tensors (an Identity's output also
    carries its input's name), so a compiled output's get_any_name() may answer an inner name. The
    model as read carries exactly the ONNX graph's output names, in the same order.
    """
    names = []
    for read, compiled in zip(read_names, compiled_names, strict=True):
        if len(read) != 1 or not read <= compiled:
            raise RuntimeError(f"cannot tell the ONNX name of compiled output {sorted(compiled)} (read as {sorted(read)})")
        names.extend(read)
    return names


def _probe_model():
    import numpy as np
    import openvino as ov
    from openvino import opset13 as ops

    x = ops.parameter([1], np.float32, name="x")
    return ov.Model([ops.relu(x)], [x], "precision-probe")


class OpenVinoRuntime(SessionRuntime):
    name = "openvino"
    # Properties this runtime sets before any the user gives (--runtime-option openvino:KEY=VALUE).
    base_properties: Mapping[str, str] = MappingProxyType({})

    def __init__(self):
        self.properties = dict(self.base_properties)
        self.threads = 0  # 0: OpenVINO's default; the runner sets 1 per worker when parallel
        self._precision: str | None = None
        self._record_options()

    def _record_options(self) -> None:
        self.options = {"device": DEVICE}
        if self.properties:
            self.options["properties"] = dict(self.properties)
        if self._precision:
            self.options["inference_precision"] = self._precision

    def configure(self, options: dict) -> None:
        """Any OpenVINO property of the CPU device, by name (e.g. INFERENCE_PRECISION_HINT=f32, EXECUTION_MODE_HINT=ACCURACY)."""
        properties = {**self.properties, **{key: str(value) for key, value in options.items()}}
        try:
            import openvino as ov
        except ImportError:
            pass  # nothing to check against: the runtime reports itself unavailable
        else:
            core = ov.Core()
            try:
                core.set_property(DEVICE, properties)
                core.get_property(DEVICE, PRECISION_HINT)  # the plugin applies (and checks) properties when first used
            except RuntimeError as exc:
                raise ValueError(f"OpenVINO {DEVICE} rejects {properties}: {openvino_message(exc)}") from None
        self.properties = properties
        self._precision = None  # resolved again with the new properties
        self._record_options()

    def available(self):
        try:
            import openvino as ov
        except ImportError as exc:
            return False, f"openvino not importable: {exc}"
        devices = ov.Core().available_devices
        if DEVICE not in devices:
            return False, f"OpenVINO {ov.get_version()} has no {DEVICE} device here (has {', '.join(devices) or 'none'})"
        try:
            self.effective_precision()
        except RuntimeError as exc:
            return False, f"OpenVINO {DEVICE} cannot compile with {self.properties}: {openvino_message(exc)}"
        return True, ""

    def effective_precision(self) -> str:
        """The inference precision the CPU plugin uses with these properties, e.g. f32, bf16 (dynamic: the model's own).

        Results record their runtime options before the first model loads, so it is read back from a
        one-op model compiled with the same properties: the plugin resolves it from the properties and
        the CPU alone (load() checks that each real model agrees).
        """
        if self._precision is None:
            self._precision = self._compiled_precision(self._compile(_probe_model()))
            self._record_options()
        return self._precision

    def _compile(self, model):
        import openvino as ov

        config = dict(self.properties)
        if self.threads and THREADS not in config:
            config[THREADS] = str(self.threads)
        return ov.Core().compile_model(model, DEVICE, config)

    @staticmethod
    def _compiled_precision(compiled) -> str:
        return compiled.get_property(PRECISION_HINT).get_type_name()

    def load(self, model_path):
        import openvino as ov

        with openvino_errors():
            model = ov.Core().read_model(model_path)
            compiled = self._compile(model)
        precision, recorded = self._compiled_precision(compiled), self.effective_precision()
        if precision != recorded:
            raise RuntimeError(f"this model compiled with inference precision {precision}, not the {recorded} recorded with its results")
        names = onnx_output_names([o.get_names() for o in model.outputs], [o.get_names() for o in compiled.outputs])
        return compiled.create_infer_request(), list(zip(compiled.outputs, names))

    def repro_source(self) -> str:
        # Outputs by position: the compiled model's own names may be merged ones (onnx_output_names).
        return ("import onnx\nimport openvino as ov\n\n\n"
                "def run(model_path, feeds):\n"
                f"    compiled = ov.Core().compile_model(model_path, {DEVICE!r}, {dict(self.properties)!r})\n"
                f"    print('inference precision:', compiled.get_property({PRECISION_HINT!r}))\n"
                "    result = compiled.create_infer_request().infer(feeds)\n"
                "    names = [o.name for o in onnx.load(model_path).graph.output]\n"
                "    return {name: result[output] for name, output in zip(names, compiled.outputs)}\n")

    def run_session(self, session, feeds):
        request, outputs = session
        with openvino_errors():
            result = request.infer(feeds)  # copies the outputs (share_outputs=False)
        return {name: result[output] for output, name in outputs}


class OpenVinoF32Runtime(OpenVinoRuntime):
    """OpenVINO asked to infer in f32: what an fp32 model computes without the CPU plugin's bf16 default."""

    name = "openvino-f32"
    base_properties = MappingProxyType({PRECISION_HINT: "f32"})
