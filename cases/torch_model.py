"""The eager side: the layer under test, wrapped to the suite's fixed ONNX interface.

Inputs are `input`, then `lengths` for a packed case, then the kind's initial states; outputs are
`output` and the kind's final states. torch.export names inputs after forward's parameters, so each
input list has a wrapper class of its own; they all run the same `_run`.
"""
from __future__ import annotations

import copy
import warnings

import numpy as np
import torch

from cases.case import Case
from cases.dtypes import DTYPES


class RecurrentModel(torch.nn.Module):
    def __init__(self, layer: torch.nn.Module, case: Case):
        super().__init__()
        self.layer = layer
        self.batch_first = case.batch_first
        self.packed = case.packed
        self.paired_state = len(case.layer.state_names) == 2  # LSTM's (h, c)

    def _run(self, input, lengths, states: tuple):
        from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

        x = pack_padded_sequence(input, lengths, batch_first=self.batch_first, enforce_sorted=False) if self.packed else input
        if states:
            output, final = self.layer(x, states if self.paired_state else states[0])
        else:
            output, final = self.layer(x)
        if self.packed:
            output, _ = pad_packed_sequence(output, batch_first=self.batch_first)
        return (output, *(final if self.paired_state else (final,)))


class Dense(RecurrentModel):
    def forward(self, input):
        return self._run(input, None, ())


class DenseWithState(RecurrentModel):
    def forward(self, input, h0):
        return self._run(input, None, (h0,))


class DenseWithStates(RecurrentModel):
    def forward(self, input, h0, c0):
        return self._run(input, None, (h0, c0))


class Packed(RecurrentModel):
    def forward(self, input, lengths):
        return self._run(input, lengths, ())


class PackedWithState(RecurrentModel):
    def forward(self, input, lengths, h0):
        return self._run(input, lengths, (h0,))


class PackedWithStates(RecurrentModel):
    def forward(self, input, lengths, h0, c0):
        return self._run(input, lengths, (h0, c0))


# (packed, number of initial states) -> the wrapper whose forward takes exactly those inputs.
WRAPPERS = {
    (False, 0): Dense, (False, 1): DenseWithState, (False, 2): DenseWithStates,
    (True, 0): Packed, (True, 1): PackedWithState, (True, 2): PackedWithStates,
}


def build_module(case: Case) -> torch.nn.Module:
    """Seeded weights: the same case gives the same module in every process."""
    torch.manual_seed(case.seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        layer = case.layer.build_layer(case)
    states = len(case.layer.state_names) if case.initial_state else 0
    wrapper = WRAPPERS[(case.packed, states)](layer, case)
    return wrapper.to(getattr(torch, case.dtype)).train(case.train)


def export_arguments(subject) -> tuple[torch.nn.Module, tuple]:
    """The module an exporter traces and its example arguments: a Case's seeded wrapper and generated inputs, or a user
    model's (cases.models.ModelRef) own module, on a copy, and its example inputs."""
    if isinstance(subject, Case):
        from cases.inputs import make_feeds

        return build_module(subject), input_tensors(subject, make_feeds(subject, subject.seq_len, subject.batch))
    spec = subject.spec
    return copy.deepcopy(spec.module).eval(), spec.inputs


def to_tensor(array: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
    # numpy has no native bfloat16; going through float32 is exact for bf16 values.
    return torch.from_numpy(np.asarray(array, dtype=np.float32) if array.dtype.itemsize == 2 else array).to(dtype)


def to_numpy(tensor: torch.Tensor, dtype_name: str) -> np.ndarray:
    return tensor.detach().cpu().to(torch.float32 if tensor.dtype == torch.bfloat16 else tensor.dtype).numpy().astype(
        DTYPES[dtype_name].numpy, copy=False
    )


def input_tensors(case: Case, feeds: dict[str, np.ndarray], dtype: str | None = None, device: str = "cpu") -> tuple:
    """The model's arguments in its input order: floats in `dtype` (default: the case's), lengths as int64 on CPU."""
    torch_dtype = getattr(torch, dtype or case.dtype)
    return tuple(
        torch.from_numpy(feeds[name]) if name == "lengths" else to_tensor(feeds[name], torch_dtype).to(device)
        for name in case.input_names()
    )


def eager_outputs(case: Case, module: torch.nn.Module, feeds: dict[str, np.ndarray], dtype: str | None = None,
                  device: str = "cpu"):
    """Run the module in `dtype` (the case dtype by default; "float64" gives the oracle) on `device`.

    A module of another dtype or device is converted on a copy; pass one already converted to skip that.
    """
    dtype = dtype or case.dtype
    torch_dtype = getattr(torch, dtype)
    parameter = next(module.parameters())
    if parameter.dtype != torch_dtype or parameter.device.type != torch.device(device).type:
        module = copy.deepcopy(module).to(device=device, dtype=torch_dtype)
    with torch.no_grad():
        results = module(*input_tensors(case, feeds, dtype, device))
    return {name: to_numpy(t, dtype) for name, t in zip(case.output_names(), results)}
