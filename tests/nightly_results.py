"""A nightly-sized results set without running anything: 15,552 results, as `run --opsets 18,23` of the default preset writes.

216 configurations (72 LSTM with and without projections, 48 each of GRU, RNN-tanh and RNN-relu; dense and packed; fp32,
fp16 and bf16) x 3 exporters x 2 shape modes x opsets 18 and 23 x 3 runtimes, static models at one run shape and dynamic
ones at three: 72 results per configuration. The statuses, messages, tracebacks and exporter logs follow a real nightly on
torch 2.13.0 (a CPU machine: ort-cuda is SKIPPED), with the lengths it shows (tracebacks from about 500 to 20,000
characters, logs from about 300 to 8,000) and more variety than it has: each text carries the numbers of its own case,
shape and node, so they compress no better than a real run's would. A few results carry what a GPU or a failing run adds
(node placement, eager on CUDA, the first diverging node) and some fail unexpectedly, so every field the report shows
appears. Typed through verdict.records, as a results file is read.
"""
from __future__ import annotations

import hashlib
import itertools

SITE = "/work/venv/lib/python3.11/site-packages"
SUITE = "/work/snap"
# Where the suite's validation step raises: onnx's checker, called from exporters/base.py.
CHECKER_FRAMES = [(f"{SUITE}/exporters/base.py", 85, "validate", "onnx.checker.check_model(model, full_check=True)"),
                  (f"{SITE}/onnx/checker.py", 163, "check_model", "C.check_model(")]
OPSETS = (18, 23)
EXPORTERS = ("torchscript", "dynamo", "decomposed")
RUNTIMES = ("ort-cpu", "ort-cuda", "reference")
OUTPUTS = {"lstm": ("output", "h_n", "c_n"), "gru": ("output", "h_n"), "rnn_tanh": ("output", "h_n"), "rnn_relu": ("output", "h_n")}
COUNTS = {"lstm": 72, "gru": 48, "rnn_tanh": 48, "rnn_relu": 48}
PREFIX = {"lstm": "L", "gru": "G", "rnn_tanh": "Rtanh", "rnn_relu": "Rrelu"}
TOLERANCE = {"float32": (1e-4, 1e-5), "float16": (1e-2, 1e-3), "bfloat16": (5e-2, 1e-2)}
DTYPES = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}

EXPECTATIONS = {
    "projection": ("torchscript-lstm-projection", "The TorchScript exporter's LSTM symbolic refuses projections (proj_size > 0).",
                   "https://github.com/pytorch/pytorch/issues/126276"),
    "dynamo-projection": ("dynamo-lstm-projection-shape", "The Dynamo exporter writes an LSTM with projections whose declared "
                          "output shape uses hidden_size where proj_size belongs: onnx.checker's shape inference refuses it.",
                          "https://github.com/pytorch/pytorch/issues/132019"),
    "packed": ("dynamo-packed-sequence", "torch.export cannot trace pack_padded_sequence: data-dependent batch sizes (u0).",
               "https://github.com/pytorch/pytorch/issues/134302"),
    "bf16": ("bf16-lstm-before-opset-22", "The ONNX LSTM, GRU and RNN ops admit bfloat16 from opset 22 on.",
             "https://github.com/onnx/onnx/pull/5811"),
    "time-axis": ("dynamo-dynamic-sequence-specialised", "torch.export specialises the time axis of an RNN to the example length: "
                  "the sequence length is baked into a Reshape.", "https://github.com/pytorch/pytorch/issues/115092"),
    "relu": ("reference-rnn-relu-activation", "onnx.reference's RNN kernel knows the activation as 'relu', not 'Relu' as the "
             "exporters write it.", "https://github.com/onnx/onnx/issues/6652"),
    "sequence-lens": ("reference-recurrent-sequence-lens", "onnx.reference's LSTM, GRU and RNN kernels take sequence_lens but ignore "
                      "it: every sequence runs to the full length.",
                      "https://github.com/onnx/onnx/blob/f7546912001bc31e92a238b17068a21b373d882e/onnx/reference/ops/op_rnn.py#L104-L121"),
}


