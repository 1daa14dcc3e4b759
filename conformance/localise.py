"""The first diverging node: where in the ONNX graph a failing runtime starts to compute something else.

`localise` copies the model with every intermediate tensor of its main graph made a graph output, runs that copy
in the failing runtime and in a reference runtime on the same feeds, and walks the nodes in topological order. The
culprit is the first node whose outputs differ beyond tolerance while all of its inputs agree (graph inputs and
initializers agree by definition). Floating-point tensors are judged element-wise with the suite's comparator
(verdict.compare.judge_values: NaN matches NaN, an infinity the same infinity); integer and boolean ones exactly.

What it cannot see, it says: the values inside a Loop, Scan or If body are not graph outputs, so a divergence there
is localised to the node that owns the body; a runtime that refuses the model with its intermediates exposed, or
returns fewer outputs than asked, gives "unavailable" with the runtime's own message. When the runtime raises on
the model itself (RUN_ERROR), the node it fails at is found by running ever longer prefixes of the graph.

Where the node came from in torch: the TorchScript exporter names nodes after the module path ("/layer/LSTM" is
in module `layer`); the Dynamo exporter records the module scopes in each node's metadata_props
(`pkg.torch.onnx.name_scopes`, `pkg.torch.onnx.class_hierarchy`).
"""
from __future__ import annotations

import ast
import copy
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from conformance.runtimes import RuntimeHandle
from exporters.capture import captured_output
from verdict.compare import judge_values
from verdict.records import Localisation, NodeDifference, error_info, runtime_label
from verdict.tolerances import Tolerance

# Ops whose subgraph values the walk cannot see: a divergence inside is localised to the node itself.
LOOP_OPS = frozenset({"Loop", "Scan"})
BRANCH_OPS = frozenset({"If"})
# onnx.TensorProto FLOAT, DOUBLE, FLOAT16, BFLOAT16.
FLOAT_TYPES = frozenset({1, 11, 10, 16})
# A model larger than this cannot be one protobuf: its copy keeps the weights in a side file.
PROTOBUF_LIMIT = 2**31 - 2**20


def reference_for(runtime_name: str) -> str:
    """The runtime a failing one is compared against: onnxruntime CPU, or for an onnxruntime one, onnx.reference."""
    return "reference" if runtime_name.startswith("ort") else "ort-cpu"


# --- the graph ------------------------------------------------------------------------------------------------

def _subgraphs(node) -> Iterator[Any]:
    from onnx import AttributeProto

    for attribute in node.attribute:
        if attribute.type == AttributeProto.GRAPH:
            yield attribute.g
        elif attribute.type == AttributeProto.GRAPHS:
            yield from attribute.graphs


def _outer_names(graph) -> set[str]:
    """The names a (sub)graph reads from the scopes around it."""
    defined = {v.name for v in graph.input} | {t.name for t in graph.initializer} | {t.values.name for t in graph.sparse_initializer}
    used: set[str] = set()
    for node in graph.node:
        used.update(name for name in node.input if name)
        for body in _subgraphs(node):
            used |= _outer_names(body)
        defined.update(node.output)
    return used - defined


def node_inputs(node) -> list[str]:
    """A node's inputs: its own (the optional empty ones left out), then what its bodies read from outside."""
    explicit = list(dict.fromkeys(name for name in node.input if name))
    implicit: set[str] = set()
    for body in _subgraphs(node):
        implicit |= _outer_names(body)
    return explicit + sorted(implicit - set(explicit))


def node_outputs(node) -> list[str]:
    return [name for name in node.output if name]


def topological_order(graph) -> list:
    """The main graph's nodes, each after every node whose output it reads (a body's outer reads included); stable."""
    producer = {name: index for index, node in enumerate(graph.node) for name in node_outputs(node)}
    needs = [{producer[name] for name in node_inputs(node) if name in producer} - {index} for index, node in enumerate(graph.node)]
    order: list[int] = []
    done: set[int] = set()
    pending = list(range(len(graph.node)))
    while pending:
        waiting = []
        for index in pending:
            if needs[index] <= done:
                order.append(index)
                done.add(index)
            else:
                waiting.append(index)
        if len(waiting) == len(pending):
            raise ValueError(f"the graph has a cycle through node {graph.node[waiting[0]].name or graph.node[waiting[0]].op_type!r}")
        pending = waiting
    return [graph.node[index] for index in order]


