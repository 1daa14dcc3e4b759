"""torch.onnx.export(dynamo=True): torch.export + onnxscript."""
from __future__ import annotations

import torch

from exporters.base import Exporter


class DynamoExporter(Exporter):
    name = "dynamo"

    def _export(self, module, args, path, case, *, dynamic, opset):
        input_names = case.input_names()
        dynamic_shapes = None
        if dynamic:
            # One Dim object per axis name: every input's batch axis is the same symbol.
            axes = case.dynamic_axes()
            dims = {label: torch.export.Dim(label) for label in {label for name in input_names for label in axes[name].values()}}
            dynamic_shapes = {name: {axis: dims[label] for axis, label in axes[name].items()} for name in input_names}
        torch.onnx.export(
            module,
            args,
            path,
            dynamo=True,
            external_data=False,
            input_names=input_names,
            output_names=case.output_names(),
            opset_version=opset,
            dynamic_shapes=dynamic_shapes,
        )