def _number(*parts) -> int:
    """A stable pseudo-random number for these coordinates: the same results every time."""
    return int.from_bytes(hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=6).digest(), "big")


def _float(*parts, low=1e-8, high=1e-7) -> float:
    return low + (high - low) * (_number(*parts) % 10_000) / 10_000


def _frame(path: str, line: int, function: str, code: str) -> str:
    return f'  File "{path}", line {line}, in {function}\n    {code}\n    {"^" * min(len(code), 60)}\n'


def _traceback(frames: list[tuple[str, int, str, str]], last: str) -> str:
    return "Traceback (most recent call last):\n" + "".join(_frame(*f) for f in frames) + last + "\n"


def _ir_graph(case: str, hidden: int, layers: int, bidirectional: bool, proj: int) -> str:
    weights = []
    for layer, suffix in itertools.product(range(layers), ("", "_reverse") if bidirectional else ("",)):
        width = 4 if layer == 0 else proj * (2 if bidirectional else 1)
        weights += [f"%layer.weight_ih_l{layer}{suffix} : Float({4 * hidden}, {width}, strides=[{width}, 1], requires_grad=1, device=cpu)",
                    f"%layer.weight_hh_l{layer}{suffix} : Float({4 * hidden}, {proj}, strides=[{proj}, 1], requires_grad=1, device=cpu)",
                    f"%layer.bias_ih_l{layer}{suffix} : Float({4 * hidden}, strides=[1], requires_grad=1, device=cpu)",
                    f"%layer.bias_hh_l{layer}{suffix} : Float({4 * hidden}, strides=[1], requires_grad=1, device=cpu)",
                    f"%layer.weight_hr_l{layer}{suffix} : Float({proj}, {hidden}, strides=[{hidden}, 1], requires_grad=1, device=cpu)"]
    nodes = [f"  %{200 + i} : Tensor[] = prim::ListConstruct(%h0, %c0), scope: cases.wrappers.DenseWithStates::/"
             f"torch.nn.modules.rnn.LSTM::layer # {SITE}/torch/nn/modules/rnn.py:{1100 + i}:0 ({case})" for i in range(6 * layers)]
    return "graph(%input : Float(5, 3, 4, strides=[12, 4, 1], requires_grad=0, device=cpu),\n      " + ",\n      ".join(weights) + \
        "):\n" + "\n".join(nodes) + "\n  return (%output, %h_n, %c_n)\n"


def _symbolic_error(case: str, p: dict) -> tuple[str, str, str]:
    graph = _ir_graph(case, p["hidden_size"], p["num_layers"], p["bidirectional"], p["proj_size"])
    frames = [(f"{SUITE}/exporters/base.py", 55, "export", "self._export(module, args, path, case, dynamic=dynamic, opset=opset)"),
              (f"{SUITE}/exporters/torchscript.py", 13, "_export", "torch.onnx.export(")]
    frames += [(f"{SITE}/torch/onnx/_internal/torchscript_exporter/utils.py", 500 + 37 * i, f"_step_{i}",
                "graph, params_dict, torch_out = _model_to_graph(model, args, verbose, input_names)") for i in range(30)]
    message = ("Unsupported: ONNX export of operator LSTM, LSTMs with projections. Please feel free to request support or submit a pull "
               "request on PyTorch GitHub: https://github.com/pytorch/pytorch/issues  [Caused by the value 'input defined in (")
    text = _traceback(frames, "torch.onnx.errors.SymbolicValueError: " + message + graph + ")' (type 'Tensor')")
    return "SymbolicValueError", message[:300], text


