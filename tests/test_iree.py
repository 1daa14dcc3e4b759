"""IREE as a conformance runtime (conformance/runtimes/iree.py).

What the runtime makes of its tools' messages, its cache key and the SKIPPED reason need nothing installed. The
rest imports, compiles and runs for real where iree-base-compiler and iree-base-runtime are installed (tox -e iree,
or pip install -e .[iree]) and is skipped, with the reason, where they are not (the `tests` env does not install them).
"""
import importlib.util
import sys

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from conftest import read_jsonl, run_cli
from conformance.runtimes import get_runtime, known_runtime_names
from conformance.runtimes import iree as iree_runtime
from conformance.runtimes.iree import IreeCompileError, IreeRuntime, ModuleCache, runtime_message, tool_message
from conformance.stages import run as running


def _installed() -> bool:
    try:
        return all(importlib.util.find_spec(name) is not None for name in ("iree.compiler", "iree.runtime"))
    except ModuleNotFoundError:
        return False


requires_iree = pytest.mark.skipif(
    not _installed(), reason="iree-base-compiler and iree-base-runtime are not installed (tox -e iree, or pip install -e .[iree])")

@pytest.fixture
def registered():
    """The CLI finds `iree` through the project's entry points."""
    if "iree" not in known_runtime_names():
        pytest.skip("iree not registered: install the project (pip install -e .) for its entry points")


ONE_CASE = ["--case", "num_layers=1", "--exporters", "torchscript", "--no-progress"]
X = np.array([-1.0, 2.0], dtype=np.float32)


def save(path, nodes, outputs, *, shaped=True, domains=()) -> str:
    def value(name, shape):
        return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)

    graph = helper.make_graph(nodes, "g", [value("x", [2])], [value(name, [2] if shaped else None) for name in outputs])
    opsets = [helper.make_opsetid("", 18), *(helper.make_opsetid(domain, 1) for domain in domains)]
    onnx.save(helper.make_model(graph, opset_imports=opsets), path)
    return str(path)


def two_outputs(tmp_path) -> str:
    """z = -Relu(x) listed before y = Relu(x): outputs are named as the graph lists them."""
    nodes = [helper.make_node("Relu", ["x"], ["y"]), helper.make_node("Neg", ["y"], ["z"])]
    return save(tmp_path / "two.onnx", nodes, ["z", "y"])


def unknown_op(tmp_path) -> str:
    """An op torch-mlir has no lowering for: it imports, and iree-compile refuses it."""
    return save(tmp_path / "unknown.onnx", [helper.make_node("Frobnicate", ["x"], ["y"], domain="vendor.test")], ["y"],
                domains=["vendor.test"])


def runtime_with_cache(directory) -> IreeRuntime:
    runtime = IreeRuntime()
    runtime.configure({"cache_dir": str(directory)})
    return runtime


# The tools' messages, as recorded (no IREE needed)

COMPILE_STDERR = """\
/tmp/iree-x/model.mlir:4:10: error: failed to legalize operation 'torch.operator' that was explicitly marked illegal: %0 = "torch.operator"(%arg0) <{name = "onnx.Frobnicate"}> : (!torch.vtensor<[2],f32>) -> !torch.vtensor<[2],f32>
    %0 = torch.operator "onnx.Frobnicate"(%arg0) : (!torch.vtensor<[2],f32>) -> !torch.vtensor<[2],f32>
         ^
/tmp/iree-x/model.mlir:4:10: note: see current operation: %0 = "torch.operator"(%arg0) <{name = "onnx.Frobnicate"}> : (!torch.vtensor<[2],f32>) -> !torch.vtensor<[2],f32>
"""

IMPORT_STDERR = """\
Traceback (most recent call last):
  File "/venv/lib/python3.11/site-packages/iree/compiler/tools/import_onnx/__main__.py", line 123, in load_onnx_model
    onnx.checker.check_model(raw_model)
onnx.onnx_cpp2py_export.checker.ValidationError: Field 'shape' of 'type' is required but missing.
"""


def test_compile_message_names_the_op_first_without_the_source_echo():
    message = tool_message("iree-compile", COMPILE_STDERR, 1)
    first, *rest = message.splitlines()
    assert first == "iree-compile: error: failed to legalize operation 'torch.operator' that was explicitly marked illegal: onnx.Frobnicate"
    assert rest == ['  %0 = "torch.operator"(%arg0) <{name = "onnx.Frobnicate"}> : (!torch.vtensor<[2],f32>) -> !torch.vtensor<[2],f32>']
    assert "/tmp/iree-x" not in message and "^" not in message


