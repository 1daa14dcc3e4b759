"""A large, realistic results file without running anything: records shaped as a real run writes them.

The structure, statuses, error texts and exporter logs follow a real `run --preset smoke` (tracebacks of
~9,000 characters for TorchScript's projection refusal, ~1,300 for onnxruntime's Reshape failure, Dynamo logs of
~1,700-3,200 characters), spread over the four kinds, packed batches and ONNX node cases, so the report's size
and load time can be measured at the scale of a `full` preset. They are written as a schema-1 file was (plain
dicts) and read through the schema upgrade, which this also exercises.
"""
from __future__ import annotations

import itertools

HEADER = {
    "record": "header", "schema": 1, "started": "2026-11-26T01:05:41+00:00",
    "command": "python -m conformance run --preset full --out /tmp/full",
    "options": {"preset": "full", "exporters": ["torchscript", "dynamo"], "modes": ["static", "dynamic"],
                "runtimes": ["ort-cpu", "ort-cuda", "reference"], "opset": 18, "jobs": 2, "shard": None},
    "versions": {"python": "3.11.7", "torch": "2.13.0+cpu", "onnx": "1.23.2", "onnxruntime": "1.32.0",
                 "onnxruntime-gpu": None, "onnxscript": "0.7.2", "numpy": "2.4.6", "jinja2": "3.1.6"},
    "onnxruntime_providers": ["AzureExecutionProvider", "CPUExecutionProvider"], "onnxruntime_build": "CPU",
    "numerics_env": {}, "platform": {"system": "Linux-6.18.44-x86_64-with-glibc2.36", "machine": "x86_64",
                                     "cpu": "AMD EPYC", "cpu_count": 2, "gpus": []},
    "git_commit": "b8cdfddef4b79a57d9103b4bb7292b73a7a04c19", "git_dirty": False,
}
RUN_SHAPES = ([5, 3], [1, 1], [11, 5])
SITE = "/work/venv/lib/python3.11/site-packages"
EXPECTATIONS = {
    "projection": {"id": "torchscript-lstm-projection", "reason": "The TorchScript exporter's LSTM symbolic refuses projections.",
                   "link": "https://github.com/k2-fsa/icefall/pull/621"},
    "specialised": {"id": "dynamo-dynamic-sequence-specialised",
                    "reason": "torch.export specialises the LSTM's time axis to the example length.",
                    "link": "https://github.com/pytorch/pytorch/issues/115092"},
}
OUTPUTS = {"lstm": ("output", "h_n", "c_n"), "gru": ("output", "h_n"), "rnn_tanh": ("output", "h_n"), "rnn_relu": ("output", "h_n")}


def _frames(count: int, module: str) -> str:
    return "".join(
        f'  File "{SITE}/torch/onnx/_internal/{module}/utils.py", line {500 + 37 * i}, in _step_{i}\n'
        f"    graph, params_dict, torch_out = _model_to_graph(model, args, verbose, input_names)\n"
        f"                                    ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n"
        for i in range(count)
    )


def _ir_graph(hidden: int, layers: int) -> str:
    lines = [f"graph(%input : Float(5, 3, 4, strides=[12, 4, 1], requires_grad=0, device=cpu),"]
    for layer in range(layers):
        lines += [f"      %lstm.weight_ih_l{layer} : Float({4 * hidden}, 4, strides=[4, 1], requires_grad=1, device=cpu),",
                  f"      %lstm.weight_hh_l{layer} : Float({4 * hidden}, 3, strides=[3, 1], requires_grad=1, device=cpu),"]
    lines += [f"  %{170 + i} : Tensor[] = prim::ListConstruct(%1, %2), scope: cases.torch_model.LSTMWithState::/torch.nn.modules.rnn.LSTM::lstm"
              for i in range(12)]
    return "\n".join(lines)


def _dynamo_log(case: str, dynamic: bool) -> str:
    log = "".join(f"W1126 01:05:52.514000 14315 torch/onnx/_internal/exporter/_registration.py:107] torchvision is not installed. "
                  f"Skipping torchvision::{op}\n" for op in ("nms", "roi_align", "roi_pool", "deform_conv2d"))
    for step in ("Obtain model graph for `Wrapper([...]` with `torch.export.export(..., strict=False)`", "Run decompositions",
                 "Translate the graph into ONNX", "Optimize the ONNX graph"):
        log += f"[torch.onnx] {step}...\n[torch.onnx] {step}... ✅\n"
    log += ("/usr/lib/python3.11/contextlib.py:144: UserWarning: The tensor attributes self.rnn._flat_weights[0], "
            "self.rnn._flat_weights[1] were assigned during export. Such attributes must be registered as buffers using the "
            f"`register_buffer` API ({case}).\n  next(self.gen)\n") * (3 if dynamic else 1)
    return log