def _export_error(case: str, p: dict, dynamic: bool) -> tuple[str, str, str]:
    frames = [(f"{SITE}/torch/onnx/_internal/exporter/_capture_strategies.py", 140 + 100 * i, "__call__",
               "exported_program = self._capture(model, args, kwargs, dynamic_shapes)") for i in range(3)]
    frames += [(f"{SITE}/torch/export/_trace.py", 1000 + 91 * i, f"_export_{i}", "ep = _export_for_training(mod, args, kwargs, "
                "dynamic_shapes, strict=strict, preserve_module_call_signature=preserve_module_call_signature)") for i in range(60)]
    guards = "".join(f"  - Not all values of u{i} = x.batch_sizes[{i}] in the specified range are valid because u{i} was inferred to "
                     f"be a constant ({p['batch']}, {p['seq_len'] - i}) for {case}.\n" for i in range(8 * p["num_layers"]))
    last = ("torch._dynamo.exc.UserError: Could not guard on data-dependent expression Eq(u0, "
            f"{p['seq_len']}) (unhinted: Eq(u0, {p['seq_len']})).  (Size-like symbols: u0)\n" + guards +
            "\nThe error above occurred when calling torch.export.export. If you would like to view some more information about this "
            "error, and get a list of all other errors that may occur in your export call, you can replace your `export()` call with "
            f"`draft_export()`.{' (dynamic shapes: batch, time)' if dynamic else ''}")
    message = "Failed to export the model with torch.export. This is step 1/3 of exporting the model to ONNX. Next steps:"
    return "TorchExportError", message, _traceback(frames, last)


def _run_frames(runtime: str) -> list:
    frames = [(f"{SUITE}/conformance/stages/run.py", 31, "run", "output = runtime.run_session(session, feeds)"),
              (f"{SUITE}/conformance/runtimes/base.py", 116, "run_session",
               "raw = self.runtime.run_session(session, feeds) if self.loads_apart else self.runtime.run(session, feeds)")]
    if runtime == "reference":
        return frames + [(f"{SITE}/onnx/reference/reference_evaluator.py", 590 + 7 * i, "run", "outputs = node.run(*inputs, **linked_attributes)")
                         for i in range(5)] + [(f"{SITE}/numpy/_core/fromnumeric.py", 299, "reshape",
                                                "return _wrapfunc(a, 'reshape', shape, order=order)")]
    return frames + [(f"{SUITE}/conformance/runtimes/ort.py", 190, "run_session", "return session.run(None, feeds)"),
                     (f"{SITE}/onnxruntime/capi/onnxruntime_inference_collection.py", 406, "run",
                      "return self._sess.run(output_names, input_feed, run_options)")]


def _time_axis_error(kind: str, runtime: str, shape: list, hidden: int, node: int) -> tuple[str, str, str]:
    if runtime == "reference":
        message = f"cannot reshape array of size {shape[0] * shape[1] * hidden} into shape (5,newaxis,{hidden})"
        return "ValueError", message, _traceback(_run_frames(runtime), "ValueError: " + message)
    if kind.startswith("rnn"):
        message = "[ONNXRuntimeError] : 2 : INVALID_ARGUMENT : Got invalid dimensions for input: input for the following indices"
        last = (f"onnxruntime.capi.onnxruntime_pybind11_state.InvalidArgument: {message}\n index: 0 Got: {shape[0]} Expected: 5\n"
                " Please fix either the inputs/outputs or the model.")
        return "InvalidArgument", message, _traceback(_run_frames(runtime), last)
    message = (f"[ONNXRuntimeError] : 1 : FAIL : Non-zero status code returned while running Reshape node. Name:'node_Reshape_{node}' "
               "Status Message: /onnxruntime_src/onnxruntime/core/providers/cpu/tensor/reshape_helper.h:84 onnxruntime::ReshapeHelper::"
               "ReshapeHelper(const onnxruntime::TensorShape&, onnxruntime::TensorShapeVector&, bool) size != 0 && (input_shape_size % "
               "size) == 0 was false. The input tensor cannot be reshaped to the requested shape. "
               f"Input shape:{{{shape[0]},{shape[1]},1,{hidden}}}, requested shape:{{5,-1,{hidden}}}")
    return "Fail", message[:300], _traceback(_run_frames(runtime), "onnxruntime.capi.onnxruntime_pybind11_state.Fail: " + message)