def test_import_message_is_the_exception_the_traceback_ends_with():
    assert tool_message("iree-import-onnx", IMPORT_STDERR, 1) == (
        "iree-import-onnx: onnx.onnx_cpp2py_export.checker.ValidationError: Field 'shape' of 'type' is required but missing.")


def test_llvm_errors_come_first_once_and_a_killed_tool_says_so():
    stderr = "Unknown CPU for target architecture x86_64.\n'nope' is not a recognized processor\n'nope' is not a recognized processor\nLLVM ERROR: 64-bit code requested\n"
    assert tool_message("iree-compile", stderr, 1).splitlines() == [
        "iree-compile: LLVM ERROR: 64-bit code requested", "Unknown CPU for target architecture x86_64.", "'nope' is not a recognized processor"]
    crashed = tool_message("iree-compile", "Assertion `x' failed.\nPLEASE submit a bug report\nStack dump:\n0. frame", -6)
    assert crashed.splitlines() == ["iree-compile: killed by SIGABRT", "Assertion `x' failed."]
    assert tool_message("iree-compile", "", 3) == "iree-compile: exit status 3, nothing on stderr"


def test_runtime_message_drops_the_c_source_and_the_vm_frames():
    error = ValueError("Error invoking function: c/runtime/src/iree/modules/hal/utils/buffer_diagnostics.c:225: INVALID_ARGUMENT; "
                       "tensor shape dimension 0 mismatch; expected 2 but have 3; while calling import; \n[ 1] bytecode module@1:132 -\n"
                       "[ 0] bytecode module@2:64 -")
    assert runtime_message(error) == "INVALID_ARGUMENT; tensor shape dimension 0 mismatch; expected 2 but have 3; while calling import;"


def test_unavailable_says_why(monkeypatch):
    monkeypatch.setitem(sys.modules, "iree.runtime", None)  # import iree.runtime now raises ImportError
    ok, reason = IreeRuntime().available()
    assert not ok and reason.startswith("iree not importable") and "iree-base-runtime" in reason


def test_results_are_skipped_with_the_reason_where_iree_cannot_be_imported(tmp_path, registered):
    """A package `iree` ahead of the installed one on the path that refuses to import: what a machine without IREE sees."""
    blocker = tmp_path / "path" / "iree"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('no IREE on this machine')\n")
    proc = run_cli("run", *ONE_CASE, "--modes", "static", "--runtimes", "iree", "--out", tmp_path / "out",
                   env={"PYTHONPATH": str(tmp_path / "path")})
    assert proc.returncode == 0, proc.stderr
    results = [r for r in read_jsonl(tmp_path / "out" / "results.jsonl") if r["record"] == "result"]
    assert [r["status"] for r in results] == ["SKIPPED"]
    assert results[0]["message"].startswith("iree not importable (no IREE on this machine)")


def test_configure_checks_its_options():
    runtime = IreeRuntime()
    assert runtime.options == {"target": "llvm-cpu", "target_cpu": "host", "driver": "local-sync"}
    runtime.configure({"target_cpu": "znver4", "driver": "local-task", "cache_dir": "none"})
    assert runtime.options == {"target": "llvm-cpu", "target_cpu": "znver4", "driver": "local-task"}
    assert runtime.cache_dir is None and "--iree-llvmcpu-target-cpu=znver4" in runtime.compile_flags()
    with pytest.raises(ValueError, match="iree takes target_cpu=NAME"):
        runtime.configure({"driver": "cuda"})


def test_cache_key_holds_the_model_the_flags_and_the_versions(tmp_path, monkeypatch):
    installed = {"iree-compiler": "3.13.0", "iree-runtime": "3.13.0", "onnx": "1.23.2"}
    monkeypatch.setattr(iree_runtime, "versions", lambda: installed)
    first, second = two_outputs(tmp_path), unknown_op(tmp_path)
    runtime = IreeRuntime()
    key = runtime.cache_key(first)
    assert key == IreeRuntime().cache_key(first) and key != runtime.cache_key(second)
    other_cpu = IreeRuntime()
    other_cpu.configure({"target_cpu": "skylake"})
    assert other_cpu.cache_key(first) != key
    monkeypatch.setattr(iree_runtime, "versions", lambda: {**installed, "iree-compiler": "3.14.0"})
    assert runtime.cache_key(first) != key
    monkeypatch.setattr(iree_runtime, "versions", lambda: installed)
    monkeypatch.setattr(iree_runtime, "host_cpu", lambda: {"machine": "x86_64", "model": "another CPU", "flags": "0"})
    assert runtime.cache_key(first) != key, "`host` compiles for this CPU: another CPU needs another module"