def _stats(name: str, shape: list[int], hidden: int, max_abs: float, ok: bool) -> dict:
    full = [shape[0], shape[1], hidden] if name in ("output", "Y") else [1, shape[1], hidden]
    return {"expected_shape": full, "actual_shape": full, "expected_dtype": "float32", "actual_dtype": "float32",
            "max_abs": max_abs, "max_rel": max_abs * 300, "mismatch_fraction": 0.0 if ok else 0.4,
            "atol_to_pass": 0.0 if ok else max_abs * 1.1, "status": "PASS" if ok else "NUMERIC_MISMATCH"}


def _result(case: str, params: dict, exporter: str, dynamic: bool, runtime: str, shape: list[int], outputs: tuple[str, ...],
            number: int) -> dict:
    key = f"{case}|{exporter}|{'dynamic' if dynamic else 'static'}|18|{runtime}|{shape[0]}x{shape[1]}"
    record = {"record": "result", "case": case, "params": params, "exporter": exporter, "dynamic": dynamic, "opset": 18,
              "runtime": runtime, "run_shape": shape, "key": key, "expectation": None, "error": None, "timings": {}}
    if runtime == "ort-cuda":
        return {**record, "status": "SKIPPED", "raw_status": "SKIPPED", "stage": "available", "outputs": None,
                "message": "CUDA EP not available: this onnxruntime 1.32.0 build has AzureExecutionProvider, CPUExecutionProvider"}
    hidden = params.get("hidden_size", 8)
    log = ("" if exporter == "onnx.helper" else _dynamo_log(case, dynamic) if exporter == "dynamo" else
           f"{SITE}/torch/onnx/_internal/torchscript_exporter/symbolic_opset9.py:4462: UserWarning: Exporting a model to ONNX "
           "with a batch_size other than 1, with a variable length with LSTM can cause an error when running the ONNX model "
           f"with a different batch size ({case}).\n  return _generic_rnn(\n")
    record["export"] = {"status": "PASS", "opset": 18, "ops": {"LSTM": 1, "Transpose": 2, "Squeeze": 2}, "cached": number % 3 > 0,
                        "seconds": 2.1, "log": log}
    record["runtime_options"] = {"provider": "CPUExecutionProvider"}
    record["timings"] = {"export_s": 2.1, "export_cached": number % 3 > 0, "load_s": 0.0017, "eager_s": 0.0005, "run_s": 0.0002}
    if exporter == "torchscript" and params.get("proj_size"):
        text = ("Traceback (most recent call last):\n" + _frames(40, "torchscript_exporter")
                + "torch.onnx.errors.SymbolicValueError: Unsupported: ONNX export of operator LSTM, LSTMs with projections. "
                + "[Caused by the value 'input defined in (" + _ir_graph(hidden, params["num_layers"]) + ")']\n")
        record["export"].update(status="EXPORT_ERROR", log=log + "Torch IR graph at exception: " + _ir_graph(hidden, params["num_layers"]))
        return {**record, "status": "XFAIL", "raw_status": "EXPORT_ERROR", "stage": "export", "outputs": None,
                "expectation": EXPECTATIONS["projection"], "message": text.splitlines()[-1][:300],
                "error": {"type": "SymbolicValueError", "message": text.splitlines()[-1][:400], "text": text}}
    if exporter == "dynamo" and dynamic and shape != [5, 3]:
        text = ("Traceback (most recent call last):\n" + _frames(4, "ort")
                + "onnxruntime.capi.onnxruntime_pybind11_state.Fail: [ONNXRuntimeError] : 1 : FAIL : Non-zero status code returned "
                f"while running Reshape node. Name:'node_Reshape_{60 + number % 20}' Status Message: reshape_helper.h:84 "
                f"The input tensor cannot be reshaped to the requested shape. Input shape:{{{shape[0]},{shape[1]},1,{hidden}}}, "
                f"requested shape:{{5,-1,{hidden}}}\n")
        return {**record, "status": "XFAIL", "raw_status": "RUN_ERROR", "stage": "run", "outputs": None,
                "expectation": EXPECTATIONS["specialised"], "message": text.splitlines()[-1][:300],
                "error": {"type": "Fail", "message": text.splitlines()[-1][:400], "text": text}}
    ok = params.get("dtype") != "float16" or runtime == "reference"
    max_abs = 8.9e-8 * (1 + number % 7) if ok else 2.4e-4
    record.update(providers=["CPUExecutionProvider"], placement={}, fallback=None, tolerance={"rtol": 1e-4, "atol": 1e-5},
                  outputs={name: _stats(name, shape, hidden, max_abs, ok) for name in outputs},
                  oracle_max_abs={name: max_abs * 0.8 for name in outputs})
    if ok:
        return {**record, "status": "PASS", "raw_status": "PASS", "stage": "compare",
                "message": f"all outputs within tolerance (max abs {max_abs:.2e})"}
    message = "; ".join(f"{name}: max abs 0.00024, 40.0% of elements outside rtol=0.0001 atol=1e-05" for name in outputs)
    return {**record, "status": "NUMERIC_MISMATCH", "raw_status": "NUMERIC_MISMATCH", "stage": "compare", "message": message}


