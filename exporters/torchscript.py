"""torch.onnx.export(dynamo=False): the TorchScript-based exporter."""
from __future__ import annotations

from exporters.base import Exporter


class TorchScriptExporter(Exporter):
    name = "torchscript"

    def export_options(self, case, *, dynamic, opset):
        return dict(dynamo=False, input_names=case.input_names(), output_names=case.output_names(), opset_version=opset,
                    dynamic_axes=case.dynamic_axes() if dynamic else None)
