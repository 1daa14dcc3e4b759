"""Users' own models: a factory gives the module and its example inputs, and the suite runs it through the same
matrix as its generated cases (every exporter, static and dynamic, every runtime, the export shape and others).

The factory contract (docs/YOUR_MODEL.md). `run --model package.module:factory` imports `factory` and calls it
with no arguments; it returns either `(module, inputs)` or a `ModelSpec` (or a mapping of its fields):

    module        torch.nn.Module                  required; evaluated in eval mode
    inputs        tuple of tensors                 required; the example the exporters trace with
    input_names   list[str]                        default: forward's parameter names
    output_names  list[str]                        default: output_0, output_1, ... (as many as forward returns)
    dynamic_axes  {input name: {axis: label}}      default: axis 0 of every input, labelled "time"
    run_shapes    [{label: size}, ...]             the other shapes a dynamic export runs at;
                                                   default: the time label at 1 and at twice the example's size
    lengths       str | None                       an int64 input holding each sample's length: the suite feeds it
                                                   varied and equal lengths at every run shape (a packed batch)
    carry         {output name: input name}        a streaming model: run `chunks` calls, each output fed back
    chunks        int                              into its input for the next call (default 1: one call)
    tolerance     (rtol, atol) | None              default: the table of verdict.tolerances for the inputs' dtype
    name          str                              default: the factory's name; for a factory called `factory`,
                                                   its module's (cases.zoo.crnn:factory is "crnn")

The factory must be deterministic: the suite seeds torch with 0 before calling it, in every worker.
Everything wrong with what a factory returns is a ModelError that names the factory and the field (exit 2).
A factory that cannot be imported, or raises, is one result with the reason instead (conformance.plan).
"""
from __future__ import annotations

import importlib
import inspect
import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

# The label of the time axis when the factory names none.
TIME = "time"
FACTORY_PATH = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
FIELDS = ("module", "inputs", "input_names", "output_names", "dynamic_axes", "run_shapes", "lengths", "carry", "chunks",
          "tolerance", "name")
# The parameters a user model's results record beside the Case fields they share (kind, packed, dtype, seq_len,
# batch): what an expectation's "params.<name>" condition is checked against.
MODEL_PARAM_TYPES: dict[str, type] = {"model": str, "source": str}


class ModelError(ValueError):
    """What is wrong with a factory or what it returned: a usage error (exit 2)."""


@dataclass
class ModelSpec:
    module: Any
    inputs: tuple
    input_names: list[str] | None = None
    output_names: list[str] | None = None
    dynamic_axes: dict[str, dict[int, str]] | None = None
    run_shapes: list[dict[str, int]] | None = None
    lengths: str | None = None
    carry: dict[str, str] = field(default_factory=dict)
    chunks: int = 1
    tolerance: tuple[float, float] | None = None
    name: str | None = None


def check_path(source: str) -> str:
    if not FACTORY_PATH.match(source or ""):
        raise ModelError(f"--model {source!r} is not of the form package.module:factory")
    return source


def import_factory(source: str):
    """The factory a path names; ImportError or AttributeError (the model's own failure) propagate."""
    module_name, _, attribute = check_path(source).partition(":")
    factory = getattr(importlib.import_module(module_name), attribute)
    if not callable(factory):
        raise ModelError(f"--model {source}: {attribute} is not callable")
    return factory


def build_spec(source: str) -> ModelSpec:
    """Import the factory, call it (seeded), and check and complete what it returns. A ModelError names the problem;
    an exception of the model's own (import, construction) propagates."""
    import torch

    factory = import_factory(source)
    torch.manual_seed(0)
    returned = factory()
    return complete(returned, source)


