"""The runtime contract shared by built-ins and plugins.

The documented minimum (`MinimalRuntime`) is one method:

    run(model_path: str, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray] | RuntimeOutput

Everything else is optional, and the suite supplies the default when a runtime leaves it out:

    name: str                                   the command-line name (set by the registry)
    available() -> (bool, reason)               default: (True, "")
    options: Mapping                            settings recorded with every result; default: none
    configure(options: dict) -> None            takes --runtime-option KEY=VALUE; default: takes none
    threads: int                                set to the worker's thread count when present
    load(model_path) -> session                 with run_session: loading apart from running, so a
    run_session(session, feeds) -> outputs      model that cannot load is LOAD_ERROR (not RUN_ERROR)
                                                and one session serves every run shape
    repro_source() -> str                       Python source defining run(model_path, feeds) -> {name: array}
                                                with this runtime's settings and only its own package: the
                                                runtime part of `upstream`'s standalone repro scripts

Subclass `Runtime` (minimum: run) or `SessionRuntime` (load and run_session), or subclass nothing: the
worker reaches every runtime through a `RuntimeHandle`, which reads only what the runtime defines.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping, Protocol, runtime_checkable

import numpy as np

Outputs = Mapping[str, np.ndarray]


@dataclass
class RuntimeOutput:
    outputs: dict[str, np.ndarray]
    providers: list[str] = field(default_factory=list)
    # op type -> provider -> node count, where the runtime can tell.
    placement: dict[str, dict[str, int]] = field(default_factory=dict)
    # Why the run did not happen (wholly) where it was asked to; None when it did.
    fallback: str | None = None


@runtime_checkable
class MinimalRuntime(Protocol):
    def run(self, model_path: str, feeds: dict[str, np.ndarray]) -> Outputs | RuntimeOutput: ...


class Runtime(ABC):
    """A base for runtimes that need only run(). Class attributes are read-only, so no subclass shares state."""

    name: str = ""
    options: Mapping[str, Any] = MappingProxyType({})

    def available(self) -> tuple[bool, str]:
        return True, ""

    @abstractmethod
    def run(self, model_path: str, feeds: dict[str, np.ndarray]) -> Outputs | RuntimeOutput: ...


class SessionRuntime(Runtime):
    """A base for runtimes that load a model once and run it per run shape."""

    @abstractmethod
    def load(self, model_path: str) -> Any: ...

    @abstractmethod
    def run_session(self, session: Any, feeds: dict[str, np.ndarray]) -> Outputs | RuntimeOutput: ...

    def run(self, model_path: str, feeds: dict[str, np.ndarray]) -> Outputs | RuntimeOutput:
        return self.run_session(self.load(model_path), feeds)


def as_output(value) -> RuntimeOutput:
    return value if isinstance(value, RuntimeOutput) else RuntimeOutput(outputs=dict(value))


class RuntimeHandle:
    """Any runtime object, as the worker uses it: every optional part of the contract defaulted."""

    def __init__(self, runtime: Any, name: str):
        if not callable(getattr(runtime, "run", None)) and not _loads_apart(runtime):
            raise TypeError(f"runtime {name!r} ({type(runtime).__name__}) has no run(model_path, feeds) method")
        self.runtime = runtime
        self.name = name

    @property
    def loads_apart(self) -> bool:
        return _loads_apart(self.runtime)

    @property
    def options(self) -> dict:
        """A copy: a result's record never aliases the runtime's own settings."""
        return _plain(getattr(self.runtime, "options", None) or {})

    @property
    def configurable(self) -> bool:
        return callable(getattr(self.runtime, "configure", None))

    def configure(self, options: dict) -> None:
        self.runtime.configure(dict(options))

    def set_threads(self, threads: int) -> None:
        if hasattr(self.runtime, "threads"):
            self.runtime.threads = threads

    def available(self) -> tuple[bool, str]:
        check = getattr(self.runtime, "available", None)
        return check() if callable(check) else (True, "")

    def load(self, model_path: str) -> Any:
        """The session for run_session(), or (a runtime that does not load apart) the model path itself."""
        return self.runtime.load(model_path) if self.loads_apart else model_path

    def run_session(self, session: Any, feeds: dict[str, np.ndarray]) -> RuntimeOutput:
        raw = self.runtime.run_session(session, feeds) if self.loads_apart else self.runtime.run(session, feeds)
        return as_output(raw)

    def run(self, model_path: str, feeds: dict[str, np.ndarray]) -> RuntimeOutput:
        return self.run_session(self.load(model_path), feeds)

    def repro_source(self) -> str | None:
        """The runtime's standalone run(model_path, feeds), or None where it offers none."""
        source = getattr(self.runtime, "repro_source", None)
        return source() if callable(source) else None


def _loads_apart(runtime: Any) -> bool:
    if isinstance(runtime, SessionRuntime):
        return True
    return not isinstance(runtime, Runtime) and callable(getattr(runtime, "load", None)) and callable(getattr(runtime, "run_session", None))


def _plain(value):
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
