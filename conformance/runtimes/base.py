"""The runtime contract shared by built-ins and plugins.

A plugin only needs `name`, `available() -> (bool, reason)` and `run(model_path, feeds) -> dict`.
Subclassing `Runtime` adds the split between loading (LOAD_ERROR) and running (RUN_ERROR),
so one loaded session serves every run shape.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class RuntimeOutput:
    outputs: dict[str, np.ndarray]
    providers: list[str] = field(default_factory=list)
    # op type -> provider -> node count, where the runtime can tell.
    placement: dict[str, dict[str, int]] = field(default_factory=dict)
    # Why the run did not happen (wholly) where it was asked to; None when it did.
    fallback: str | None = None


class Runtime:
    name: str = ""
    # Settings that change numbers (precision hints, providers, threads): recorded with every result.
    options: dict = {}

    def available(self) -> tuple[bool, str]:
        return True, ""

    def load(self, model_path: str):
        raise NotImplementedError

    def run_session(self, session, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray] | RuntimeOutput:
        raise NotImplementedError

    def run(self, model_path: str, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray] | RuntimeOutput:
        return self.run_session(self.load(model_path), feeds)


def as_output(value) -> RuntimeOutput:
    return value if isinstance(value, RuntimeOutput) else RuntimeOutput(outputs=dict(value))