def complete(returned, source: str) -> ModelSpec:
    """The spec with every default filled in and every field checked."""
    import torch

    where = f"--model {source}"
    if isinstance(returned, tuple) and len(returned) == 2 and not isinstance(returned[0], torch.Tensor):
        returned = ModelSpec(module=returned[0], inputs=returned[1])
    elif isinstance(returned, dict):
        unknown = sorted(set(returned) - set(FIELDS))
        if unknown:
            raise ModelError(f"{where}: unknown field(s) {', '.join(unknown)}; a factory returns {', '.join(FIELDS)}")
        try:
            returned = ModelSpec(**returned)
        except TypeError as exc:
            raise ModelError(f"{where}: {exc}") from None
    if not isinstance(returned, ModelSpec):
        raise ModelError(f"{where} returned {type(returned).__name__}; it must return (module, inputs), a ModelSpec or a dict of its fields")
    spec = returned
    if not isinstance(spec.module, torch.nn.Module):
        raise ModelError(f"{where}: module is {type(spec.module).__name__}, not a torch.nn.Module")
    inputs = (spec.inputs,) if isinstance(spec.inputs, torch.Tensor) else spec.inputs
    if not isinstance(inputs, (tuple, list)) or not inputs or not all(isinstance(t, torch.Tensor) for t in inputs):
        raise ModelError(f"{where}: inputs must be a tensor or a non-empty tuple of tensors")
    spec.inputs = tuple(inputs)
    floats = {str(t.dtype).removeprefix("torch.") for t in spec.inputs if t.is_floating_point()}
    if len(floats) > 1:
        raise ModelError(f"{where}: inputs mix floating-point dtypes ({', '.join(sorted(floats))}); give one")
    spec.input_names = _names(spec.input_names, _parameter_names(spec.module, len(spec.inputs)), len(spec.inputs), "input_names", where)
    spec.module.eval()
    with torch.no_grad():
        outputs = flatten(spec.module(*spec.inputs))
    spec.output_names = _names(spec.output_names, [f"output_{i}" for i in range(len(outputs))], len(outputs), "output_names", where)
    if set(spec.input_names) & set(spec.output_names):
        raise ModelError(f"{where}: a name is both an input and an output: {sorted(set(spec.input_names) & set(spec.output_names))}")
    spec.dynamic_axes = _axes(spec, where)
    spec.run_shapes = _run_shapes(spec, where)
    if spec.lengths is not None:
        if spec.lengths not in spec.input_names:
            raise ModelError(f"{where}: lengths names {spec.lengths!r}, which is not an input ({', '.join(spec.input_names)})")
        tensor = spec.inputs[spec.input_names.index(spec.lengths)]
        if tensor.dtype != torch.int64 or tensor.dim() != 1:
            raise ModelError(f"{where}: the lengths input {spec.lengths!r} must be a 1-d int64 tensor")
    if not isinstance(spec.chunks, int) or spec.chunks < 1:
        raise ModelError(f"{where}: chunks must be a whole number >= 1")
    for output, input_name in spec.carry.items():
        if output not in spec.output_names or input_name not in spec.input_names:
            raise ModelError(f"{where}: carry maps {output!r} to {input_name!r}; it must map an output to an input")
    if spec.tolerance is not None:
        try:
            rtol, atol = (float(v) for v in spec.tolerance)
        except (TypeError, ValueError):
            raise ModelError(f"{where}: tolerance must be (rtol, atol)") from None
        spec.tolerance = (rtol, atol)
    spec.name = spec.name or default_name(source)
    if not re.match(r"^[\w.-]+$", spec.name):
        raise ModelError(f"{where}: name {spec.name!r} may hold letters, digits, '.', '_' and '-' only")
    return spec


def default_name(source: str) -> str:
    """The factory's name, or, for one called `factory`, its module's: cases.zoo.crnn:factory is "crnn"."""
    module, _, attribute = source.partition(":")
    return module.rpartition(".")[2] if attribute == "factory" else attribute


