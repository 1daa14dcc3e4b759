"""RNN-T prediction network: an embedding of the previously emitted tokens, layer norm, an LSTM carrying (h, c)
between calls, a linear layer and an output layer norm; its output meets the encoder's in the joiner.

Source: A. Graves, "Sequence Transduction with Recurrent Neural Networks", 2012, https://arxiv.org/abs/1211.3711
(the prediction network, section 2.2); implementation: torchaudio's Emformer RNN-T,
https://github.com/pytorch/audio (torchaudio/models/rnnt.py, class _Predictor).

Kept: the _Predictor forward: int64 token ids (batch, U) permuted to time-major, nn.Embedding, input LayerNorm, an
LSTM over the U steps that takes an explicit (h, c) state and returns the new one, a linear layer and the output
LayerNorm, permuted back to (batch, U, features).
Simplified: one nn.LSTM layer (torchaudio stacks _CustomLSTM layers with optional layer norm inside the gates), no
dropout, the lengths input and output passed through by torchaudio are left out, a vocabulary of 16 symbols,
embedding size 12, hidden size 16. Random weights.

Shapes: the token axis is dynamic ("time"); the state and the batch are static.
"""
from __future__ import annotations

import torch
from torch import nn

from cases.models import ModelSpec

BATCH, SYMBOLS, EMBEDDING, HIDDEN, OUTPUT = 2, 16, 12, 16, 16


class Predictor(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(SYMBOLS, EMBEDDING)
        self.input_layer_norm = nn.LayerNorm(EMBEDDING)
        self.lstm = nn.LSTM(EMBEDDING, HIDDEN)
        self.linear = nn.Linear(HIDDEN, OUTPUT)
        self.output_layer_norm = nn.LayerNorm(OUTPUT)

    def forward(self, tokens, h, c):
        x = self.input_layer_norm(self.embedding(tokens.permute(1, 0)))  # (U, batch, embedding)
        x, (h_out, c_out) = self.lstm(x, (h, c))
        x = self.output_layer_norm(self.linear(x))
        return x.permute(1, 0, 2), h_out, c_out


def factory() -> ModelSpec:
    torch.manual_seed(0)
    module = Predictor().eval()
    tokens = torch.randint(0, SYMBOLS, (BATCH, 5), dtype=torch.int64)
    tokens[0, 0], tokens[-1, -1] = 0, SYMBOLS - 1  # the suite draws other ids from the example's range
    h, c = torch.randn(1, BATCH, HIDDEN), torch.randn(1, BATCH, HIDDEN)
    return ModelSpec(
        module=module,
        inputs=(tokens, h, c),
        input_names=["tokens", "h", "c"],
        output_names=["output", "h_out", "c_out"],
        dynamic_axes={"tokens": {1: "time"}, "output": {1: "time"}},
        run_shapes=[{"time": 1}, {"time": 9}],
        name="rnnt_predictor",
    )
