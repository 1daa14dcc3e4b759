"""torch.onnx.export(dynamo=True): torch.export + onnxscript."""
from __future__ import annotations

import torch

from exporters.base import Exporter, axes


class DynamoExporter(Exporter):
    name = "dynamo"

    def _export(self, module, args, path, case, *, dynamic, opset):
        names = axes(case)
        input_names = [n for n in ("input", "h0", "c0") if n in names]
        dynamic_shapes = None
        if dynamic:
            # One Dim object per axis name: every input's batch axis is the same symbol.
            dims = {"seq": torch.export.Dim("seq"), "batch": torch.export.Dim("batch")}
            dynamic_shapes = {n: {axis: dims[label] for axis, label in names[n].items()} for n in input_names}
        torch.onnx.export(
            module,
            args,
            path,
            dynamo=True,
            external_data=False,
            input_names=input_names,
            output_names=["output", "h_n", "c_n"],
            opset_version=opset,
            dynamic_shapes=dynamic_shapes,
        )
