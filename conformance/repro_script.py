"""The body of every generated repro script (see conformance/repro.py, which completes and appends to it).

It redoes the suite's steps with torch, onnx, onnxruntime and numpy alone, never importing the suite,
so a script can be attached to an upstream bug report: the seeded nn.LSTM behind the
forward(input[, h0, c0]) -> (output, h_n, c_n) wrapper, the seeded inputs, the same torch.onnx.export
call, onnx.checker, the runtime session, and the comparison with torch eager. The wrapper, the module
builder and the dynamic axes are the suite's own definitions, copied in where the marker below stands.
"""
from __future__ import annotations

import sys
import tempfile
import types
import warnings
import zlib
from pathlib import Path

import numpy as np
import onnx
import torch

# <suite definitions>


class Failure(Exception):
    def __init__(self, status, stage, exc):
        message = str(exc).strip().splitlines()
        super().__init__(f"{status} at {stage}: {type(exc).__name__}: {message[0] if message else ''}")
        self.status = status


def input_shapes(case, seq_len, batch):
    x = (batch, seq_len, case.input_size) if case.batch_first else (seq_len, batch, case.input_size)
    shapes = {"input": x}
    if case.initial_state:
        layers = (2 if case.bidirectional else 1) * case.num_layers
        shapes["h0"] = (layers, batch, case.proj_size or case.hidden_size)
        shapes["c0"] = (layers, batch, case.hidden_size)
    return shapes


def numpy_dtype(name):
    if name == "bfloat16":
        import ml_dtypes  # installed with onnx; numpy has no bfloat16 of its own

        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype(name)


def make_feeds(case, seq_len, batch):
    rng = np.random.default_rng(zlib.crc32(f"{case.seed}:{seq_len}:{batch}".encode()))
    dtype = numpy_dtype(case.dtype)
    return {name: rng.standard_normal(shape).astype(dtype) for name, shape in input_shapes(case, seq_len, batch).items()}


def eager_outputs(case, module, feeds):
    dtype = TORCH_DTYPES[case.dtype]
    with torch.no_grad():
        results = module(*(to_tensor(feeds[name], dtype) for name in feeds))
    return {name: t.to(torch.float32 if t.dtype == torch.bfloat16 else t.dtype).numpy() for name, t in zip(OUTPUT_NAMES, results)}


def export(result, case, module, args, path):
    names = axes(case)
    input_names = [n for n in ("input", "h0", "c0") if n in names]
    if result["exporter"] == "torchscript":
        torch.onnx.export(
            module, args, path, dynamo=False, input_names=input_names, output_names=list(OUTPUT_NAMES),
            opset_version=result["opset"], dynamic_axes=names if result["dynamic"] else None,
        )
        return
    dynamic_shapes = None
    if result["dynamic"]:
        # One Dim per axis name: every input's batch axis is the same symbol.
        dims = {"seq": torch.export.Dim("seq"), "batch": torch.export.Dim("batch")}
        dynamic_shapes = {n: {axis: dims[label] for axis, label in names[n].items()} for n in input_names}
    torch.onnx.export(
        module, args, path, dynamo=True, external_data=False, input_names=input_names, output_names=list(OUTPUT_NAMES),
        opset_version=result["opset"], dynamic_shapes=dynamic_shapes,
    )


def load(runtime, path):
    """A function feeds -> {output name: array} running the model where the result was recorded."""
    if runtime["kind"] == "reference":
        from onnx.reference import ReferenceEvaluator

        evaluator = ReferenceEvaluator(path)
        return lambda feeds: dict(zip(evaluator.output_names, evaluator.run(None, feeds)))
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    for key, value in runtime["session_options"].items():
        if key == "graph_optimization_level":
            value = getattr(ort.GraphOptimizationLevel, GRAPH_OPTIMIZATION_LEVELS[value])
        setattr(options, key, value)
    provider = runtime["provider"]
    providers = [(provider, runtime["provider_options"])] if runtime["provider_options"] else [provider]
    if provider != "CPUExecutionProvider":
        providers.append("CPUExecutionProvider")
    session = ort.InferenceSession(path, sess_options=options, providers=providers)
    print(f"runtime:  onnxruntime {ort.__version__}, session providers {session.get_providers()}")
    names = [o.name for o in session.get_outputs()]
    return lambda feeds: dict(zip(names, session.run(None, feeds)))


def compare(expected, actual, tolerance):
    """Output names, then shapes, then dtypes, then values: the first kind of problem found is the status."""
    if set(actual) != set(expected):
        print(f"outputs: expected {sorted(expected)}, got {sorted(actual)}")
        return "OUTPUT_COUNT_MISMATCH"
    problems = set()
    for name, e in expected.items():
        a = np.asarray(actual[name])
        if a.shape != e.shape:
            print(f"{name}: shape {list(a.shape)} != {list(e.shape)}")
            problems.add("SHAPE_MISMATCH")
            continue
        e64, a64 = e.astype(np.float64), a.astype(np.float64)
        diff = np.abs(a64 - e64)
        diff = np.where(np.isnan(e64) & np.isnan(a64), 0.0, np.where(np.isfinite(diff), diff, np.inf))
        outside = float(np.mean(diff > tolerance["atol"] + tolerance["rtol"] * np.abs(e64))) if diff.size else 0.0
        print(f"{name}: max abs {float(diff.max(initial=0.0))!r}, {outside:.1%} outside rtol={tolerance['rtol']:g} atol={tolerance['atol']:g}")
        if a.dtype != e.dtype:
            print(f"{name}: dtype {a.dtype} != {e.dtype}")
            problems.add("DTYPE_MISMATCH")
        elif outside:
            problems.add("NUMERIC_MISMATCH")
    return next((s for s in ("SHAPE_MISMATCH", "DTYPE_MISMATCH", "NUMERIC_MISMATCH") if s in problems), "PASS")


def reproduce(result, path):
    case = types.SimpleNamespace(**result["case"])  # attribute access, as the suite's LSTMCase gives
    module = build_module(case)
    args = tuple(to_tensor(a, TORCH_DTYPES[case.dtype]) for a in make_feeds(case, case.seq_len, case.batch).values())
    try:
        export(result, case, module, args, path)
    except Exception as exc:
        raise Failure("EXPORT_ERROR", "export", exc) from exc
    try:
        onnx.checker.check_model(onnx.load(path), full_check=True)
    except Exception as exc:
        raise Failure("INVALID_MODEL", "validate", exc) from exc
    try:
        run = load(result["runtime"], path)
    except Exception as exc:
        raise Failure("LOAD_ERROR", "load", exc) from exc
    feeds = make_feeds(case, *result["run_shape"])
    try:
        actual = run(feeds)
    except Exception as exc:
        raise Failure("RUN_ERROR", "run", exc) from exc
    return compare(eager_outputs(case, module, feeds), actual, result["tolerance"])


def main(result):
    recorded = result["recorded"]
    print(f"result:   {result['key']}")
    print(f"recorded: {recorded['raw_status']} at {recorded['stage']}: {recorded['message']}")
    if result["runtime"].get("note"):
        print(f"note:     {result['runtime']['note']}")
    print(f"versions: torch {torch.__version__}, onnx {onnx.__version__}")
    with tempfile.TemporaryDirectory() as directory:
        try:
            status = reproduce(result, str(Path(directory) / "model.onnx"))
        except Failure as failure:
            print(failure)
            status = failure.status
    verdict = "reproduced" if status == recorded["raw_status"] else "NOT reproduced"
    print(f"status: {status} ({verdict}; recorded {recorded['raw_status']})")
    return 0 if status == "PASS" else 1