def _log(case: str, exporter: str, dynamic: bool, opset: int, p: dict, number: int) -> str:
    if exporter == "dynamo":
        wrapper = "PackedWithStates" if p["packed"] else "DenseWithStates"
        log = "dynamo exporter: torchlib registry reused for this process\n"
        log += "".join(f"W1201 16:{30 + number % 29:02d}:{number % 60:02d}.{number % 999:03d}000 {27000 + number % 977} torch/onnx/_internal/"
                       f"exporter/_registration.py:107] torchvision is not installed. Skipping torchvision::{op}\n"
                       for op in ("nms", "roi_align", "roi_pool", "deform_conv2d", "ps_roi_align", "ps_roi_pool"))
        for step in (f"Obtain model graph for `{wrapper}([...]` with `torch.export.export(..., strict=False)`", "Run decompositions",
                     "Translate the graph into ONNX", f"Optimize the ONNX graph (opset {opset})"):
            log += f"[torch.onnx] {step}...\n[torch.onnx] {step}... ✅\n"
        log += ("/root/.pyenv/versions/3.11.7/lib/python3.11/contextlib.py:144: UserWarning: The tensor attributes "
                + ", ".join(f"self.layer._flat_weights[{i}]" for i in range(4 * p["num_layers"] * (2 if p["bidirectional"] else 1)))
                + f" were assigned during export. Such attributes must be registered as buffers using the `register_buffer` API ({case}).\n"
                "  next(self.gen)\n") * (3 if dynamic else 1)
        return log
    log = (f"{SITE}/torch/onnx/_internal/torchscript_exporter/symbolic_opset9.py:{4400 + opset}: UserWarning: Exporting a model to ONNX "
           f"with a batch_size other than 1, with a variable length with {p['kind'].upper()} can cause an error when running the ONNX "
           f"model with a different batch size. Make sure to save the model with a batch size of 1, or define the initial states "
           f"(h0/c0) as inputs of the model. ({case})\n  return _generic_rnn(\n")
    if p["packed"]:
        log += "".join(f"[W1201 16:38:{i:02d}.{number % 10**9:09d} shape_type_inference.cpp:1994] Warning: The shape inference of "
                       "prim::PackPadded type is missing, so it may result in wrong shape inference for the exported graph. Please "
                       "consider adding it in symbolic function. (function UpdateReliable)\n" for i in range(4))
    if exporter == "decomposed":
        log += (f"{SITE}/torch/jit/_recursive.py:{300 + number % 50}: UserWarning: 'lstmp_layer' was scripted: the time loop becomes an "
                f"ONNX Loop with a dynamic trip count ({case}, opset {opset})\n")
    return log


def _ops(kind: str, exporter: str, p: dict) -> dict:
    op = {"lstm": "LSTM", "gru": "GRU"}.get(kind, "RNN")
    if exporter == "decomposed" and p.get("proj_size"):
        return {"Loop": p["num_layers"] * (2 if p["bidirectional"] else 1), "Concat": 3, "Constant": 14, "Gather": 2, "Shape": 2}
    ops = {op: p["num_layers"], "Transpose": 2 if p["batch_first"] else 0, "Squeeze": 2 * p["num_layers"], "Unsqueeze": 2,
           "Concat": 1 + p["num_layers"], "Constant": 4 + 2 * p["num_layers"]}
    if p["packed"]:
        ops.update(Cast=4, TopK=1, ScatterElements=1, ConstantOfShape=1, Range=1, ReduceProd=1)
    return {name: n for name, n in ops.items() if n}


