"""The corpus on disk, in the ONNX backend-test layout: what export-corpus writes and the worker reads.

    DIR/manifest.json                       every test, export failures and not-applicable cases included
    DIR/expectations.toml                   the expectations that apply, copied at export time
    DIR/test_<name>/model.onnx
    DIR/test_<name>/test_data_set_<i>/input_<n>.pb, output_<n>.pb    one data set per run shape
                                            (+ oracle_<n>.pb: the fp64 oracle's outputs, fp16/bf16 tests)

Tensors are named as the model's inputs and outputs. Needs onnx and numpy only.
"""
from __future__ import annotations

from pathlib import Path

FORMAT = "lstm-onnx-conformance corpus"
VERSION = 1
MANIFEST = "manifest.json"
EXPECTATIONS_FILE = "expectations.toml"
MODEL = "model.onnx"


def data_set_dir(test_dir: Path, index: int) -> Path:
    return test_dir / f"test_data_set_{index}"


def tensor_paths(data_dir: Path, kind: str, count: int) -> list[Path]:
    """`kind` is "input", "output" or "oracle"; files are numbered in the order of the model's inputs or outputs."""
    return [data_dir / f"{kind}_{n}.pb" for n in range(count)]


def write_tensors(data_dir: Path, kind: str, arrays: dict) -> None:
    from onnx import numpy_helper

    for path, (name, array) in zip(tensor_paths(data_dir, kind, len(arrays)), arrays.items()):
        path.write_bytes(numpy_helper.from_array(array, name).SerializeToString())


def read_tensors(data_dir: Path, kind: str, count: int) -> dict:
    from onnx import TensorProto, numpy_helper

    arrays = {}
    for path in tensor_paths(data_dir, kind, count):
        tensor = TensorProto()
        tensor.ParseFromString(path.read_bytes())
        arrays[tensor.name] = numpy_helper.to_array(tensor)
    return arrays