def _join_scopes(scopes: list[str]) -> str:
    """Module scopes, outermost first, as one dotted path. An exporter writes a scope either relative to the one
    around it ('layer', then 'lstm') or already qualified ('layer1', then 'layer1.0'): both read as 'layer1.0'."""
    path = ""
    for scope in scopes:
        scope = scope.strip()
        if not scope:
            continue
        path = scope if not path or scope.startswith(path + ".") else f"{path}.{scope}"
    return path


def module_of(node) -> str | None:
    """The path of the torch module a node came from, where the exporter recorded one ('layer', 'encoder.layers.0');
    where only the class hierarchy was recorded, the innermost module's class. None for the root module."""
    props = {prop.key: prop.value for prop in node.metadata_props}
    for key in ("pkg.torch.onnx.name_scopes", "pkg.torch.onnx.class_hierarchy"):
        if key in props:
            try:
                scopes = ast.literal_eval(props[key])
            except (ValueError, SyntaxError):
                continue
            if not isinstance(scopes, (list, tuple)) or not all(isinstance(s, str) for s in scopes):
                continue
            if key == "pkg.torch.onnx.name_scopes":  # ['', 'layer', <the fx node's own name>]
                return _join_scopes(list(scopes[:-1])) or None
            if len(scopes) >= 2:  # [<root class>, ..., <innermost module class>, <the op>]
                return scopes[-2]
    name = node.name
    if name.startswith("/") and name.count("/") >= 2:  # TorchScript: '/layer/LSTM', '/layer1/layer1.0/conv1/Conv'
        return _join_scopes(name.split("/")[1:-1]) or None
    return None


# --- the copies that are run -----------------------------------------------------------------------------------

def _inferred_types(model) -> dict[str, Any]:
    """Tensor name -> TypeProto, from onnx's shape inference (nothing where it fails)."""
    import onnx

    try:
        inferred = onnx.shape_inference.infer_shapes(model)
    except Exception:  # a model onnx cannot infer still runs: its outputs go untyped
        return {}
    graph = inferred.graph
    return {v.name: v.type for v in (*graph.value_info, *graph.output, *graph.input) if v.type.WhichOneof("value")}


def _strip_shapes(type_proto, *, ranked: bool = False) -> None:
    """Keep the element type, drop the shape: an intermediate's inferred shape may be symbolic or wrong, and a runtime
    that checks outputs against their declared shape must not fail for what inference guessed. `ranked` keeps the rank,
    every dimension unknown: for a runtime whose importer requires a shape on every graph output (IREE's runs onnx's
    checker, which does)."""
    kind = type_proto.WhichOneof("value")
    if kind == "tensor_type":
        if ranked and type_proto.tensor_type.HasField("shape"):
            for dim in type_proto.tensor_type.shape.dim:
                dim.Clear()
        else:
            type_proto.tensor_type.ClearField("shape")
    elif kind == "sequence_type":
        _strip_shapes(type_proto.sequence_type.elem_type, ranked=ranked)
    elif kind == "optional_type":
        _strip_shapes(type_proto.optional_type.elem_type, ranked=ranked)


def _is_typed(type_proto) -> bool:
    if type_proto is None:
        return False
    kind = type_proto.WhichOneof("value")
    if kind == "tensor_type":
        return type_proto.tensor_type.elem_type != 0
    return kind is not None


def _output(name: str, type_proto, ranked: bool):
    from onnx import ValueInfoProto

    value = ValueInfoProto(name=name)
    if _is_typed(type_proto):
        value.type.CopyFrom(type_proto)
        _strip_shapes(value.type, ranked=ranked)
    return value


