"""tract, Sonos' Rust inference engine, through its Python bindings.

By default tract analyses the graph with the input shapes the model declares, symbolic dims
(`seq`, `batch`) included, and optimises it once for every run shape: what a tract user gets from
a dynamic model. `--runtime-option tract:input_facts=concrete` instead sets each input's shape
from the feeds and optimises the model again for every run shape. On tract 0.23 that gets the
torchscript exporter's dynamic models without an initial state that are bidirectional or stacked
past a symbol clash in tract's LSTM at any batch but 1 ("Clashing resolution for expression.
batch=3 != 1"). It does not rescue the dynamo exporter's dynamic models: their intermediate shapes
keep the symbolic batch, which then fails to unify with a number.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

from conformance.runtimes.base import SessionRuntime

INPUT_FACTS = ("declared", "concrete")
ELEMENT_TYPES = {"float16": "f16", "float32": "f32", "float64": "f64"}


def without_backtrace(message: str) -> str:
    """tract appends the native stack of its FFI call to every error: noise in a report."""
    return message.split("\nStack backtrace:")[0].rstrip()


@contextmanager
def tract_errors():
    from tract.bindings import TractError

    try:
        yield
    except TractError as exc:
        raise TractError(without_backtrace(str(exc))) from None


def input_fact(array) -> str:
    """tract's fact spec for an array, e.g. '5,3,4,f32'."""
    if array.dtype.name not in ELEMENT_TYPES:
        raise TypeError(f"no tract element type for {array.dtype.name} inputs")
    return ",".join([*map(str, array.shape), ELEMENT_TYPES[array.dtype.name]])


@dataclass
class TractModel:
    path: str
    inputs: list[str]
    outputs: list[str]
    runnable: object | None  # None: optimised per run shape, from the feeds' shapes


class TractRuntime(SessionRuntime):
    name = "tract"

    def __init__(self):
        self.input_facts = "declared"
        self.options = {"input_facts": self.input_facts}

    def configure(self, options: dict) -> None:
        for key, value in options.items():
            if key != "input_facts" or value not in INPUT_FACTS:
                raise ValueError(f"tract takes one option, input_facts={'|'.join(INPUT_FACTS)} (got {key}={value})")
            self.input_facts = value
        self.options = {"input_facts": self.input_facts}

    def available(self):
        try:
            import tract  # noqa: F401
        except ImportError as exc:
            return False, f"tract not importable: {exc}"
        return True, ""

    def load(self, model_path):
        import onnx
        import tract

        with tract_errors():
            model = tract.onnx().load(model_path)
            inputs = [model.input_name(i) for i in range(model.input_count())]
            runnable = model.into_model().into_runnable() if self.input_facts == "declared" else None
        # tract names outputs after the nodes that compute them (h_n and c_n are both '/lstm/LSTM'),
        # in the graph's order: the graph's own names, by position.
        outputs = [output.name for output in onnx.load(model_path, load_external_data=False).graph.output]
        return TractModel(model_path, inputs, outputs, runnable)

    def repro_source(self) -> str:
        lines = ["import onnx", "import tract", "", "", "def run(model_path, feeds):",
                 "    model = tract.onnx().load(model_path)",
                 "    inputs = [model.input_name(i) for i in range(model.input_count())]"]
        if self.input_facts != "declared":
            types = ", ".join(f"{k!r}: {v!r}" for k, v in ELEMENT_TYPES.items())
            lines += [f"    types = {{{types}}}",
                      "    for index, name in enumerate(inputs):",
                      "        array = feeds[name]",
                      "        model.set_input_fact(index, ','.join([*map(str, array.shape), types[array.dtype.name]]))"]
        lines += ["    values = model.into_model().into_runnable().run([feeds[name] for name in inputs])",
                  "    names = [o.name for o in onnx.load(model_path).graph.output]",
                  "    return {name: value.to_numpy() for name, value in zip(names, values)}"]
        return "\n".join(lines) + "\n"

    def run_session(self, session, feeds):
        import tract

        arrays = [feeds[name] for name in session.inputs]
        with tract_errors():
            runnable = session.runnable
            if runnable is None:
                model = tract.onnx().load(session.path)
                for index, array in enumerate(arrays):
                    model.set_input_fact(index, input_fact(array))
                runnable = model.into_model().into_runnable()
            values = runnable.run(arrays)
        return dict(zip(session.outputs, (value.to_numpy() for value in values), strict=True))
