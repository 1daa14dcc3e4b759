"""Run exported models in runtimes, judge them against torch eager, record results.

Importing this package (or its runtimes) never imports torch. `check_model` (conformance.api) runs a user's model
through the matrix from Python.
"""


def __getattr__(name: str):
    if name in ("check_model", "ModelCheckFailed"):
        from conformance import api

        return getattr(api, name)
    raise AttributeError(f"module 'conformance' has no attribute {name!r}")


__all__ = ["ModelCheckFailed", "check_model"]