# With IREE installed

@requires_iree
def test_names_outputs_as_the_graph_does(tmp_path):
    runtime = runtime_with_cache(tmp_path / "cache")
    outputs = runtime.run(two_outputs(tmp_path), {"x": X})
    assert list(outputs) == ["z", "y"]
    assert outputs["y"].tolist() == [0.0, 2.0] and outputs["z"].tolist() == [0.0, -2.0]


@requires_iree
def test_modules_and_failures_are_cached(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    model, broken = two_outputs(tmp_path), unknown_op(tmp_path)
    module = runtime_with_cache(cache).compile(model)
    with pytest.raises(IreeCompileError) as compiled:
        runtime_with_cache(cache).compile(broken)

    def no_tools(self, model_path):
        raise AssertionError("compiled again, past the cache")

    monkeypatch.setattr(IreeRuntime, "_compile_afresh", no_tools)
    assert runtime_with_cache(cache).compile(model) == module
    with pytest.raises(IreeCompileError) as cached:
        runtime_with_cache(cache).compile(broken)
    assert str(cached.value) == str(compiled.value)
    key = runtime_with_cache(cache).cache_key(model)
    record, stored = ModuleCache(cache).get(key)
    assert record["ok"] and stored == module and record["versions"]["iree-base-compiler"]


@requires_iree
def test_import_failure_is_a_load_error_with_the_importers_message(tmp_path):
    """Outputs without a shape: onnx's checker, which iree-import-onnx runs first, refuses the model."""
    model = save(tmp_path / "unshaped.onnx", [helper.make_node("Relu", ["x"], ["y"])], ["y"], shaped=False)
    session, _, error = running.load(get_runtime("conformance.runtimes.iree:IreeRuntime", {"cache_dir": "none"}), model)
    assert session is None and error.type == "IreeImportError"
    assert error.message == "iree-import-onnx: onnx.onnx_cpp2py_export.checker.ValidationError: Field 'shape' of 'type' is required but missing."


@requires_iree
@pytest.mark.slow
def test_one_case_passes_static_and_dynamic_through_the_cli(tmp_path, cache_dir, registered):
    out = tmp_path / "out"
    proc = run_cli("run", *ONE_CASE, "--modes", "static,dynamic", "--runtimes", "iree", "--out", out, "--cache-dir", cache_dir,
                   "--runtime-option", f"iree:cache_dir={tmp_path / 'modules'}")
    assert proc.returncode == 0, proc.stderr
    header, *results = read_jsonl(out / "results.jsonl")
    assert header["versions"]["iree-base-compiler"] and header["versions"]["iree-base-runtime"]
    # Static at the export shape; dynamic there, at 1x1 and at a longer, wider shape: one module serves all three.
    assert sorted((r["dynamic"], tuple(r["run_shape"])) for r in results) == [(False, (5, 3)), (True, (1, 1)), (True, (5, 3)), (True, (11, 5))]
    for record in results:
        assert record["status"] == "PASS", record["message"]
        assert record["runtime_options"] == {"target": "llvm-cpu", "target_cpu": "host", "driver": "local-sync"}
        assert set(record["outputs"]) == {"output", "h_n", "c_n"}
        assert max(o["max_abs"] for o in record["outputs"].values()) < 1e-6
    assert len(list((tmp_path / "modules").glob("*/*/module.vmfb"))) == 2


@requires_iree
@pytest.mark.slow
def test_a_failing_compile_is_a_load_error_with_the_compilers_message(tmp_path, cache_dir, registered):
    out = tmp_path / "out"
    proc = run_cli("run", *ONE_CASE, "--modes", "static", "--runtimes", "iree", "--out", out, "--cache-dir", cache_dir,
                   "--runtime-option", "iree:target_cpu=no-such-cpu", "--runtime-option", "iree:cache_dir=none")
    assert proc.returncode == 1, proc.stderr  # an unexpected failure
    (record,) = [r for r in read_jsonl(out / "results.jsonl") if r["record"] == "result"]
    assert record["status"] == "LOAD_ERROR" and record["stage"] == "load"
    assert record["error"]["type"] == "IreeCompileError"
    assert record["message"].startswith("iree-compile: LLVM ERROR:")
    assert "'no-such-cpu' is not a recognized processor" in record["error"]["text"]
    assert record["runtime_options"]["target_cpu"] == "no-such-cpu"