def _with_outputs(model, nodes: list, outputs: list[str], types: dict[str, Any], ranked: bool = False):
    """A copy of `model` whose main graph holds `nodes` and returns `outputs`, in that order (their ranks declared where
    `ranked` and inference found them)."""
    from onnx import ModelProto

    graph = model.graph
    kept = ModelProto()
    kept.CopyFrom(model)
    del kept.graph.node[:]
    kept.graph.node.extend(nodes)
    declared = {v.name: v for v in graph.output}
    del kept.graph.output[:]
    kept.graph.output.extend(copy.deepcopy(declared[name]) if name in declared else _output(name, types.get(name), ranked) for name in outputs)
    return kept


def _save(model, path: Path) -> str:
    import onnx

    if model.ByteSize() > PROTOBUF_LIMIT:
        onnx.save(model, str(path), save_as_external_data=True, location=path.name + ".data")
    else:
        onnx.save(model, str(path))
    return str(path)


@dataclass
class _Run:
    values: dict[str, Any] | None = None
    error: str | None = None  # the runtime raised
    short: str | None = None  # the runtime answered, without the outputs asked for


def _run(handle: RuntimeHandle, model, nodes: list, outputs: list[str], types: dict[str, Any], feeds: dict, path: Path) -> _Run:
    """Run `nodes` returning `outputs`. Where the runtime refuses that, again returning only the tensors of a known type
    (no untyped or sequence values), then only the floating-point ones (a runtime may keep shapes in a type of its own
    that it cannot return): the values left out are not compared. Where it refuses all three, each once more with the
    outputs' ranks declared (a runtime that requires a shape on every graph output)."""
    declared = {v.name for v in model.graph.output}
    typed = [name for name in outputs if name in declared or _is_tensor(types.get(name))]
    floats = [name for name in typed if name in declared or types[name].tensor_type.elem_type in FLOAT_TYPES]
    attempts = list(dict.fromkeys(tuple(asked) for asked in (outputs, typed, floats) if asked))
    if not attempts:
        return _Run(values={})
    first: _Run | None = None
    for asked, ranked in [(list(asked), ranked) for ranked in (False, True) for asked in attempts]:
        result = _run_once(handle, _with_outputs(model, nodes, asked, types, ranked), asked, feeds, path)
        if result.values is not None:
            return result
        first = first or result
    return first


def _is_tensor(type_proto) -> bool:
    return type_proto is not None and type_proto.WhichOneof("value") == "tensor_type" and type_proto.tensor_type.elem_type != 0


def _run_once(handle: RuntimeHandle, model, asked: list[str], feeds: dict, path: Path) -> _Run:
    try:
        # What a runtime logs about the failures provoked here would bury the answer; its exception says it.
        with captured_output():
            returned = handle.run(_save(model, path), dict(feeds)).outputs
    except Exception as exc:  # the runtime's failure, reported with its message
        return _Run(error=error_info(exc).message)
    if set(asked) <= set(returned):
        return _Run(values={name: returned[name] for name in asked})
    if len(returned) == len(asked):  # a runtime that names its outputs its own way, in the graph's order
        return _Run(values=dict(zip(asked, returned.values())))
    got = ", ".join(list(returned)[:5]) + (", …" if len(returned) > 5 else "")
    return _Run(short=f"{handle.name} returned {len(returned)} outputs of the {len(asked)} asked ({got}): it does not expose the intermediates")


# --- comparing ---------------------------------------------------------------------------------------------------

