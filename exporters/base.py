"""The exporter contract: export(case, path, dynamic=, opset=) -> ExportResult, never raising."""
from __future__ import annotations

import time
from collections import Counter

import msgspec

from exporters.capture import captured_output
from verdict.records import ErrorInfo, error_info
from verdict.status import Status

DEFAULT_OPSET = 18


class ExportResult(msgspec.Struct, forbid_unknown_fields=True):
    status: Status
    stage: str = "export"
    error: ErrorInfo | None = None
    log: str = ""
    seconds: float = 0.0
    opset: int | None = None
    ops: dict[str, int] = {}

    @property
    def ok(self) -> bool:
        return self.status == Status.PASS

    def to_json(self) -> bytes:
        return msgspec.json.encode(self)

    @classmethod
    def from_json(cls, data: bytes) -> "ExportResult":
        return msgspec.json.decode(data, type=cls)


class Exporter:
    """Subclasses give `export_options` (torch.onnx.export's keyword arguments), and `prepare` where they change the
    module first; `_export` makes the call. This class keeps the contract."""

    name: str = ""
    # How a standalone script gets the module this exporter exports from the case's own ("module"): empty where the
    # exporter exports it as it is.
    script_prepare: str = ""

    def export_options(self, case, *, dynamic: bool, opset: int) -> dict:
        """`case`: what is exported, a Case or a user's model (cases.models.ModelRef): it names the inputs and
        outputs (input_names(), output_names()) and the dynamic axes (dynamic_axes())."""
        raise NotImplementedError

    def prepare(self, module):
        return module

    def _export(self, module, args: tuple, path: str, case, *, dynamic: bool, opset: int) -> None:
        import torch

        torch.onnx.export(self.prepare(module), args, path, **self.export_options(case, dynamic=dynamic, opset=opset))

    def export(self, case, path: str, *, dynamic: bool, opset: int = DEFAULT_OPSET) -> ExportResult:
        from cases.torch_model import export_arguments

        module, args = export_arguments(case)
        start = time.perf_counter()
        with captured_output() as log:
            try:
                self._export(module, args, path, case, dynamic=dynamic, opset=opset)
                error = None
            except Exception as exc:  # an exporter bug is a result, not a crash
                error = error_info(exc)
        seconds = time.perf_counter() - start
        if error:
            return ExportResult(Status.EXPORT_ERROR, error=error, log=log.text, seconds=seconds)
        result = validate(path)
        result.log, result.seconds = log.text, seconds
        if result.ok and result.opset != opset:  # an exporter that quietly writes another opset did not do what was asked
            result.status, result.stage = Status.EXPORT_ERROR, "validate"
            mismatch = f"asked for opset {opset}, the model declares opset {result.opset}"
            result.error = ErrorInfo(type="OpsetMismatch", message=mismatch, text=mismatch)
        return result


def validate(path: str) -> ExportResult:
    """onnx.checker with full (strict) shape inference: a model that fails it is INVALID_MODEL."""
    import onnx

    try:
        model = onnx.load(path)
    except Exception as exc:
        return ExportResult(Status.INVALID_MODEL, stage="validate", error=error_info(exc))
    result = ExportResult(
        Status.PASS,
        opset=next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None),
        ops=dict(sorted(Counter(n.op_type for n in model.graph.node).items())),
    )
    try:
        onnx.checker.check_model(model, full_check=True)
    except Exception as exc:
        result.status, result.stage, result.error = Status.INVALID_MODEL, "validate", error_info(exc)
    return result
