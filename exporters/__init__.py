"""torch -> .onnx. Importing this package does not import torch; exporting does."""
from __future__ import annotations

from dataclasses import dataclass

from exporters.base import DEFAULT_OPSET, Exporter, ExportResult, error_info, validate


@dataclass(frozen=True)
class ExporterEntry:
    """An exporter by import path (imported on first use, so listing stays torch-free) and the opsets it can write."""

    path: str  # "module:Class"
    opsets: range
    opsets_reason: str  # why others are out of reach: what a NOT_APPLICABLE result says

    def opset_unsupported(self, opset: int) -> str | None:
        return None if opset in self.opsets else f"opset {opset}: {self.opsets_reason}"


# torch 2.13.0, measured: the TorchScript exporter writes opsets 7-23 ("Unsupported onnx_opset_version: 24");
# Dynamo's torchlib starts at opset 18 and, asked for less, converts with onnx's version converter, which left
# an LSTM at opset 18 for requests of 7-14.
TORCHSCRIPT_OPSETS = range(7, 24)
EXPORTERS: dict[str, ExporterEntry] = {
    "torchscript": ExporterEntry("exporters.torchscript:TorchScriptExporter", TORCHSCRIPT_OPSETS,
                                 "the TorchScript exporter writes opsets 7-23"),
    "dynamo": ExporterEntry("exporters.dynamo:DynamoExporter", range(18, 25),
                            "Dynamo's torchlib implements opsets 18 and up; lower requests go through onnx's version converter, "
                            "which may leave the model at 18"),
    "decomposed": ExporterEntry("exporters.decomposed:DecomposedExporter", TORCHSCRIPT_OPSETS,
                                "the decomposed exporter writes through the TorchScript exporter: opsets 7-23"),
}
KNOWN_OPSETS = range(min(e.opsets.start for e in EXPORTERS.values()), max(e.opsets.stop for e in EXPORTERS.values()))


def get_exporter(name: str) -> Exporter:
    import importlib

    module_name, _, class_name = EXPORTERS[name].path.partition(":")
    return getattr(importlib.import_module(module_name), class_name)()


__all__ = ["DEFAULT_OPSET", "EXPORTERS", "KNOWN_OPSETS", "Exporter", "ExportResult", "error_info", "get_exporter", "validate"]