def _arrays(value) -> list[np.ndarray] | None:
    """A tensor as one array, a sequence as its arrays; None for what cannot be compared (a map, a missing optional)."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        arrays = [_arrays(item) for item in value]
        return None if any(a is None for a in arrays) else [a for items in arrays for a in items]
    try:
        return [np.asarray(value)]
    except Exception:
        return None


def _exact(array: np.ndarray) -> bool:
    """Integers and booleans: compared exactly."""
    return array.dtype.kind in "biu"


def _numeric(array: np.ndarray) -> bool:
    """What converts to float64: numpy's numbers, and ml_dtypes' floats (bfloat16, the float8 kinds)."""
    return array.dtype.kind in "biuf" or "float" in array.dtype.name


def difference(name: str, expected, actual, tolerance: Tolerance) -> tuple[NodeDifference, bool | None]:
    """(how far `actual` is from `expected`, whether they differ beyond tolerance); None: they cannot be compared."""
    left, right = _arrays(expected), _arrays(actual)
    if left is None or right is None:
        return NodeDifference(name=name), None
    if len(left) != len(right):  # sequences of different lengths
        return NodeDifference(name=name), True
    largest, nonfinite, differs = 0.0, 0, False
    for e, a in zip(left, right):
        if e.shape != a.shape:
            return NodeDifference(name=name, nonfinite_mismatches=nonfinite), True
        if not (_numeric(e) and _numeric(a)):  # strings and the like: equal or not
            same = bool(np.array_equal(e, a))
            differs |= not same
            largest = None if largest is None or not same else largest
            continue
        e64, a64 = e.astype(np.float64), a.astype(np.float64)
        if _exact(e) or _exact(a):
            values_differ = (e != a) if _exact(e) and _exact(a) else ~((e64 == a64) | (np.isnan(e64) & np.isnan(a64)))
            gap = np.abs(np.where(values_differ, a64 - e64, 0.0))
            nonfinite_here = 0
            differs |= bool(values_differ.any())
        else:
            values = judge_values(e64, a64, tolerance)
            gap = values.difference[~values.nonfinite_mismatch]
            nonfinite_here = int(values.nonfinite_mismatch.sum())
            differs |= not bool(values.close.all())
        nonfinite += nonfinite_here
        if largest is not None and gap.size:
            biggest = float(np.max(gap))
            largest = max(largest, biggest) if np.isfinite(biggest) else None
    return NodeDifference(name=name, max_abs=largest, nonfinite_mismatches=nonfinite), differs


# --- localising -------------------------------------------------------------------------------------------------

def _unavailable(reference: RuntimeHandle | str, reason: str) -> Localisation:
    return Localisation(status="unavailable", reference=getattr(reference, "name", reference), reason=reason)


def localise(model_path: str, feeds: dict[str, np.ndarray], runtime: RuntimeHandle, reference: RuntimeHandle,
             tolerance_for: Callable[[str], Tolerance]) -> Localisation:
    """The first node of `model_path` whose outputs differ between `runtime` (the failing one) and `reference` on
    `feeds` while all of its inputs agree; `tolerance_for(tensor name)` is the tolerance of a floating-point tensor."""
    import onnx

    for handle in (runtime, reference):
        ok, why = handle.available()
        if not ok:
            return _unavailable(reference, f"{handle.name} is not available here: {why}")
    try:
        model = onnx.load(model_path)
        order = topological_order(model.graph)
    except Exception as exc:
        return _unavailable(reference, f"cannot read the model {model_path}: {error_info(exc).message}")
    graph = model.graph
    types = _inferred_types(model)
    declared = [v.name for v in graph.output]
    exposed = list(dict.fromkeys(name for node in order for name in node_outputs(node) if name not in set(declared)))
    outputs = declared + exposed
    with tempfile.TemporaryDirectory(prefix="lstm-localise-") as scratch:
        scratch = Path(scratch)
        expected = _run(reference, model, order, outputs, types, feeds, scratch / "reference.onnx")
        if expected.short is not None:
            return _unavailable(reference, expected.short)
        got = _run(runtime, model, order, outputs, types, feeds, scratch / "runtime.onnx")
        if got.short is not None:
            return _unavailable(reference, got.short)
        if got.error is not None:
            fails = _run(runtime, model, order, declared, types, feeds, scratch / "original.onnx")
            if fails.error is None:
                return _unavailable(reference, f"{runtime.name} refused the model with its intermediates exposed: {got.error}")
            return _failing_node(model, order, types, feeds, runtime, reference, expected, tolerance_for, scratch, fails.error)
        if expected.error is not None:
            return _unavailable(reference, f"the reference runtime, {runtime_label(reference.name)}, cannot run the model with its "
                                           f"intermediates exposed: {expected.error}")
        found = _walk(graph, order, expected.values, got.values, reference.name, tolerance_for)
        if found.status == "not found":
            hidden = _differs_unexposed(model, order, declared, types, feeds, runtime, expected.values, tolerance_for, scratch)
            if hidden:
                return _unavailable(reference, f"{runtime.name} differs from {runtime_label(reference.name)} in {', '.join(hidden)} only when "
                                               "the intermediates are not outputs: exposing them changes how it computes the graph "
                                               "(a fusion or rewrite across nodes), so no one node can be blamed")
    return found


def _differs_unexposed(model, order: list, declared: list[str], types: dict, feeds: dict, runtime: RuntimeHandle, expected: dict,
                       tolerance_for, scratch: Path) -> list[str]:
    """The graph outputs in which the runtime, running the model as it is, differs from the reference's values."""
    plain = _run(runtime, model, order, declared, types, feeds, scratch / "plain.onnx")
    if plain.values is None:
        return []
    return [name for name in declared
            if difference(name, expected.get(name), plain.values.get(name), tolerance_for(name))[1]]


