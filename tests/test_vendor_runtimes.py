"""OpenVINO and tract as conformance runtimes.

Each runs for real through the CLI where its package is installed (tox -e openvino / -e tract) and
is skipped, with the reason, where it is not (the `tests` env does not install them).
"""
import re
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from conftest import read_jsonl, run_cli
from conformance.runtimes import UnknownRuntimeError, get_runtime, known_runtime_names
from conformance.runtimes.openvino import OpenVinoRuntime, onnx_output_names, openvino_message
from conformance.runtimes.tract import TractRuntime, input_fact, without_backtrace

ONE_CASE = ["--case", "num_layers=1", "--exporters", "torchscript", "--modes", "static,dynamic", "--no-progress"]
# (dynamic, run shape) of the results of one case: static at the export shape, dynamic also at two others.
RUNS = [(False, (5, 3)), (True, (5, 3)), (True, (1, 1)), (True, (11, 5))]


def require(package: str, *runtimes: str):
    pytest.importorskip(package)
    missing = [name for name in runtimes if name not in known_runtime_names()]
    if missing:
        pytest.skip(f"{', '.join(missing)} not registered: install the project (pip install -e .) for its entry points")


def run_one_case(out: Path, cache_dir, runtimes: str, *extra, case=ONE_CASE):
    proc = run_cli("run", *case, "--runtimes", runtimes, "--out", out, "--cache-dir", cache_dir, *extra)
    assert proc.returncode in (0, 1), proc.stderr
    return {(r["runtime"], r["dynamic"], tuple(r["run_shape"])): r for r in read_jsonl(out / "results.jsonl") if r["record"] == "result"}


def cpu_has_native_bf16() -> bool | None:
    """What OpenVINO's CPU plugin checks before choosing bf16 (avx512_core_bf16); None where /proc/cpuinfo is absent."""
    try:
        flags = next(line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags"))
    except (OSError, StopIteration):
        return None
    return "avx512_bf16" in flags.split()


def save_graph(path: Path, nodes, outputs: list[str]) -> str:
    def value(name):
        return helper.make_tensor_value_info(name, TensorProto.FLOAT, [2])

    graph = helper.make_graph(nodes, "g", [value("x")], [value(name) for name in outputs])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), path)
    return str(path)


def identity_chain(tmp_path) -> str:
    """y = Identity(Identity(Relu(x))): compiling folds the Identities, so y's tensor also carries the inner names."""
    nodes = [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Identity", ["r"], ["i"]),
             helper.make_node("Identity", ["i"], ["y"])]
    return save_graph(tmp_path / "chain.onnx", nodes, ["y"])


def two_outputs(tmp_path) -> str:
    """z = -Relu(x) listed before y = Relu(x): names must follow the graph, not the order nodes compute."""
    nodes = [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Identity", ["r"], ["y"]),
             helper.make_node("Neg", ["r"], ["z"])]
    return save_graph(tmp_path / "two.onnx", nodes, ["z", "y"])


X = np.array([-1.0, 2.0], dtype=np.float32)


# OpenVINO

def test_onnx_output_names_prefer_the_graph_name_over_merged_inner_names():
    assert onnx_output_names([{"y"}], [{"i", "y", "r"}]) == ["y"]
    assert onnx_output_names([{"z"}, {"y"}], [{"z"}, {"r", "y"}]) == ["z", "y"]
    with pytest.raises(RuntimeError, match="cannot tell the ONNX name"):
        onnx_output_names([{"y"}], [{"r"}])
    with pytest.raises(ValueError):
        onnx_output_names([{"y"}], [{"y"}, {"z"}])


def test_openvino_message_is_the_last_line():
    wrapped = "Exception from src/inference/src/cpp/core.cpp:268:\nException from src/plugins/intel_cpu/src/config.cpp:505:\nNotFound: Unsupported property NOPE by CPU plugin.\n\n"
    assert openvino_message(RuntimeError(wrapped)) == "NotFound: Unsupported property NOPE by CPU plugin."


def test_openvino_unavailable_says_why(monkeypatch):
    monkeypatch.setitem(sys.modules, "openvino", None)  # import openvino now raises ImportError
    ok, reason = OpenVinoRuntime().available()
    assert not ok and reason.startswith("openvino not importable")


def test_openvino_names_outputs_as_the_graph_does(tmp_path):
    pytest.importorskip("openvino")
    runtime = OpenVinoRuntime()
    assert runtime.available() == (True, "")
    assert runtime.run(identity_chain(tmp_path), {"x": X}).keys() == {"y"}
    outputs = runtime.run(two_outputs(tmp_path), {"x": X})
    assert outputs["y"].tolist() == [0.0, 2.0] and outputs["z"].tolist() == [0.0, -2.0]


@pytest.fixture(scope="module")
def openvino_results(tmp_path_factory, cache_dir):
    require("openvino", "openvino", "openvino-f32")
    return run_one_case(tmp_path_factory.mktemp("openvino"), cache_dir, "openvino,openvino-f32")


def test_openvino_f32_passes_at_every_run_shape(openvino_results):
    for run in RUNS:
        record = openvino_results[("openvino-f32", *run)]
        assert record["status"] == "PASS", record["message"]
        assert record["runtime_options"]["properties"] == {"INFERENCE_PRECISION_HINT": "f32"}
        assert record["runtime_options"]["inference_precision"] == "f32"