def _module_cases(kind: str, count: int):
    prefix = {"lstm": "L", "gru": "G", "rnn_tanh": "Rt", "rnn_relu": "Rr"}[kind]
    grid = itertools.product((1, 2), ("uni", "bi"), (0, 3) if kind == "lstm" else (0,), (False, True), ("fp32", "fp16"),
                             ("noh0", "h0"), (8, 16))
    for layers, direction, proj, packed, dtype, state, hidden in itertools.islice(grid, count):
        case = f"{prefix}{layers}-{direction}-{'proj' + str(proj) if proj else 'noproj'}-sf-bias-{state}-{dtype}{'-packed' if packed else ''}-H{hidden}"
        params = {"kind": kind, "packed": packed, "input_size": 4, "hidden_size": hidden, "num_layers": layers, "bias": True,
                  "batch_first": False, "dropout": 0.0, "bidirectional": direction == "bi", "train": False,
                  "initial_state": state == "h0", "dtype": "float32" if dtype == "fp32" else "float16", "seq_len": 5, "batch": 3, "seed": 0}
        if kind == "lstm":
            params["proj_size"] = proj
        yield case, params


def synthetic_results(cases_per_kind: int = 22, node_cases: int = 12):
    """(header, results), typed (verdict.records), upgraded from schema 1."""
    from verdict.records import header_from_builtins, result_from_builtins

    header, results = synthetic_v1_results(cases_per_kind, node_cases)
    return header_from_builtins(header), [result_from_builtins(r, 1) for r in results]


def synthetic_v1_results(cases_per_kind: int = 22, node_cases: int = 12) -> tuple[dict, list[dict]]:
    """(header, results): 36 results per module case (2 exporters x 2 modes x 3 runtimes x 3 run shapes) plus node cases."""
    results, number = [], 0
    for kind in OUTPUTS:
        for case, params in _module_cases(kind, cases_per_kind):
            for exporter, dynamic, runtime, shape in itertools.product(("torchscript", "dynamo"), (False, True),
                                                                       ("ort-cpu", "ort-cuda", "reference"), RUN_SHAPES):
                results.append(_result(case, params, exporter, dynamic, runtime, list(shape), OUTPUTS[kind], number))
                number += 1
    for index in range(node_cases):
        op = ("lstm", "gru", "rnn")[index % 3]
        case = f"node-{op}-variant{index}"
        outputs = ("Y", "Y_h", "Y_c") if op == "lstm" else ("Y", "Y_h")
        for runtime in ("ort-cpu", "ort-cuda", "reference"):
            record = _result(case, {"hidden_size": 5, "seq_len": 4, "batch": 3}, "onnx.helper", False, runtime, [4, 3], outputs, number)
            results.append(record)
            number += 1
    results.append({"record": "result", "case": "L1-uni-proj8-sf-bias-h0-fp32", "params": {"kind": "lstm", "proj_size": 8, "hidden_size": 8},
                    "exporter": None, "dynamic": None, "opset": None, "runtime": None, "run_shape": None, "key": "L1-uni-proj8-sf-bias-h0-fp32",
                    "status": "NOT_APPLICABLE", "raw_status": "NOT_APPLICABLE", "stage": "case", "error": None, "expectation": None,
                    "message": "torch rejects proj_size >= hidden_size (proj_size=8, hidden_size=8)"})
    return HEADER, results
