"""Runtime registry: built-ins by name, any onnxruntime EP as `ort:<Provider>`, plugins by entry point.

A name may also be an import path `package.module:Class`, which is how tests inject faulty runtimes
and how a vendor tries a runtime before packaging it.
"""
from __future__ import annotations

import importlib
from importlib.metadata import entry_points

from conformance.runtimes.base import MinimalRuntime, Runtime, RuntimeHandle, RuntimeOutput, SessionRuntime, as_output
from conformance.runtimes.ort import OrtRuntime
from conformance.runtimes.reference import ReferenceRuntime

ENTRY_POINT_GROUP = "lstm_onnx_conformance.runtimes"

BUILTIN_RUNTIMES = {
    "ort-cpu": lambda: OrtRuntime("CPUExecutionProvider", name="ort-cpu"),
    "ort-cuda": lambda: OrtRuntime("CUDAExecutionProvider", name="ort-cuda"),
    "reference": ReferenceRuntime,
}


class UnknownRuntimeError(ValueError):
    pass


def plugin_runtimes() -> dict:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def known_runtime_names() -> list[str]:
    return [*BUILTIN_RUNTIMES, *sorted(set(plugin_runtimes()) - set(BUILTIN_RUNTIMES))]


def runtime_availability() -> dict[str, tuple[bool, str]]:
    """Every known runtime (built-ins and plugins) and whether it can run here, or why not."""
    return {name: get_runtime(name).available() for name in known_runtime_names()}


def get_runtime(name: str, options: dict | None = None) -> RuntimeHandle:
    """A runtime by its command-line name, configured with `options` (key -> value) if any, behind its handle."""
    try:
        runtime = RuntimeHandle(_instantiate(name), name)
    except TypeError as exc:
        raise UnknownRuntimeError(str(exc)) from None
    if options:
        if not runtime.configurable:
            raise UnknownRuntimeError(f"runtime {name!r} takes no options (got {', '.join(options)})")
        try:
            runtime.configure(options)
        except ValueError as exc:
            raise UnknownRuntimeError(f"runtime {name!r}: {exc}") from None
    return runtime


def _instantiate(name: str):
    if name in BUILTIN_RUNTIMES:
        return BUILTIN_RUNTIMES[name]()
    if name.startswith("ort:") and len(name) > 4:
        return OrtRuntime(name[4:], name=name)
    plugins = plugin_runtimes()
    if name in plugins:
        runtime = plugins[name].load()()
    elif ":" in name:
        module_name, _, class_name = name.partition(":")
        try:
            runtime = getattr(importlib.import_module(module_name), class_name)()
        except (ImportError, AttributeError) as exc:
            raise UnknownRuntimeError(f"cannot load runtime {name!r}: {exc}") from None
    else:
        raise UnknownRuntimeError(
            f"unknown runtime {name!r}; known: {', '.join(known_runtime_names())}, "
            "ort:<ExecutionProvider>, or module:Class"
        )
    try:
        runtime.name = name
    except AttributeError:  # a runtime with slots or a read-only name: its handle carries the name
        pass
    return runtime


__all__ = [
    "BUILTIN_RUNTIMES",
    "ENTRY_POINT_GROUP",
    "MinimalRuntime",
    "Runtime",
    "RuntimeHandle",
    "RuntimeOutput",
    "SessionRuntime",
    "UnknownRuntimeError",
    "as_output",
    "get_runtime",
    "known_runtime_names",
]
