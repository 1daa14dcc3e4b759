"""torch.onnx.export(dynamo=True): torch.export + onnxscript."""
from __future__ import annotations

import contextlib
import os

import torch

from exporters.base import Exporter


def _note(line: str) -> None:
    # To file descriptor 2, which the exporter's log captures even where sys.stderr is replaced (pytest).
    os.write(2, f"dynamo exporter: {line}\n".encode())


# Built registries of this process, by from_torchlib's arguments (the opset). A worker runs many exports.
_TORCHLIB_REGISTRIES: dict = {}


@contextlib.contextmanager
def reused_torchlib_registry():
    """Let torch.onnx.export(dynamo=True) build torchlib's registry once per process instead of once per call.

    torch 2.13 rebuilds `ONNXRegistry.from_torchlib` on every export (about 500 functions through
    inspect.getsource: 0.3-1.4 s of each export here; docs/upstream/dynamo-registry-rebuild.md). An
    export without a custom_translation_table only reads the registry, so while this context is open
    the classmethod returns the one built for the same arguments. The hook is private: where it is
    gone or unused, the export runs as plain torch.onnx.export. The log says which path ran.
    """
    try:
        from torch.onnx._internal.exporter._registration import ONNXRegistry

        original = vars(ONNXRegistry).get("from_torchlib")
    except ImportError:
        original = None
    if not isinstance(original, classmethod):
        _note("torchlib registry hook not found; plain torch.onnx.export")
        yield
        return
    build, calls = original.__func__, []

    def from_torchlib(cls, *args, **kwargs):
        key = (cls, args, tuple(sorted(kwargs.items())))
        calls.append(key in _TORCHLIB_REGISTRIES)
        if not calls[-1]:
            _TORCHLIB_REGISTRIES[key] = build(cls, *args, **kwargs)
        _note(f"torchlib registry {'reused' if calls[-1] else 'built'} for this process")
        return _TORCHLIB_REGISTRIES[key]

    ONNXRegistry.from_torchlib = classmethod(from_torchlib)
    try:
        yield
    finally:
        ONNXRegistry.from_torchlib = original
        if not calls:
            _note("torchlib registry hook not called; plain torch.onnx.export")


# The recurrent ops whose dynamic-shape (while_loop) decompositions torch.onnx registers for the length of a
# dynamic export (torch.export._patches.register_{lstm,gru}_while_loop_decomposition).
RECURRENT_OPS = ("lstm", "gru")


def forget_recurrent_dispatch() -> None:
    """Make this export see the recurrent decompositions a fresh process would.

    torch.export._patches registers the while_loop LSTM/GRU decompositions by writing OpOverload.py_kernels
    directly, which does not clear the overload's _dispatch_cache. Once an earlier export in the process has
    dispatched aten.lstm (a static export, say), a dynamic export keeps the cached unrolled decomposition, the
    sequence axis specialises, and torch.onnx's capture strategy silently adopts the suggested static shape
    (measured on torch 2.13.0 and 2.15.0; docs/upstream/dynamo-rnn-dispatch-cache.md). Clearing the cache
    makes each result independent of the exports that ran before it in the worker.
    """
    for name in RECURRENT_OPS:
        overload = getattr(getattr(torch.ops.aten, name, None), "input", None)
        cache = getattr(overload, "_dispatch_cache", None)
        if cache is None:
            _note(f"aten.{name}.input has no dispatch cache to clear; the export may depend on earlier ones")
            continue
        cache.clear()


class DynamoExporter(Exporter):
    name = "dynamo"
    # False: every export builds its own registry, as a plain torch.onnx.export call does.
    reuse_registry = True

    def export_options(self, case, *, dynamic, opset):
        input_names = case.input_names()
        dynamic_shapes = None
        if dynamic:
            # One Dim object per axis name: every input's batch axis is the same symbol. By position, since a
            # user's model may name its inputs otherwise than its forward's parameters.
            axes = case.dynamic_axes()
            dims = {label: torch.export.Dim(label) for label in {label for name in input_names for label in axes.get(name, {}).values()}}
            dynamic_shapes = tuple({axis: dims[label] for axis, label in axes.get(name, {}).items()} or None for name in input_names)
        return dict(dynamo=True, external_data=False, input_names=input_names, output_names=case.output_names(),
                    opset_version=opset, dynamic_shapes=dynamic_shapes)

    def _export(self, module, args, path, case, *, dynamic, opset):
        forget_recurrent_dispatch()
        with reused_torchlib_registry() if self.reuse_registry else contextlib.nullcontext():
            super()._export(module, args, path, case, dynamic=dynamic, opset=opset)
