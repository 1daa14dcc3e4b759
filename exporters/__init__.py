"""torch -> .onnx. Importing this package does not import torch; exporting does."""
from __future__ import annotations

from exporters.base import DEFAULT_OPSET, Exporter, ExportResult, error_info, validate

# name -> "module:Class", imported on first use so listing exporters stays torch-free.
EXPORTERS: dict[str, str] = {
    "torchscript": "exporters.torchscript:TorchScriptExporter",
    "dynamo": "exporters.dynamo:DynamoExporter",
    "decomposed": "exporters.decomposed:DecomposedExporter",
}


def get_exporter(name: str) -> Exporter:
    import importlib

    module_name, _, class_name = EXPORTERS[name].partition(":")
    return getattr(importlib.import_module(module_name), class_name)()


__all__ = ["DEFAULT_OPSET", "EXPORTERS", "Exporter", "ExportResult", "error_info", "get_exporter", "validate"]
