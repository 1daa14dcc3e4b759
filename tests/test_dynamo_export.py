"""The Dynamo exporter reuses torchlib's registry per process: same models, and a clean fallback without the hook."""
import difflib
import sys

import onnx
import onnx.printer
import pytest

from cases import Case
from exporters.dynamo import DynamoExporter

STATIC = Case()
DYNAMIC = Case(num_layers=2, bidirectional=True, batch_first=True, initial_state=False)


def export(tmp_path, case, *, dynamic, reuse, opset=18):
    exporter = DynamoExporter()
    exporter.reuse_registry = reuse
    path = tmp_path / "model.onnx"  # read back at once, so each export may overwrite the last
    result = exporter.export(case, str(path), dynamic=dynamic, opset=opset)
    assert result.ok, result.error
    return result, onnx.load(str(path))


def assert_same_model(expected, actual):
    """Byte for byte, doc strings and node metadata (stack traces, fx names) included: nothing differs here."""
    if expected.SerializeToString() != actual.SerializeToString():
        diff = difflib.unified_diff(onnx.printer.to_text(expected).splitlines(),
                                    onnx.printer.to_text(actual).splitlines(), lineterm="")
        pytest.fail("models differ:\n" + "\n".join(list(diff)[:60]))


@pytest.mark.slow
@pytest.mark.parametrize("case, dynamic", [(STATIC, False), (DYNAMIC, True)], ids=["static", "dynamic"])
def test_reused_registry_exports_the_same_model(tmp_path, case, dynamic):
    export(tmp_path, case, dynamic=dynamic, reuse=True)  # builds this process's registry if no test did yet
    reused, reused_model = export(tmp_path, case, dynamic=dynamic, reuse=True)
    plain, plain_model = export(tmp_path, case, dynamic=dynamic, reuse=False)
    assert "torchlib registry reused for this process" in reused.log
    assert "torchlib registry" not in plain.log
    assert_same_model(plain_model, reused_model)


def test_one_registry_per_opset(tmp_path, monkeypatch):
    from torch.onnx._internal.exporter import _core

    handed = []

    def recording_export(*args, registry, **kwargs):
        handed.append(registry)
        raise RuntimeError("recorded")

    monkeypatch.setattr(_core, "export", recording_export)
    for opset in (18, 20, 18):
        DynamoExporter().export(STATIC, str(tmp_path / "m.onnx"), dynamic=False, opset=opset)
    assert [registry.opset_version for registry in handed] == [18, 20, 18]
    assert handed[2] is handed[0] and handed[1] is not handed[0]


def _module_moved(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.onnx._internal.exporter._registration", None)


def _not_a_classmethod(monkeypatch):
    from torch.onnx._internal.exporter._registration import ONNXRegistry

    build = ONNXRegistry.from_torchlib
    monkeypatch.setattr(ONNXRegistry, "from_torchlib", staticmethod(lambda *args, **kwargs: build(*args, **kwargs)))


@pytest.mark.slow
@pytest.mark.parametrize("change", [_module_moved, _not_a_classmethod], ids=["module-moved", "not-a-classmethod"])
def test_missing_hook_falls_back_to_plain_export(tmp_path, monkeypatch, change):
    from torch.onnx._internal.exporter import _registration

    _, plain_model = export(tmp_path, STATIC, dynamic=False, reuse=False)
    before = vars(_registration.ONNXRegistry)["from_torchlib"]
    change(monkeypatch)
    patched = vars(_registration.ONNXRegistry)["from_torchlib"]
    fallback, fallback_model = export(tmp_path, STATIC, dynamic=False, reuse=True)
    assert "torchlib registry hook not found; plain torch.onnx.export" in fallback.log
    assert vars(_registration.ONNXRegistry)["from_torchlib"] is patched
    assert_same_model(plain_model, fallback_model)
    monkeypatch.undo()
    assert vars(_registration.ONNXRegistry)["from_torchlib"] is before


def test_failing_export_restores_the_hook(tmp_path, monkeypatch):
    from torch.onnx._internal.exporter import _core, _registration

    def broken_export(*args, registry, **kwargs):
        assert vars(_registration.ONNXRegistry)["from_torchlib"] is not before  # the reusing hook is in place
        raise RuntimeError("planted exporter failure")

    before = vars(_registration.ONNXRegistry)["from_torchlib"]
    monkeypatch.setattr(_core, "export", broken_export)
    result = DynamoExporter().export(STATIC, str(tmp_path / "m.onnx"), dynamic=False)
    assert result.status == "EXPORT_ERROR" and result.error.message == "planted exporter failure"
    assert vars(_registration.ONNXRegistry)["from_torchlib"] is before


def test_hook_that_torch_no_longer_calls_is_logged(tmp_path, monkeypatch):
    from torch.onnx._internal.exporter import _compat

    monkeypatch.setattr(_compat, "export_compat", lambda *args, **kwargs: None)  # builds no registry, writes nothing
    result = DynamoExporter().export(STATIC, str(tmp_path / "m.onnx"), dynamic=False)
    assert "torchlib registry hook not called; plain torch.onnx.export" in result.log


def test_a_dynamic_export_does_not_depend_on_the_exports_before_it(tmp_path):
    """Upstream, an LSTM exported before (here: the same layer, static) leaves the dynamic export with its sequence axis
    fixed, silently. The exporter makes every export see what a fresh process sees; planting the old behaviour (no reset)
    brings the fixed axis back."""
    import onnx

    from cases import Case
    from exporters import dynamo

    def sequence_dim(path):
        return onnx.load(path).graph.input[0].type.tensor_type.shape.dim[0]

    exporter = DynamoExporter()
    assert exporter.export(Case(), str(tmp_path / "static.onnx"), dynamic=False).ok
    assert exporter.export(Case(), str(tmp_path / "dynamic.onnx"), dynamic=True).ok
    assert sequence_dim(tmp_path / "dynamic.onnx").dim_param == "seq"
    real = dynamo.forget_recurrent_dispatch
    try:
        dynamo.forget_recurrent_dispatch = lambda: None
        assert exporter.export(Case(), str(tmp_path / "static2.onnx"), dynamic=False).ok
        assert exporter.export(Case(), str(tmp_path / "leaky.onnx"), dynamic=True).ok
    finally:
        dynamo.forget_recurrent_dispatch = real
    assert sequence_dim(tmp_path / "leaky.onnx").dim_value == Case().seq_len
