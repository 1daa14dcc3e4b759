import pytest

from conformance.runtimes import UnknownRuntimeError, get_runtime, known_runtime_names
from conformance.runtimes.ort import float_nodes_on_cpu, placement_from_profile


def node_event(name, op, provider, out_type="float"):
    return {"cat": "Node", "name": f"{name}_kernel_time", "args": {"op_name": op, "provider": provider,
            "output_type_shape": [{out_type: [5, 3, 8]}]}}


def test_builtins_are_listed():
    assert {"ort-cpu", "ort-cuda", "reference"} <= set(known_runtime_names())


def test_cuda_reports_why_it_cannot_run_here():
    import onnxruntime

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("this machine has the CUDA execution provider")
    ok, reason = get_runtime("ort-cuda").available()
    assert not ok and reason.startswith("CUDA EP not available")


def test_any_execution_provider_by_name():
    runtime = get_runtime("ort:CPUExecutionProvider")
    assert runtime.name == "ort:CPUExecutionProvider" and runtime.available() == (True, "")


def test_unknown_runtime_is_a_clear_error():
    with pytest.raises(UnknownRuntimeError, match="unknown runtime 'nope'"):
        get_runtime("nope")
    with pytest.raises(UnknownRuntimeError, match="cannot load runtime"):
        get_runtime("no.such.module:Runtime")


def test_placement_counts_each_node_once():
    events = [node_event("lstm", "LSTM", "CUDAExecutionProvider"), node_event("lstm", "LSTM", "CUDAExecutionProvider"),
              node_event("shape", "Shape", "CPUExecutionProvider", "int64")]
    assert placement_from_profile(events) == {"LSTM": {"CUDAExecutionProvider": 1}, "Shape": {"CPUExecutionProvider": 1}}


def test_float_work_on_cpu_is_fallback_but_shape_arithmetic_is_not():
    events = [node_event("shape", "Shape", "CPUExecutionProvider", "int64"),
              node_event("lstm", "LSTM", "CUDAExecutionProvider")]
    assert float_nodes_on_cpu(events) == []
    events.append(node_event("transpose", "Transpose", "CPUExecutionProvider"))
    assert float_nodes_on_cpu(events) == ["Transpose:transpose"]


def test_ort_session_and_provider_options_are_recorded():
    runtime = get_runtime("ort-cpu", {"graph_optimization_level": "disable", "intra_op_num_threads": "1", "some_ep_flag": "on"})
    assert runtime.options == {
        "provider": "CPUExecutionProvider",
        "provider_options": {"some_ep_flag": "on"},
        "session_options": {"graph_optimization_level": "disable", "intra_op_num_threads": 1},
    }


def test_bad_runtime_options_are_clear_errors():
    with pytest.raises(UnknownRuntimeError, match="graph_optimization_level must be one of"):
        get_runtime("ort-cpu", {"graph_optimization_level": "max"})
    with pytest.raises(UnknownRuntimeError, match="intra_op_num_threads must be an integer"):
        get_runtime("ort-cpu", {"intra_op_num_threads": "many"})
    with pytest.raises(UnknownRuntimeError, match="takes no options"):
        get_runtime("reference", {"x": "1"})


def test_configured_session_runs(tmp_path):
    import numpy as np

    path = relu_model(tmp_path / "relu.onnx")
    runtime = get_runtime("ort-cpu", {"graph_optimization_level": "disable", "intra_op_num_threads": "1"})
    out = runtime.run(str(path), {"x": np.array([-1.0, 2.0], dtype=np.float32)})
    assert out.outputs["y"].tolist() == [0.0, 2.0]


def relu_model(path):
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])])
    onnx.save(helper.make_model(graph, ir_version=8, opset_imports=[helper.make_opsetid("", 18)]), path)
    return path


@pytest.fixture
def build_listing_cuda(monkeypatch):
    """An onnxruntime that lists CUDAExecutionProvider, as onnxruntime-gpu does on a machine where it cannot start."""
    import onnxruntime

    from conformance.runtimes import ort

    listed = onnxruntime.get_available_providers()
    if "CUDAExecutionProvider" in listed:
        pytest.skip("this machine's onnxruntime has the CUDA execution provider")
    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: [*listed, "CUDAExecutionProvider"])
    ort.provider_start_failure.cache_clear()
    yield
    ort.provider_start_failure.cache_clear()


def test_listed_provider_that_cannot_start_is_skipped_with_the_reason(build_listing_cuda):
    ok, reason = get_runtime("ort-cuda").available()
    assert not ok
    assert reason.startswith("CUDA EP is in this onnxruntime") and "fell back to CPU" in reason