def _given(graph) -> set[str]:
    """The values every runtime is handed: graph inputs and initializers."""
    return {v.name for v in graph.input} | {t.name for t in graph.initializer} | {t.values.name for t in graph.sparse_initializer}


def _compare_inputs(graph, node, expected: dict, actual: dict, tolerance_for) -> tuple[list[NodeDifference], list[str]]:
    """Each input's difference, and the inputs whose values neither side showed."""
    given, differences, unseen = _given(graph), [], []
    for name in node_inputs(node):
        if name in given:
            differences.append(NodeDifference(name=name, max_abs=0.0))
            continue
        found, _ = difference(name, expected.get(name), actual.get(name), tolerance_for(name))
        differences.append(found)
        if name not in expected or name not in actual:
            unseen.append(name)
    return differences, unseen


def _located(reference: str, node, inputs: list[NodeDifference], outputs: list[NodeDifference], notes: list[str],
             *, values_differ: bool = True) -> Localisation:
    if values_differ and node.op_type in LOOP_OPS:
        notes = ["inside a Loop/Scan body: localised to the node", *notes]
    elif values_differ and node.op_type in BRANCH_OPS:
        notes = ["inside an If branch: localised to the node", *notes]
    return Localisation(status="found", reference=reference, reason="; ".join(notes), node=node.name or None,
                        op_type=node.op_type, module=module_of(node), inputs=inputs, outputs=outputs)


def _walk(graph, order: list, expected: dict, actual: dict, reference: str, tolerance_for) -> Localisation:
    compared = tensors = 0
    for node in order:
        results = [difference(name, expected.get(name), actual.get(name), tolerance_for(name)) for name in node_outputs(node)]
        compared += sum(differs is not None for _, differs in results)
        tensors += len(results)
        if not any(differs for _, differs in results):
            continue
        inputs, unseen = _compare_inputs(graph, node, expected, actual, tolerance_for)
        notes = [f"inputs not observed: {', '.join(unseen)} (the divergence may start before this node)"] if unseen else []
        return _located(reference, node, inputs, [found for found, _ in results], notes)
    return Localisation(status="not found", reference=reference,
                        reason=f"every intermediate agrees with {runtime_label(reference)} ({compared} of the {tensors} tensors of its "
                               f"{len(order)} nodes compared, the graph outputs included): the runtime computes this model as the reference does, so a "
                               "difference from torch eager is in the model itself, or shared by both runtimes")


