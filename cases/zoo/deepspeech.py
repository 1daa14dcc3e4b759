"""DeepSpeech (1) acoustic model: per-frame clipped-ReLU layers, one bidirectional ReLU RNN whose two directions are
summed, a clipped-ReLU layer and a per-frame character classifier, all time-major.

Source: A. Hannun et al., "Deep Speech: Scaling up end-to-end speech recognition", 2014,
https://arxiv.org/abs/1412.5567 (section 2); Mozilla's implementation https://github.com/mozilla/DeepSpeech
(training/deepspeech_training/train.py, create_model: three clipped-ReLU dense layers, the recurrent layer, a fourth
dense layer, the output layer).

Kept: time-major features (T, batch, features); three linear layers with the clipped ReLU min(max(x, 0), 20); a
bidirectional torch.nn.RNN with nonlinearity="relu" (the paper's recurrent layer), time-major, started from no initial
state; the forward and backward outputs summed (h_f + h_b, as in the paper); a fifth clipped-ReLU linear layer; a
linear output layer with log-softmax over the characters (for CTC).
Simplified: 13 features per frame without the paper's context window of neighbouring frames, widths of 24 and a
recurrent hidden size of 16 instead of 2048, 12 output classes instead of 29, no dropout. Mozilla's releases replaced
the bidirectional ReLU RNN with a unidirectional LSTM; this follows the paper. Random weights.

Shapes: the time axis is dynamic ("time"); the batch is static.
"""
from __future__ import annotations

import torch
from torch import nn

from cases.models import ModelSpec

BATCH, FEATURES, WIDTH, HIDDEN, CLASSES, CLIP = 2, 13, 24, 16, 12, 20.0


class DeepSpeech(nn.Module):
    def __init__(self):
        super().__init__()
        self.dense = nn.ModuleList([nn.Linear(FEATURES, WIDTH), nn.Linear(WIDTH, WIDTH), nn.Linear(WIDTH, WIDTH)])
        self.rnn = nn.RNN(WIDTH, HIDDEN, nonlinearity="relu", bidirectional=True)
        self.dense5 = nn.Linear(HIDDEN, WIDTH)
        self.output = nn.Linear(WIDTH, CLASSES)

    @staticmethod
    def clipped_relu(x):
        return torch.clamp(x, min=0.0, max=CLIP)

    def forward(self, features):
        x = features
        for linear in self.dense:
            x = self.clipped_relu(linear(x))
        recurrent, _ = self.rnn(x)  # (T, batch, 2 * hidden)
        x = recurrent[..., :HIDDEN] + recurrent[..., HIDDEN:]  # forward + backward
        x = self.clipped_relu(self.dense5(x))
        return torch.log_softmax(self.output(x), dim=-1)  # (T, batch, classes)


def factory() -> ModelSpec:
    torch.manual_seed(0)
    module = DeepSpeech().eval()
    features = torch.randn(8, BATCH, FEATURES)
    return ModelSpec(
        module=module,
        inputs=(features,),
        input_names=["features"],
        output_names=["log_probs"],
        dynamic_axes={"features": {0: "time"}, "log_probs": {0: "time"}},
        run_shapes=[{"time": 1}, {"time": 20}],
        name="deepspeech",
    )
