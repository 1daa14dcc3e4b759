"""The eager side: the nn.LSTM under test, wrapped to the suite's fixed ONNX interface."""
from __future__ import annotations

import copy
import warnings

import numpy as np
import torch

from cases.case import LSTMCase
from cases.inputs import NUMPY_DTYPES

TORCH_DTYPES = {
    "float32": torch.float32,
    "float16": torch.float16,
    "float64": torch.float64,
    "bfloat16": torch.bfloat16,
}

OUTPUT_NAMES = ("output", "h_n", "c_n")


class LSTMWithState(torch.nn.Module):
    def __init__(self, lstm: torch.nn.LSTM):
        super().__init__()
        self.lstm = lstm

    def forward(self, input, h0, c0):
        output, (h_n, c_n) = self.lstm(input, (h0, c0))
        return output, h_n, c_n


class LSTMWithoutState(torch.nn.Module):
    def __init__(self, lstm: torch.nn.LSTM):
        super().__init__()
        self.lstm = lstm

    def forward(self, input):
        output, (h_n, c_n) = self.lstm(input)
        return output, h_n, c_n


def build_module(case: LSTMCase) -> torch.nn.Module:
    """Seeded weights: the same case gives the same module in every process."""
    torch.manual_seed(case.seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lstm = torch.nn.LSTM(
            input_size=case.input_size,
            hidden_size=case.hidden_size,
            num_layers=case.num_layers,
            bias=case.bias,
            batch_first=case.batch_first,
            dropout=case.dropout,
            bidirectional=case.bidirectional,
            proj_size=case.proj_size,
        )
    wrapper = LSTMWithState(lstm) if case.initial_state else LSTMWithoutState(lstm)
    wrapper = wrapper.to(TORCH_DTYPES[case.dtype])
    return wrapper.train(case.train)


def to_tensor(array: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
    # numpy has no native bfloat16; going through float32 is exact for bf16 values.
    return torch.from_numpy(np.asarray(array, dtype=np.float32) if array.dtype.itemsize == 2 else array).to(dtype)


def to_numpy(tensor: torch.Tensor, dtype_name: str) -> np.ndarray:
    return tensor.detach().cpu().to(torch.float32 if tensor.dtype == torch.bfloat16 else tensor.dtype).numpy().astype(
        NUMPY_DTYPES[dtype_name], copy=False
    )


def example_tensors(case: LSTMCase, feeds: dict[str, np.ndarray]) -> tuple[torch.Tensor, ...]:
    return tuple(to_tensor(feeds[name], TORCH_DTYPES[case.dtype]) for name in case.input_shapes(1, 1))


def eager_outputs(case: LSTMCase, module: torch.nn.Module, feeds: dict[str, np.ndarray], dtype: str | None = None,
                  device: str = "cpu"):
    """Run the module in `dtype` (the case dtype by default; "float64" gives the oracle) on `device`.

    A module of another dtype or device is converted on a copy; pass one already converted to skip that.
    """
    dtype = dtype or case.dtype
    torch_dtype = TORCH_DTYPES[dtype]
    parameter = next(module.parameters())
    if parameter.dtype != torch_dtype or parameter.device.type != torch.device(device).type:
        module = copy.deepcopy(module).to(device=device, dtype=torch_dtype)
    args = tuple(to_tensor(feeds[name], torch_dtype).to(device) for name in case.input_shapes(1, 1))
    with torch.no_grad():
        results = module(*args)
    return {name: to_numpy(t, dtype) for name, t in zip(OUTPUT_NAMES, results)}

