"""torch.onnx.export(dynamo=True) rebuilds torchlib's ONNXRegistry on every call.

Plain torch + onnxscript, nothing else. Exports a small nn.LSTM N times in one process, first as is
(timing ONNXRegistry.from_torchlib inside each call), then with from_torchlib returning the registry
built by the first call, and checks that both give byte-identical models.

    python dynamo_registry_rebuild.py [N]
"""
import contextlib
import io
import logging
import statistics
import sys
import tempfile
import time
import warnings

import onnxscript
import torch
from torch.onnx._internal.exporter import _registration

N = int(sys.argv[1]) if len(sys.argv) > 1 else 6


class LSTM(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = torch.nn.LSTM(4, 8)

    def forward(self, x):
        output, (h, c) = self.lstm(x)
        return output, h, c


MODEL, ARGS = LSTM().eval(), (torch.randn(5, 3, 4),)
ORIGINAL = vars(_registration.ONNXRegistry)["from_torchlib"]
REGISTRIES = []
BUILD_SECONDS = []


def timed_from_torchlib(cls, *args, **kwargs):
    start = time.perf_counter()
    registry = ORIGINAL.__func__(cls, *args, **kwargs)
    BUILD_SECONDS.append(time.perf_counter() - start)
    REGISTRIES.append(registry)
    return registry


def first_registry(cls, *args, **kwargs):
    return REGISTRIES[0]


def export(path):
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(MODEL, ARGS, path, dynamo=True, external_data=False, opset_version=18)
    return time.perf_counter() - start


def main():
    logging.disable(logging.WARNING)  # "torchvision is not installed" on every registry build
    print(f"torch {torch.__version__}, onnxscript {onnxscript.__version__}, python {sys.version.split()[0]}")
    tmp = tempfile.mkdtemp()
    _registration.ONNXRegistry.from_torchlib = classmethod(timed_from_torchlib)
    rebuilt = [export(f"{tmp}/rebuilt{i}.onnx") for i in range(N)]
    _registration.ONNXRegistry.from_torchlib = classmethod(first_registry)
    reused = [export(f"{tmp}/reused{i}.onnx") for i in range(N)]
    _registration.ONNXRegistry.from_torchlib = ORIGINAL
    print("call  export (registry rebuilt)  of which from_torchlib  export (first registry reused)")
    for i in range(N):
        print(f"{i + 1:>4}  {rebuilt[i]:>24.2f}s  {BUILD_SECONDS[i]:>20.2f}s  {reused[i]:>29.2f}s")
    later = slice(1, None)  # the first call also pays one-time imports and warm-up
    print(f"median of calls 2..{N}: rebuilt {statistics.median(rebuilt[later]):.2f}s, "
          f"from_torchlib {statistics.median(BUILD_SECONDS[later]):.2f}s, reused {statistics.median(reused[later]):.2f}s")
    same = all(open(f"{tmp}/rebuilt{i}.onnx", "rb").read() == open(f"{tmp}/reused{i}.onnx", "rb").read() for i in range(N))
    print("models byte-identical with the reused registry:", same)


if __name__ == "__main__":
    main()
