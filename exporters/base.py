"""The exporter contract: export(case, path, dynamic=, opset=) -> ExportResult, never raising."""
from __future__ import annotations

import re
import time
import traceback
from collections import Counter
from dataclasses import asdict, dataclass, field

from cases.case import Case
from cases.status import Status
from exporters.capture import captured_output

DEFAULT_OPSET = 18
ERROR_TEXT_LIMIT = 20000


# Exporters colour their messages for terminals; a result keeps the text.
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


def error_info(exc: BaseException) -> dict:
    """type, first line and (bounded) full text of an exception: what a result records."""
    message = ANSI_ESCAPE.sub("", str(exc)).strip()
    text = ANSI_ESCAPE.sub("", "".join(traceback.format_exception(exc)))
    if len(text) > ERROR_TEXT_LIMIT:
        text = text[:ERROR_TEXT_LIMIT // 2] + "\n…(truncated)…\n" + text[-ERROR_TEXT_LIMIT // 2 :]
    return {
        "type": type(exc).__name__,
        "message": message.splitlines()[0][:500] if message else type(exc).__name__,
        "text": text,
    }


@dataclass
class ExportResult:
    status: str
    stage: str = "export"
    error: dict | None = None
    log: str = ""
    seconds: float = 0.0
    opset: int | None = None
    ops: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == Status.PASS

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "ExportResult":
        return cls(**data)


class Exporter:
    """Subclasses implement `_export` (torch.onnx.export with their settings); this class keeps the contract."""

    name: str = ""

    def _export(self, module, args: tuple, path: str, case: Case, *, dynamic: bool, opset: int) -> None:
        raise NotImplementedError

    def export(self, case: Case, path: str, *, dynamic: bool, opset: int = DEFAULT_OPSET) -> ExportResult:
        from cases.inputs import make_feeds
        from cases.torch_model import build_module, input_tensors

        module = build_module(case)
        args = input_tensors(case, make_feeds(case, case.seq_len, case.batch))
        start = time.perf_counter()
        with captured_output() as log:
            try:
                self._export(module, args, path, case, dynamic=dynamic, opset=opset)
                error = None
            except Exception as exc:  # an exporter bug is a result, not a crash
                error = error_info(exc)
        seconds = time.perf_counter() - start
        if error:
            return ExportResult(Status.EXPORT_ERROR.value, error=error, log=log.text, seconds=seconds)
        result = validate(path)
        result.log, result.seconds = log.text, seconds
        if result.ok and result.opset != opset:  # an exporter that quietly writes another opset did not do what was asked
            result.status, result.stage = Status.EXPORT_ERROR.value, "validate"
            result.error = {"type": "OpsetMismatch", "message": f"asked for opset {opset}, the model declares opset {result.opset}",
                            "text": f"asked for opset {opset}, the model declares opset {result.opset}"}
        return result


def validate(path: str) -> ExportResult:
    """onnx.checker with full (strict) shape inference: a model that fails it is INVALID_MODEL."""
    import onnx

    try:
        model = onnx.load(path)
    except Exception as exc:
        return ExportResult(Status.INVALID_MODEL.value, stage="validate", error=error_info(exc))
    result = ExportResult(
        Status.PASS.value,
        opset=next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None),
        ops=dict(sorted(Counter(n.op_type for n in model.graph.node).items())),
    )
    try:
        onnx.checker.check_model(model, full_check=True)
    except Exception as exc:
        result.status, result.stage, result.error = Status.INVALID_MODEL.value, "validate", error_info(exc)
    return result
