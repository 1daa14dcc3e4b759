"""The decomposed exporter: nn.LSTM layers the stock exporters refuse, rewritten into ones they handle.

`decompose(module)` returns a copy of a model in which every `nn.LSTM` with a projection
(`proj_size > 0`) is replaced by `ProjectedLSTM`: the same parameters under the same names, and a
forward that runs each layer and direction as a TorchScript-scripted loop over time steps. The
TorchScript exporter (`torch.onnx.export(..., dynamo=False)`) turns that loop into an ONNX `Loop`
whose trip count is the input's sequence length, so the sequence length stays dynamic. Layers
without a projection stay `nn.LSTM`, which that exporter lowers to one ONNX `LSTM` op per layer.

The arithmetic follows ATen's CPU LSTM (aten/src/ATen/native/RNN.cpp: the input projection of all
time steps at once, then per step linear_hh(h) + that, the gates i, f, g, o, and h = matmul(o *
tanh(c), W_hr^T)), so the copy's eager outputs equal the original's bit for bit on CPU.
"""
from __future__ import annotations

import copy
from typing import List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from exporters.torchscript import TorchScriptExporter


@torch.jit.script
def projected_lstm_steps(input_gates: Tensor, h: Tensor, c: Tensor, weight_hh: Tensor, bias_hh: Optional[Tensor],
                         weight_hr: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
    """One direction of one LSTMP layer over time: input_gates[t] is the input's gate contribution at step t."""
    outputs: List[Tensor] = []
    for step in range(input_gates.size(0)):
        gates = F.linear(h, weight_hh, bias_hh) + input_gates[step]
        in_gate, forget_gate, cell_gate, out_gate = gates.chunk(4, 1)
        c = torch.sigmoid(forget_gate) * c + torch.sigmoid(in_gate) * torch.tanh(cell_gate)
        h = torch.matmul(torch.sigmoid(out_gate) * torch.tanh(c), weight_hr.t())
        outputs.append(h)
    return torch.stack(outputs), h, c


class ProjectedLSTM(torch.nn.Module):
    """A drop-in for `nn.LSTM(proj_size > 0)`: same constructor state, parameter names and call signature.

    It takes what nn.LSTM takes for dense input — a batched or unbatched tensor and an optional
    (h0, c0) — and returns (output, (h_n, c_n)). Built from an existing nn.LSTM, it holds that
    module's own Parameter objects.
    """

    def __init__(self, lstm: torch.nn.LSTM):
        super().__init__()
        for name in ("input_size", "hidden_size", "num_layers", "bias", "batch_first", "dropout", "bidirectional",
                     "proj_size"):
            setattr(self, name, getattr(lstm, name))
        self.num_directions = 2 if lstm.bidirectional else 1
        for name, parameter in lstm.named_parameters(recurse=False):
            self.register_parameter(name, parameter)
        self.train(lstm.training)

    def _weights(self, layer: int, direction: int) -> tuple[Tensor, Tensor, Optional[Tensor], Optional[Tensor], Tensor]:
        suffix = f"_l{layer}" + ("_reverse" if direction else "")
        bias = (lambda name: getattr(self, name + suffix)) if self.bias else (lambda name: None)
        return (getattr(self, "weight_ih" + suffix), getattr(self, "weight_hh" + suffix), bias("bias_ih"),
                bias("bias_hh"), getattr(self, "weight_hr" + suffix))

    def forward(self, input: Tensor, hx: Optional[Tuple[Tensor, Tensor]] = None):
        if isinstance(input, torch.nn.utils.rnn.PackedSequence):
            raise TypeError("ProjectedLSTM takes a padded tensor; pass the lengths separately (PackedSequence is not supported)")
        batched = input.dim() == 3
        if not batched:
            input = input.unsqueeze(1)
            hx = None if hx is None else (hx[0].unsqueeze(1), hx[1].unsqueeze(1))
        elif self.batch_first:
            input = input.transpose(0, 1)
        states = self.num_layers * self.num_directions
        if hx is None:
            batch = input.size(1)
            h0 = input.new_zeros(states, batch, self.proj_size)
            c0 = input.new_zeros(states, batch, self.hidden_size)
        else:
            h0, c0 = hx
        layer_input, h_n, c_n = input, [], []
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(self.num_directions):
                weight_ih, weight_hh, bias_ih, bias_hh, weight_hr = self._weights(layer, direction)
                index = layer * self.num_directions + direction
                input_gates = F.linear(layer_input, weight_ih, bias_ih)
                if direction:
                    input_gates = input_gates.flip(0)
                output, h, c = projected_lstm_steps(input_gates, h0[index], c0[index], weight_hh, bias_hh, weight_hr)
                outputs.append(output.flip(0) if direction else output)
                h_n.append(h)
                c_n.append(c)
            layer_input = torch.cat(outputs, 2) if self.num_directions == 2 else outputs[0]
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, training=True)
        output, h_n, c_n = layer_input, torch.stack(h_n), torch.stack(c_n)
        if not batched:
            return output.squeeze(1), (h_n.squeeze(1), c_n.squeeze(1))
        if self.batch_first:
            output = output.transpose(0, 1)
        return output, (h_n, c_n)

    def extra_repr(self) -> str:
        return (f"{self.input_size}, {self.hidden_size}, proj_size={self.proj_size}, num_layers={self.num_layers}, "
                f"bias={self.bias}, batch_first={self.batch_first}, dropout={self.dropout}, "
                f"bidirectional={self.bidirectional}")


def needs_decomposition(lstm: torch.nn.LSTM) -> bool:
    """The stock exporters lower nn.LSTM to the ONNX LSTM op, which has no projection."""
    return lstm.proj_size > 0


def decompose(module: torch.nn.Module) -> torch.nn.Module:
    """A deep copy of `module` in which every nn.LSTM the stock exporters cannot export is a ProjectedLSTM.

    The copy has the same state_dict (keys and values) and the same eager outputs, and exports with
    torch.onnx.export(..., dynamo=False); the original is left as it was.
    """
    if isinstance(module, torch.nn.LSTM):
        return ProjectedLSTM(copy.deepcopy(module)) if needs_decomposition(module) else copy.deepcopy(module)
    result = copy.deepcopy(module)
    replacements = [(name, sub) for name, sub in result.named_modules()
                    if isinstance(sub, torch.nn.LSTM) and needs_decomposition(sub)]
    for name, lstm in replacements:
        parent_name, _, attribute = name.rpartition(".")
        setattr(result.get_submodule(parent_name), attribute, ProjectedLSTM(lstm))
    return result


class DecomposedExporter(TorchScriptExporter):
    """decompose(), then the TorchScript exporter: ONNX LSTM ops where they apply, a Loop per LSTMP layer and direction."""

    name = "decomposed"
    script_prepare = "from exporters.decomposed import decompose  # this suite's decomposition\nmodule = decompose(module)"

    def prepare(self, module):
        return decompose(module)
