"""decompose() on users' models, and the decomposed exporter on suite cases."""
import collections

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from cases.case import Case
from verdict.status import Status
from exporters import EXPORTERS, get_exporter
from exporters.decomposed import ProjectedLSTM, decompose
from conftest import read_jsonl, run_cli


class SpeechEncoder(torch.nn.Module):
    """An LSTMP stack nested among other layers, beside a plain LSTM the stock exporters handle."""

    def __init__(self):
        super().__init__()
        self.frontend = torch.nn.Linear(6, 10)
        self.body = torch.nn.Sequential(torch.nn.ModuleDict({
            "lstmp": torch.nn.LSTM(10, 12, num_layers=2, bidirectional=True, batch_first=True, proj_size=5),
        }))
        self.head_lstm = torch.nn.LSTM(10, 7, batch_first=True)
        self.classifier = torch.nn.Linear(7, 4)

    def forward(self, features):
        x = torch.relu(self.frontend(features))
        x, _ = self.body[0]["lstmp"](x)
        x, _ = self.head_lstm(x)
        return self.classifier(x)


def seeded(module_type, *args, **kwargs):
    torch.manual_seed(0)
    return module_type(*args, **kwargs).eval()


def ops_of(path):
    return collections.Counter(node.op_type for node in onnx.load(path).graph.node)


def test_decompose_replaces_only_projection_lstms_and_keeps_the_state_dict():
    model = seeded(SpeechEncoder)
    copy = decompose(model)
    assert isinstance(copy.body[0]["lstmp"], ProjectedLSTM)
    assert isinstance(copy.head_lstm, torch.nn.LSTM) and not isinstance(copy.head_lstm, ProjectedLSTM)
    assert isinstance(model.body[0]["lstmp"], torch.nn.LSTM), "the original must be left as it was"
    original, decomposed = model.state_dict(), copy.state_dict()
    assert list(original) == list(decomposed)
    assert all(torch.equal(original[k], decomposed[k]) for k in original)
    assert copy.body[0]["lstmp"].weight_hr_l1_reverse is not model.body[0]["lstmp"].weight_hr_l1_reverse


@pytest.mark.parametrize("seq_len", [1, 4, 13])
def test_decomposed_eager_outputs_are_identical(seq_len):
    model = seeded(SpeechEncoder)
    copy = decompose(model)
    features = torch.randn(3, seq_len, 6)
    with torch.no_grad():
        assert torch.equal(model(features), copy(features))


@pytest.mark.parametrize("kwargs", [
    {"num_layers": 1},
    {"num_layers": 2, "bidirectional": True, "bias": False},
    {"num_layers": 3, "bidirectional": True, "batch_first": True},
])
def test_projected_lstm_matches_nn_lstm_with_states_unbatched_and_in_float64(kwargs):
    lstm = seeded(torch.nn.LSTM, 4, 8, proj_size=3, **kwargs)
    copy = decompose(lstm)
    states = kwargs["num_layers"] * (2 if kwargs.get("bidirectional") else 1)
    batched = torch.randn(2, 5, 4) if kwargs.get("batch_first") else torch.randn(5, 2, 4)
    hx = (torch.randn(states, 2, 3), torch.randn(states, 2, 8))
    unbatched, unbatched_hx = torch.randn(5, 4), (torch.randn(states, 3), torch.randn(states, 8))
    with torch.no_grad():
        for args in ((batched,), (batched, hx), (unbatched, unbatched_hx)):
            expected, actual = lstm(*args), copy(*args)
            assert all(torch.equal(e, a) for e, a in zip((expected[0], *expected[1]), (actual[0], *actual[1])))
        expected, actual = lstm.double()(batched.double()), copy.double()(batched.double())
    assert torch.equal(expected[0], actual[0]) and actual[0].dtype == torch.float64


def test_projected_lstm_refuses_packed_sequences_with_the_reason():
    copy = decompose(seeded(torch.nn.LSTM, 4, 8, proj_size=3))
    packed = torch.nn.utils.rnn.pack_padded_sequence(torch.randn(5, 2, 4), torch.tensor([5, 3]))
    with pytest.raises(TypeError, match="PackedSequence"):
        copy(packed)


def test_decomposed_model_exports_with_the_torchscript_exporter_and_runs_at_other_lengths(tmp_path):
    model = seeded(SpeechEncoder)
    path = str(tmp_path / "encoder.onnx")
    torch.onnx.export(decompose(model), (torch.randn(2, 5, 6),), path, dynamo=False, input_names=["features"],
                      output_names=["logits"], dynamic_axes={"features": {0: "batch", 1: "time"}})
    onnx.checker.check_model(onnx.load(path), full_check=True)
    ops = ops_of(path)
    assert ops["Loop"] == 4 and ops["LSTM"] == 1, ops  # 2 layers x 2 directions of LSTMP; the plain LSTM stays one op
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    for batch, seq_len in ((1, 1), (2, 5), (3, 17)):
        features = torch.randn(batch, seq_len, 6)
        with torch.no_grad():
            expected = model(features).numpy()
        (actual,) = session.run(None, {"features": features.numpy()})
        np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-6)


def test_the_decomposed_exporter_is_registered_beside_the_stock_ones():
    assert list(EXPORTERS) == ["torchscript", "dynamo", "decomposed"]
    assert get_exporter("decomposed").name == "decomposed"


@pytest.mark.parametrize("case, op", [
    (Case(num_layers=2, bidirectional=True, proj_size=3, batch_first=True), "Loop"),
    (Case(num_layers=2, bidirectional=True), "LSTM"),
])
def test_decomposed_exporter_uses_the_lstm_op_where_it_applies_and_a_loop_for_projections(tmp_path, case, op):
    result = get_exporter("decomposed").export(case, str(tmp_path / "m.onnx"), dynamic=True)
    assert result.status == Status.PASS, result.error
    assert result.ops.get(op) and not result.ops.get({"Loop": "LSTM", "LSTM": "Loop"}[op]), result.ops


def test_run_exporters_decomposed_passes_projections_static_and_dynamic(tmp_path):
    out = tmp_path / "run"
    proc = run_cli("run", "--preset", "default", "-k", "L2-bi-proj3-bf-nobias-noh0", "-k", "L1-uni-proj3-sf-bias-h0",
                   "--exporters", "decomposed", "--runtimes", "ort-cpu,reference", "--no-cache", "--no-progress",
                   "--out", out)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = [r for r in read_jsonl(out / "results.jsonl") if r.get("record") == "result"]
    assert {(r["dynamic"], tuple(r["run_shape"])) for r in results} == {(False, (5, 3)), (True, (5, 3)), (True, (1, 1)),
                                                                         (True, (11, 5))}
    assert len(results) == 2 * 4 * 2 and {r["status"] for r in results} == {"PASS"}
    assert {r["exporter"] for r in results} == {"decomposed"}