def test_session_that_lands_on_cpu_is_fallback_never_pass(tmp_path, build_listing_cuda):
    import numpy as np

    from types import SimpleNamespace

    from cases import Case
    from conformance.plan import Job
    from conformance.stages import judge
    from conformance.stages import run as running
    from conformance.stages.export import Data
    from verdict.tolerances import TOLERANCES

    runtime = get_runtime("ort-cuda")
    session, _, error = running.load(runtime, relu_model(tmp_path / "relu.onnx"))
    assert error is None
    feeds = {"x": np.array([-1.0, 2.0], dtype=np.float32)}
    output, _, error = running.run(runtime, session, feeds)
    assert error is None and output.outputs["y"].tolist() == [0.0, 2.0]
    source = SimpleNamespace(tolerance_for=lambda name: TOLERANCES["float32"], judge_by_oracle=False)
    job = Job(Case(), "torchscript", False, 18, ("ort-cuda",))
    record = judge.judge(job, "ort-cuda", (5, 3), output, Data(feeds, {"y": np.array([0.0, 2.0], dtype=np.float32)}), source, {})
    assert record.status == "FALLBACK"
    assert record.providers == ["CPUExecutionProvider"] and "CUDAExecutionProvider was not used" in record.message


def test_fallback_reason_reads_what_onnxruntime_printed():
    """Both ways onnxruntime 1.31 says it dropped CUDA, as seen on a CPU machine and on an H200."""
    from conformance.runtimes.ort import fallback_reason

    logged = ("\x1b[1;31m2026-11-26 00:59:25.541755720 [E:onnxruntime:Default, provider_bridge_ort.cc:2458 operator()] "
              "/onnxruntime_src/onnxruntime/core/session/provider_bridge_ort.cc:2043 onnxruntime::Provider& "
              "onnxruntime::ProviderLibrary::Get() [ONNXRuntimeError] : 1 : FAIL : Failed to load library "
              "/venv/lib/python3.11/site-packages/onnxruntime/capi/libonnxruntime_providers_cuda.so with error: "
              "libcuda.so.1: cannot open shared object file: No such file or directory\n\x1b[m")
    assert fallback_reason(logged) == ("Failed to load library libonnxruntime_providers_cuda.so with error: "
                                       "libcuda.so.1: cannot open shared object file: No such file or directory")
    printed = ("*************** EP Error ***************\n"
               "EP Error /onnxruntime_src/x/cuda_execution_provider_info.cc:63 bad device_id when using ['CUDAExecutionProvider']\n")
    assert fallback_reason(printed) == "EP Error cuda_execution_provider_info.cc:63 bad device_id when using ['CUDAExecutionProvider']"
    assert fallback_reason("nothing to see\n") is None


def test_a_plugin_that_implements_only_run_works(tmp_path, cache_dir):
    """The documented minimum is run(): a plugin with nothing else, subclassing Runtime or nothing, passes end to end."""
    from conftest import read_results, run_cli

    out = tmp_path / "run"
    proc = run_cli("run", "--case", "num_layers=1", "--exporters", "torchscript", "--modes", "dynamic", "--runtimes",
                   "tests.minimal_runtimes:OnlyRun,tests.minimal_runtimes:DuckTyped", "--out", out, "--cache-dir", cache_dir, "--no-progress")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = read_results(out).results
    assert len(results) == 6 and {r.status for r in results} == {"PASS"}


def test_runtimes_share_no_mutable_class_state():
    from conformance.runtimes import Runtime
    from conformance.runtimes.openvino import OpenVinoF32Runtime, OpenVinoRuntime

    with pytest.raises(TypeError):
        Runtime.options["leak"] = "into every subclass"
    with pytest.raises(TypeError):
        OpenVinoRuntime.base_properties["leak"] = "into openvino-f32"
    assert dict(OpenVinoF32Runtime.base_properties) == {"INFERENCE_PRECISION_HINT": "f32"}


def test_a_result_records_a_copy_of_the_runtime_options():
    runtime = get_runtime("ort-cpu", {"graph_optimization_level": "disable"})
    recorded = runtime.options
    recorded["session_options"]["graph_optimization_level"] = "all"
    assert runtime.options["session_options"]["graph_optimization_level"] == "disable"


def test_an_object_without_run_is_refused_by_name():
    with pytest.raises(UnknownRuntimeError, match="has no run"):
        get_runtime("collections:OrderedDict")
