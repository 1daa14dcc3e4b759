"""torch.onnx.export(dynamo=False): the TorchScript-based exporter."""
from __future__ import annotations

import torch

from exporters.base import Exporter, axes


class TorchScriptExporter(Exporter):
    name = "torchscript"

    def _export(self, module, args, path, case, *, dynamic, opset):
        names = axes(case)
        torch.onnx.export(
            module,
            args,
            path,
            dynamo=False,
            input_names=[n for n in ("input", "h0", "c0") if n in names],
            output_names=["output", "h_n", "c_n"],
            opset_version=opset,
            dynamic_axes=names if dynamic else None,
        )
