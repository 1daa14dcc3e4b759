"""Shape modes: a model exported with fixed shapes (static) or with dynamic sequence and batch axes."""
from __future__ import annotations

MODES = {"static": False, "dynamic": True}


def mode_label(dynamic: bool | None) -> str:
    return "dynamic" if dynamic else "static"