def _outputs(kind: str, names, p: dict, shape: list, key: str, scale: float, failed: bool) -> dict:
    dtype = p["dtype"]
    rtol, atol = TOLERANCE[dtype]
    directions = 2 if p["bidirectional"] else 1
    width = (p.get("proj_size") or p["hidden_size"]) * directions
    stats = {}
    for name in names:
        if name == "output":
            full = [shape[1], shape[0], width] if p["batch_first"] else [shape[0], shape[1], width]
        else:
            full = [p["num_layers"] * directions, shape[1], p["hidden_size"] if name == "c_n" else width // directions]
        max_abs = _float(key, name, low=scale, high=scale * 9)
        stats[name] = {
            "status": "NUMERIC_MISMATCH" if failed else "PASS", "expected_shape": full, "actual_shape": full,
            "expected_dtype": dtype, "actual_dtype": dtype, "tolerance": {"rtol": rtol, "atol": atol},
            "yardstick": "eager" if dtype == "float32" else "oracle", "max_abs": max_abs,
            "max_rel": max_abs * _float(key, name, "rel", low=20, high=400),
            "mismatch_fraction": round(_float(key, name, "mm", low=0.2, high=0.7), 3) if failed else 0.0,
            "atol_to_pass": max_abs * 1.01 if failed else 0.0, "nonfinite_mismatches": 0,
            "oracle_max_abs": max_abs * 0.9, "eager_oracle_max_abs": _float(key, name, "eager", low=1e-8, high=6e-8),
        }
    return stats


def _cases():
    for kind, count in COUNTS.items():
        axes = [(False, True), ("fp32", "fp16", "bf16"), (1, 2), ("uni", "bi"), ("sf", "bf"), ("bias", "nobias"), ("h0", "noh0")]
        if kind == "lstm":
            axes.insert(0, (0, 3))
        grid = list(itertools.product(*axes))
        for index in range(count):
            values = list(grid[index * len(grid) // count])
            proj = values.pop(0) if kind == "lstm" else 0
            packed, dtype, layers, direction, first, bias, state = values
            parts = [f"{PREFIX[kind]}{layers}", direction] + ([f"proj{proj}" if proj else "noproj"] if kind == "lstm" else [])
            case = "-".join(parts + [first, bias, state, dtype]) + ("-packed" if packed else "")
            params = {"kind": kind, "packed": packed, "input_size": 4, "hidden_size": 8, "num_layers": layers, "bias": bias == "bias",
                      "batch_first": first == "bf", "dropout": 0.0, "bidirectional": direction == "bi", "train": False,
                      "initial_state": state == "h0", "dtype": DTYPES[dtype], "seq_len": 5, "batch": 3, "seed": 0}
            if kind == "lstm":
                params["proj_size"] = proj
            if kind.startswith("rnn"):
                params["nonlinearity"] = kind.split("_")[1]
            yield kind, case, params


def _shapes(packed: bool, dynamic: bool) -> list[list]:
    shapes = [[5, 3], [1, 1], [11, 5]] if dynamic else [[5, 3]]
    if packed:
        return [[*shape, "equal" if shape == [1, 1] or (dynamic and shape == [5, 3]) else "varied"] for shape in shapes]
    return shapes


def _expectation(name: str) -> dict:
    id_, reason, link = EXPECTATIONS[name]
    return {"id": id_, "reason": reason, "link": link}


def _result(kind: str, case: str, p: dict, exporter: str, dynamic: bool, opset: int, runtime: str, shape: list, number: int) -> dict:
    from verdict.records import result_key

    key = result_key(case, exporter, dynamic, opset, runtime, shape)
    base = {"key": key, "case": case, "params": p, "exporter": exporter, "dynamic": dynamic, "opset": opset, "runtime": runtime,
            "run_shape": shape, "runtime_options": {}}
    if runtime == "ort-cuda":
        return {**base, "status": "SKIPPED", "raw_status": "SKIPPED", "stage": "available",
                "message": "CUDA EP not available: this onnxruntime 1.32.0 build has AzureExecutionProvider, CPUExecutionProvider"}
    cached = number % 5 > 0
    export_s = _float(case, exporter, dynamic, opset, low=0.05, high=0.4) if exporter != "dynamo" else _float(case, dynamic, opset, low=1.9, high=6.2)
    export = {"status": "PASS", "opset": opset, "ops": _ops(kind, exporter, p), "cached": cached, "seconds": export_s,
              "log": _log(case, exporter, dynamic, opset, p, _number(case, exporter, dynamic, opset))}
    timings = {"export_s": round(export_s, 4), "export_cached": cached, "load_s": round(_float(key, "load", low=8e-4, high=9e-3), 4),
               "eager_s": round(_float(key, "eager", low=1e-4, high=4e-3), 4), "run_s": round(_float(key, "run", low=1e-4, high=3e-3), 4)}
    base.update(export=export, timings=timings, runtime_options={"provider": "CPUExecutionProvider"} if runtime == "ort-cpu" else {})

    def failure(status, stage, expectation, error, message=None, **extra):
        type_, first, text = error
        if stage in ("export", "validate"):
            export["status"] = status
        return {**base, **extra, "status": "XFAIL" if expectation else status, "raw_status": status, "stage": stage,
                "message": message or first, "error": {"type": type_, "message": first[:400], "text": text},
                "expectation": _expectation(expectation) if expectation else None}

    proj, packed, dtype = p.get("proj_size"), p["packed"], p["dtype"]
    if exporter == "torchscript" and proj:
        export["log"] += "Torch IR graph at exception: " + _ir_graph(case, p["hidden_size"], p["num_layers"], p["bidirectional"], proj)
        return failure("EXPORT_ERROR", "export", "projection", _symbolic_error(case, p))
    if exporter == "dynamo" and packed:
        return failure("EXPORT_ERROR", "export", "packed", _export_error(case, p, dynamic))
    if exporter == "dynamo" and proj:
        message = (f"[ShapeInferenceError] Inference error(s): (op_type:LSTM, node name: node_lstm__{number % 7}): [ShapeInferenceError] "
                   f"Inferred shape and existing shape differ in dimension 2: ({proj}) vs ({p['hidden_size']})")
        return failure("INVALID_MODEL", "validate", "dynamo-projection",
                       ("InferenceError", message, _traceback(CHECKER_FRAMES, "onnx.onnx_cpp2py_export.shape_inference.InferenceError: " + message)))
    if dtype == "bfloat16" and opset < 22:
        op = {"lstm": "LSTM", "gru": "GRU"}.get(kind, "RNN")
        message = (f"Field 'type' of 'X' is invalid: bad input type tensor(bfloat16) for operator {op} "
                   f"(opset {opset}): allowed types are tensor(double), tensor(float), tensor(float16)")
        return failure("INVALID_MODEL", "validate", "bf16",
                       ("ValidationError", message, _traceback(CHECKER_FRAMES, "onnx.onnx_cpp2py_export.checker.ValidationError: " + message)))
    if kind == "rnn_relu" and runtime == "reference":
        frames = [(f"{SUITE}/conformance/stages/run.py", 21, "load", "session = runtime.load(str(model_path))"),
                  (f"{SITE}/onnx/reference/ops/op_rnn.py", 37, "__init__", "self.f1 = self.choose_act("),
                  (f"{SITE}/onnx/reference/ops/op_rnn.py", 73, "choose_act", 'raise RuntimeError(f"Unknown activation function {name!r}.")')]
        message = "Unknown activation function 'Relu'."
        return failure("LOAD_ERROR", "load", "relu", ("RuntimeError", message, _traceback(frames, "RuntimeError: " + message)))
    if exporter == "dynamo" and dynamic and shape[:2] != [5, 3]:
        if kind == "gru" and shape[:2] == [11, 5]:
            width = p["hidden_size"] * (2 if p["bidirectional"] else 1)
            return {**base, "status": "XFAIL", "raw_status": "SHAPE_MISMATCH", "stage": "compare", "expectation": _expectation("time-axis"),
                    "message": f"output: shape [5, 11, {width}] != [11, 5, {width}]"}
        return failure("RUN_ERROR", "run", "time-axis", _time_axis_error(kind, runtime, shape, p["hidden_size"], 60 + number % 40))
    names = OUTPUTS[kind]
    base["providers"] = ["CPUExecutionProvider"] if runtime == "ort-cpu" else []
    if packed and runtime == "reference" and shape[-1] == "varied":
        outputs = _outputs(kind, names, p, shape, key, 0.05, True)
        message = "; ".join(f"{name}: max abs {o['max_abs']:.3g}, {o['mismatch_fraction']:.1%} of elements outside rtol={o['tolerance']['rtol']:g} "
                            f"atol={o['tolerance']['atol']:g}" for name, o in outputs.items())
        return {**base, "status": "XFAIL", "raw_status": "NUMERIC_MISMATCH", "stage": "compare", "outputs": outputs,
                "expectation": _expectation("sequence-lens"), "message": message}
    if dtype == "float16" and runtime == "ort-cpu" and p["num_layers"] == 2 and p["bidirectional"] and dynamic and shape[:2] == [11, 5]:
        # unexpected: a precision loss no expectation explains; the first result of its cluster was localised
        outputs = _outputs(kind, names, p, shape, key, 4e-3, True)
        message = "; ".join(f"{name}: max abs {o['max_abs']:.3g}, {o['mismatch_fraction']:.1%} of elements outside rtol=0.01 atol=0.001"
                            for name, o in outputs.items())
        localisation = {"status": "found", "reference": "reference", "node": f"/layer/{kind.upper()}_{number % 3}",
                        "op_type": {"lstm": "LSTM", "gru": "GRU"}.get(kind, "RNN"), "module": "layer",
                        "inputs": [{"name": "input", "max_abs": 0.0}, {"name": "h0", "max_abs": 0.0}],
                        "outputs": [{"name": f"/layer/{kind.upper()}_output_0", "max_abs": outputs["output"]["max_abs"]}]}
        return {**base, "status": "NUMERIC_MISMATCH", "raw_status": "NUMERIC_MISMATCH", "stage": "compare", "outputs": outputs,
                "message": message, "localisation": localisation if number % 4 == 0 else None,
                "expectation": _expectation("sequence-lens") if number % 3 == 0 else None}
    scale = 1e-8 if dtype == "float32" else 1e-4
    outputs = _outputs(kind, names, p, shape, key, scale, False)
    extra = {}
    if number % 97 == 0:  # as a GPU run records them
        extra = {"placement": {"CPUExecutionProvider": {"Shape": 2, "Gather": 1}},
                 "eager_cuda_max_abs": {n: o["max_abs"] / 3 for n, o in outputs.items()}}
    return {**base, **extra, "status": "PASS", "raw_status": "PASS", "stage": "compare", "outputs": outputs,
            "message": f"all outputs within tolerance (max abs {max(o['max_abs'] for o in outputs.values()):.2e})"}


HEADER = {
    "record": "header", "schema": 2, "started": "2026-12-01T16:21:04+00:00",
    "command": "python -m conformance run --preset default --opsets 18,23 --out /tmp/nightly",
    "options": {"preset": "default", "exporters": list(EXPORTERS), "modes": ["static", "dynamic"], "runtimes": list(RUNTIMES),
                "opsets": list(OPSETS), "jobs": 2},
    "versions": {"python": "3.11.7", "torch": "2.13.0+cpu", "onnx": "1.23.2", "onnxruntime": "1.32.0", "onnxscript": "0.7.2",
                 "numpy": "2.4.6", "jinja2": "3.1.6"},
    "onnxruntime_providers": ["AzureExecutionProvider", "CPUExecutionProvider"], "onnxruntime_build": "CPU",
    "platform": {"system": "Linux-6.18.44-x86_64-with-glibc2.36", "machine": "x86_64", "cpu": "AMD EPYC", "cpu_count": 2, "gpus": []},
    "git_commit": "820123a5d3c1f0e4b7a9c2d6e8f1a3b5c7d9e0f2", "git_dirty": False,
}


def nightly_results():
    """(header, results): 15,552 typed results (verdict.records)."""
    import msgspec

    from verdict.records import Header, Result

    results, number = [], 0
    for kind, case, params in _cases():
        for exporter, dynamic, opset, runtime in itertools.product(EXPORTERS, (False, True), OPSETS, RUNTIMES):
            for shape in _shapes(params["packed"], dynamic):
                record = _result(kind, case, params, exporter, dynamic, opset, runtime, shape, number)
                results.append({"record": "result", **{k: v for k, v in record.items() if v is not None}})
                number += 1
    return msgspec.convert(HEADER, Header), msgspec.convert(results, list[Result])