def _failing_node(model, order: list, types: dict, feeds: dict, runtime: RuntimeHandle, reference: RuntimeHandle, whole: _Run,
                  tolerance_for, scratch: Path, whole_error: str) -> Localisation:
    """The runtime raises on the model: the node its error names (onnxruntime and tract quote the node's name), or else
    the last node of the shortest prefix of the graph it raises on with the same error.

    A prefix returns only its last values (those no node of it reads), so that it runs every node it holds and asks
    the runtime for as little as it can. A prefix the runtime fails on otherwise (it cannot return some value, say)
    does not hold the failure looked for. The prefix before the failing node is then run again returning everything,
    to tell whether a value diverged even before the runtime failed. `whole`: the reference's run of the whole model;
    where the reference raises too, it runs that prefix as well."""
    def prefix(count: int) -> _Run:
        nodes = order[:count]
        read = {name for node in nodes for name in node_inputs(node)}
        last = [name for node in nodes for name in node_outputs(node) if name not in read]
        return _run(runtime, model, nodes, last, types, feeds, scratch / f"prefix-{count}.onnx")

    runs: dict[int, _Run] = {}
    good, bad = 0, len(order)  # the prefix of `good` nodes runs, the one of `bad` does not
    named = _named_in(order, whole_error)
    if named is not None:
        good, bad = named, named + 1
    while bad - good > 1:
        middle = (good + bad) // 2
        runs[middle] = prefix(middle)
        if runs[middle].short is not None:
            return _unavailable(reference, runs[middle].short)
        if runs[middle].error is not None and _same_error(runs[middle].error, whole_error):
            bad = middle
        else:
            good = middle
    if bad == 1 and named is None and model.graph.input:
        # Even the first node fails: a model that runs no node at all (it returns an input) tells a failure before any.
        first = model.graph.input[0].name
        empty = _run(runtime, model, [], [first], types, feeds, scratch / "no-nodes.onnx")
        if empty.error is not None and _same_error(empty.error, whole_error):
            return _unavailable(reference, f"{runtime.name} fails before it runs any node (the inputs, or the model as a "
                                           f"whole): {whole_error}")
    failing = order[bad - 1]
    message = runs[bad].error if bad in runs else whole_error
    actual: dict = {}
    expected: dict = whole.values or {}
    both = [f"the reference runtime, {runtime_label(reference.name)}, raises on the model too: {whole.error}"] if whole.error else []
    if good:
        values = [name for node in order[:good] for name in node_outputs(node)]
        actual = _run(runtime, model, order[:good], values, types, feeds, scratch / "before.onnx").values or {}
        if whole.values is None:
            expected = _run(reference, model, order[:good], values, types, feeds, scratch / "reference-before.onnx").values or {}
        earlier = _walk(model.graph, order[:good], expected, actual, reference.name, tolerance_for) if actual else None
        if earlier is not None and earlier.status == "found":
            earlier.reason = "; ".join(filter(None, [earlier.reason, f"{runtime.name} then raises at node "
                                                                     f"{failing.name or failing.op_type} ({failing.op_type}): {message}",
                                                     *both]))
            return earlier
    inputs, unseen = _compare_inputs(model.graph, failing, expected, actual, tolerance_for)
    notes = [f"{runtime.name} raises at this node: {message}", *both]
    if unseen:
        notes.append(f"inputs not observed: {', '.join(unseen)}")
    return _located(reference.name, failing, inputs, [NodeDifference(name=name) for name in node_outputs(failing)], notes,
                    values_differ=False)


def _named_in(order: list, message: str) -> int | None:
    """The position of the node a runtime's error names, quoted ('name', "name" or (name)); None if it names none, or
    several."""
    named = {index for index, node in enumerate(order)
             if node.name and any(quoted in message for quoted in (f"'{node.name}'", f'"{node.name}"', f"({node.name})"))}
    return named.pop() if len(named) == 1 else None


def _same_error(one: str, other: str) -> bool:
    """The same failure: the same first line, whatever numbers (a runtime numbers the nodes it has) or model file (each
    prefix is one) it holds."""
    def gist(message: str) -> str:
        first = (message.strip().splitlines() or [""])[0]
        return re.sub(r"\d+", "#", re.sub(r"\S+\.onnx\b", "<model>", first))

    return gist(one) == gist(other)


# --- Localising recorded results ------------------------------------------------------------------------------

# The results that localising can say something about: the runtime ran the model, or raised running it.
LOCALISABLE = frozenset({"NUMERIC_MISMATCH", "SHAPE_MISMATCH", "RUN_ERROR"})