def _parameter_names(module, count: int) -> list[str]:
    parameters = [p for p in inspect.signature(module.forward).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    names = [p.name for p in parameters][:count]
    return names if len(names) == count else [f"input_{i}" for i in range(count)]


def _names(given, default: list[str], count: int, label: str, where: str) -> list[str]:
    names = list(given) if given is not None else default
    if len(names) != count or not all(isinstance(n, str) and n for n in names) or len(set(names)) != count:
        raise ModelError(f"{where}: {label} must be {count} distinct names (got {given!r})")
    return names


def _axes(spec: ModelSpec, where: str) -> dict[str, dict[int, str]]:
    if spec.dynamic_axes is None:
        return {name: {0: TIME} for name, t in zip(spec.input_names, spec.inputs) if t.dim() > 0}
    axes = {}
    for name, table in spec.dynamic_axes.items():
        if name not in spec.input_names + spec.output_names:
            raise ModelError(f"{where}: dynamic_axes names {name!r}, which is neither an input nor an output")
        if not isinstance(table, dict) or not all(isinstance(a, int) and isinstance(l, str) for a, l in table.items()):
            raise ModelError(f"{where}: dynamic_axes[{name!r}] must map axis numbers to labels")
        if name in spec.input_names:
            rank = spec.inputs[spec.input_names.index(name)].dim()
            if any(not 0 <= a < rank for a in table):
                raise ModelError(f"{where}: dynamic_axes[{name!r}] names an axis beyond the input's {rank}")
        axes[name] = dict(table)
    return axes


def labels(spec: ModelSpec) -> dict[str, int]:
    """Each dynamic label of the inputs and its size in the example."""
    sizes: dict[str, int] = {}
    for name, table in spec.dynamic_axes.items():
        if name in spec.input_names:
            tensor = spec.inputs[spec.input_names.index(name)]
            for axis, label in table.items():
                sizes.setdefault(label, int(tensor.shape[axis]))
    return sizes


def time_label(spec: ModelSpec) -> str | None:
    """The label whose size a run shape is named by first: "time" if there is one, else the first input's first."""
    found = labels(spec)
    if TIME in found:
        return TIME
    return next(iter(found), None)


def _run_shapes(spec: ModelSpec, where: str) -> list[dict[str, int]]:
    found = labels(spec)
    if spec.run_shapes is None:
        label = time_label(spec)
        return [] if label is None else [{label: 1}, {label: 2 * found[label]}]
    shapes = []
    for shape in spec.run_shapes:
        if not isinstance(shape, dict) or not shape or any(l not in found or not isinstance(n, int) or n < 1 for l, n in shape.items()):
            raise ModelError(f"{where}: run_shapes must be dicts of dynamic labels ({', '.join(found)}) to sizes >= 1 (got {shape!r})")
        shapes.append(dict(shape))
    return shapes


def flatten(outputs) -> list:
    """A forward's outputs as a flat list of tensors (tuples and lists nested, in order)."""
    import torch

    if isinstance(outputs, torch.Tensor):
        return [outputs]
    flat = []
    for item in outputs:
        flat.extend(flatten(item))
    return flat


@dataclass(frozen=True)
class ModelRef:
    """A user's model as the suite's work refers to it: picklable, rebuilt from its factory in each process."""

    source: str  # package.module:factory

    @property
    def spec(self) -> ModelSpec:
        return _spec(self.source)

    @property
    def id(self) -> str:
        return f"model-{self.spec.name}"

    def params(self) -> dict:
        spec = self.spec
        seq_len, batch = run_shape_of(spec, {})
        return {"kind": "model", "model": spec.name, "source": self.source, "dtype": self.dtype,
                "packed": spec.lengths is not None, "seq_len": seq_len, "batch": batch}

    @property
    def dtype(self) -> str:
        floats = [str(t.dtype).removeprefix("torch.") for t in self.spec.inputs if t.is_floating_point()]
        return floats[0] if floats else "float32"

    @property
    def batch(self) -> int:
        return run_shape_of(self.spec, {})[1]

    def invalid_reason(self) -> str | None:
        """A user's model is always a test; what is wrong with its factory is a usage error or a result instead."""
        return None

    def input_names(self) -> list[str]:
        return list(self.spec.input_names)

    def output_names(self) -> list[str]:
        return list(self.spec.output_names)

    def dynamic_axes(self) -> dict[str, dict[int, str]]:
        return dict(self.spec.dynamic_axes)


@cache
def _spec(source: str) -> ModelSpec:
    return build_spec(source)


def run_shape_of(spec: ModelSpec, sizes: dict[str, int], pattern: str | None = None) -> tuple:
    """A run shape as results record it: (time size, batch size[, length pattern]); the export shape is `{}`. The batch is
    the "batch" label's size, else the first input's axis beside its time axis (1 where time is axis 0, else 0)."""
    found = {**labels(spec), **sizes}
    label = time_label(spec)
    first, name = spec.inputs[0], spec.input_names[0]
    time_axes = [axis for axis, axis_label in spec.dynamic_axes.get(name, {}).items() if axis_label == label]
    batch_axis = 1 if time_axes[:1] == [0] or not time_axes else 0
    batch = found["batch"] if "batch" in found else int(first.shape[batch_axis]) if first.dim() > batch_axis else 1
    shape = (found.get(label, 1) if label else 1, batch)
    return (*shape, pattern) if pattern else shape


def feeds(spec: ModelSpec, sizes: dict[str, int], pattern: str | None = None, chunk: int = 0) -> dict:
    """The inputs (numpy arrays, by input name) at a run shape: the example itself at `{}`; otherwise each dynamic axis
    resized to its label's size, floats drawn from a normal distribution, integers from the example's range, and the
    lengths input (if any) laid out by `pattern` (cases.inputs.LENGTH_PATTERNS). A streaming model's later chunks
    (`chunk` > 0) are drawn afresh, at the example's shape where `sizes` is `{}`."""
    import zlib

    import numpy as np

    from cases.inputs import sequence_lengths

    arrays = {name: _numpy(t) for name, t in zip(spec.input_names, spec.inputs)}
    if not sizes and not chunk and spec.lengths is None:
        return arrays
    rng = np.random.default_rng(zlib.crc32(f"{spec.name}:{sorted(sizes.items())}:{chunk}".encode()))
    time_size, batch = run_shape_of(spec, sizes)[:2]
    result = {}
    for name, example in arrays.items():
        shape = list(example.shape)
        for axis, label in spec.dynamic_axes.get(name, {}).items():
            shape[axis] = sizes.get(label, shape[axis])
        if name == spec.lengths:
            result[name] = sequence_lengths(time_size, shape[0], pattern or "varied")
        elif not sizes and not chunk:
            result[name] = example
        elif np.issubdtype(example.dtype, np.floating) or example.dtype.name == "bfloat16":
            result[name] = rng.standard_normal(shape).astype(example.dtype)
        elif np.issubdtype(example.dtype, np.integer):
            low, high = (int(example.min()), int(example.max())) if example.size else (0, 1)
            result[name] = rng.integers(low, high + 1, size=shape, dtype=example.dtype)
        else:
            result[name] = np.resize(example, shape)
    return result


def _numpy(tensor):
    import torch

    from cases.dtypes import DTYPES

    if tensor.dtype == torch.bfloat16:
        return tensor.detach().to(torch.float32).numpy().astype(DTYPES["bfloat16"].numpy)
    return tensor.detach().numpy()


def eager_outputs(spec: ModelSpec, arrays: dict, dtype: str | None = None) -> dict:
    """torch eager's outputs (numpy, by output name) for `arrays`; `dtype` ("float64": the oracle) converts the module
    and the floating-point inputs on a copy."""
    import copy

    import torch

    module, inputs = spec.module, []
    if dtype is not None:
        module = copy.deepcopy(module).to(getattr(torch, dtype))
    for name in spec.input_names:
        array = arrays[name]
        tensor = torch.from_numpy(array.astype("float32") if array.dtype.name == "bfloat16" else array)
        if array.dtype.name == "bfloat16":
            tensor = tensor.to(torch.bfloat16)
        if dtype is not None and tensor.is_floating_point():
            tensor = tensor.to(getattr(torch, dtype))
        inputs.append(tensor)
    with torch.no_grad():
        outputs = flatten(module.eval()(*inputs))
    return {name: _numpy(t) for name, t in zip(spec.output_names, outputs)}