def test_openvino_records_its_effective_precision_and_explains_bf16(openvino_results):
    for run in RUNS:
        record = openvino_results[("openvino", *run)]
        precision = record["runtime_options"]["inference_precision"]
        native_bf16 = cpu_has_native_bf16()
        if native_bf16 is not None:
            assert precision == ("bf16" if native_bf16 else "f32")
        if precision == "bf16":
            assert record["status"] == "XFAIL" and record["raw_status"] == "NUMERIC_MISMATCH"
            assert record["expectation"]["id"] == "openvino-cpu-bf16-inference-default"
            assert "precision-control" in record["expectation"]["link"]
            assert max(o["max_abs"] for o in record["outputs"].values()) > record["outputs"]["output"]["tolerance"]["atol"]
        else:
            assert precision == "f32" and record["status"] == "PASS", record["message"]


def test_openvino_property_is_passed_and_what_the_cpu_does_with_it_recorded(tmp_path, cache_dir):
    require("openvino", "openvino")
    results = run_one_case(tmp_path, cache_dir, "openvino", "--runtime-option", "openvino:INFERENCE_PRECISION_HINT=bf16")
    options = results[("openvino", *RUNS[0])]["runtime_options"]
    assert options["properties"] == {"INFERENCE_PRECISION_HINT": "bf16"}
    # The plugin keeps f32, silently, where the CPU has no native bf16: the record says so.
    if cpu_has_native_bf16() is not None:
        assert options["inference_precision"] == ("bf16" if cpu_has_native_bf16() else "f32")


def test_unknown_openvino_property_is_a_usage_error(tmp_path):
    require("openvino", "openvino")
    proc = run_cli("run", *ONE_CASE, "--runtimes", "openvino", "--runtime-option", "openvino:NO_SUCH_PROPERTY=1",
                   "--out", tmp_path / "out")
    assert proc.returncode == 2
    assert "Unsupported property NO_SUCH_PROPERTY" in proc.stderr and "Traceback" not in proc.stderr


# tract

def test_without_backtrace_keeps_the_cause():
    message = 'Failed analyse for node #13 "Reshape"\n\nCaused by:\n    0: Infering facts\n\nStack backtrace:\n   0: <anyhow>'
    assert without_backtrace(message) == 'Failed analyse for node #13 "Reshape"\n\nCaused by:\n    0: Infering facts'


def test_tract_unavailable_says_why(monkeypatch):
    monkeypatch.setitem(sys.modules, "tract", None)
    ok, reason = TractRuntime().available()
    assert not ok and reason.startswith("tract not importable")


def test_tract_names_outputs_as_the_graph_does(tmp_path):
    pytest.importorskip("tract")
    runtime = TractRuntime()
    assert runtime.run(identity_chain(tmp_path), {"x": X}).keys() == {"y"}
    outputs = runtime.run(two_outputs(tmp_path), {"x": X})
    assert outputs["y"].tolist() == [0.0, 2.0] and outputs["z"].tolist() == [0.0, -2.0]


def test_tract_passes_static_and_dynamic(tmp_path, cache_dir):
    require("tract", "tract")
    results = run_one_case(tmp_path, cache_dir, "tract")
    assert sorted(results) == sorted(("tract", *run) for run in RUNS)
    for record in results.values():
        assert record["status"] == "PASS", record["message"]
        assert set(record["outputs"]) == {"output", "h_n", "c_n"}
        assert max(o["max_abs"] for o in record["outputs"].values()) < 1e-6


def test_tract_input_facts_option():
    assert TractRuntime().options == {"input_facts": "declared"}
    runtime = TractRuntime()
    runtime.configure({"input_facts": "concrete"})
    assert runtime.options == {"input_facts": "concrete"}
    assert input_fact(np.zeros((5, 3, 4), dtype=np.float32)) == "5,3,4,f32"
    with pytest.raises(TypeError, match="no tract element type for int64"):
        input_fact(np.zeros(2, dtype=np.int64))


def test_bad_tract_option_is_a_clear_error():
    with pytest.raises(UnknownRuntimeError, match=re.escape("tract takes one option, input_facts=declared|concrete")):
        get_runtime("conformance.runtimes.tract:TractRuntime", {"input_facts": "symbolic"})


# Observed on tract 0.23: with the declared (symbolic) batch, tract's LSTM clashes with any batch but 1
# for this configuration (expected: tract-lstm-shared-zero-state-*); concrete input facts get it through.
BI_BATCH_FIRST_NO_STATE = ["--case", "num_layers=2,bidirectional=true,batch_first=true,bias=false,initial_state=false",
                           "--exporters", "torchscript", "--modes", "dynamic", "--no-progress"]


def test_tract_declared_batch_clash_is_reported_and_concrete_facts_pass(tmp_path, cache_dir):
    require("tract", "tract")
    declared = run_one_case(tmp_path / "declared", cache_dir, "tract", case=BI_BATCH_FIRST_NO_STATE)
    assert len(declared) == 3
    for (_, _, shape), record in declared.items():
        if shape[1] == 1:
            assert record["status"] == "PASS", record["message"]
        else:
            assert record["raw_status"] == "RUN_ERROR" and record["stage"] == "run"
            assert record["status"] == "XFAIL" and record["expectation"]["id"].startswith("tract-lstm-shared-zero-state-")
            assert "Clashing resolution for expression" in record["error"]["text"]
            assert "Stack backtrace" not in record["error"]["text"]
    concrete = run_one_case(tmp_path / "concrete", cache_dir, "tract", "--runtime-option", "tract:input_facts=concrete",
                            case=BI_BATCH_FIRST_NO_STATE)
    assert len(concrete) == 3
    for record in concrete.values():
        assert record["status"] == "PASS" and record["runtime_options"] == {"input_facts": "concrete"}, record["message"]