def localise_recorded(result, job, model: Path, options, threads: int = 1) -> Localisation:
    """Localise a recorded result of `job` (a Job or a user's ModelJob) on its exported `model`, fed the run shape's inputs
    (a streaming model's first call) and judged with the run's tolerances. Never raises: a failure is "unavailable"."""
    from conformance.runtimes import get_runtime
    from conformance.stages.eager import reference_for as eager_reference
    from conformance.stages.export import base_tolerance

    reference_name = reference_for(result.runtime)
    if result.raw_status.value not in LOCALISABLE:
        return _unavailable(reference_name, f"the result is {result.raw_status.value}: only a numeric or shape mismatch or a "
                                            "run error is localised")
    if not model.exists():
        return _unavailable(reference_name, f"the exported model was not kept ({model.name})")
    try:
        runtime = get_runtime(result.runtime, options.runtime_options.get(result.runtime))
        reference = get_runtime(reference_name, options.runtime_options.get(reference_name))
        for handle in (runtime, reference):
            handle.set_threads(threads)
        feeds = eager_reference(job, oracle=False).data(tuple(result.run_shape)).feeds
        base = base_tolerance(job)
        return localise(str(model), feeds, runtime, reference, lambda name: options.tolerances.for_output(base, name))
    except Exception as exc:  # a diagnosis that fails must not hide the verdict it explains
        return _unavailable(reference_name, f"localising failed: {type(exc).__name__}: {error_info(exc).message}")


def cluster_representatives(results: list) -> list:
    """The first result of each failure cluster (reports.clusters) whose observed status is localisable."""
    from reports.clusters import failure_clusters
    from verdict.status import observed

    firsts = [cluster.records[0] for cluster in failure_clusters(results)]
    return [r for r in firsts if observed(r).value in LOCALISABLE and r.localisation is None]


def _localise_in_child(result, options, models_dir: str, threads: int) -> Localisation:
    from conformance.repro import job_of
    from conformance.worker import pin_threads

    pin_threads(threads)
    job = job_of(result)
    return localise_recorded(result, job, Path(models_dir) / job.model_name, options, threads)


def localise_failures(results: list, options, models_dir: Path, *, timeout: float, threads: int = 1) -> dict[str, Localisation]:
    """Localise the first result of each failure cluster of a run, each in a child process that a crashing or hanging
    runtime takes down alone (then "unavailable", with why). Results of a corpus are not localised here: their
    models live in the corpus (`repro` does not run them either)."""
    import concurrent.futures
    import multiprocessing

    found: dict[str, Localisation] = {}
    chosen = []
    for result in cluster_representatives(results):
        why = _not_localised(result, options)
        if why:
            found[result.key] = _unavailable(reference_for(result.runtime), why)
        else:
            chosen.append(result)
    executor = None
    try:
        for result in chosen:
            if executor is None:
                executor = concurrent.futures.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
            future = executor.submit(_localise_in_child, result, options, str(models_dir), threads)
            try:
                found[result.key] = future.result(timeout=timeout)
            except concurrent.futures.TimeoutError:
                found[result.key] = _unavailable(reference_for(result.runtime), f"localising ran past the {timeout:g}s stage timeout")
                _stop(executor)
                executor = None
            except Exception as exc:  # the child died (a crashing runtime) or the suite failed: say so, go on
                found[result.key] = _unavailable(reference_for(result.runtime), f"localising failed: {type(exc).__name__}: {exc}")
                _stop(executor)
                executor = None
    finally:
        if executor is not None:
            executor.shutdown(wait=True)
    return found


def _not_localised(result, options) -> str | None:
    """Why a run does not localise this result itself, or None."""
    if options.corpus:
        return "a corpus result: this run did not export its model, the corpus did; run-corpus does not localise"
    if str(result.params.get("kind", "")).startswith("node") or result.case.startswith("node-"):  # node-lstm: onnx's node tests
        return f"a node case is one ONNX node ({result.params.get('op', 'the recurrent op')}): that node is where it diverges"
    return None


def _stop(executor) -> None:
    for process in list(getattr(executor, "_processes", {}).values()):
        process.kill()
    executor.shutdown(wait=False, cancel_futures=True)
