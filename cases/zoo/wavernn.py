"""WaveRNN vocoder (the fatchord implementation's RAW mode): conditioning features and the previous sample go through
an input layer, two residual batch-first GRUs started from explicit zero states, and three linear layers that score
the next sample's quantisation classes.

Source: N. Kalchbrenner et al., "Efficient Neural Audio Synthesis", 2018, https://arxiv.org/abs/1802.08435;
implementation https://github.com/fatchord/WaveRNN (models/fatchord_version.py, WaveRNN.forward).

Kept: the training-time forward of fatchord's WaveRNN: the previous samples (batch, T) and per-sample conditioning
features (batch, T, features) concatenated and projected by the input layer I; h1 and h2 built explicitly as zeros
of shape (1, batch, hidden) inside forward (sized from the input's batch) and passed to the two nn.GRU(batch_first=True)
layers; a residual connection around each GRU; fc1 and fc2 with ReLU; fc3 giving logits over 2**bits classes.
Simplified: the conditioning features are given already upsampled to the sample rate (no upsampling network or
mel ResNet, so no aux feature splits a1..a4 concatenated along the way), GRU hidden size 16 instead of 512,
16-wide linear layers, 4 bits (16 classes) instead of 9. Random weights.

Shapes: the time axis (samples) is dynamic ("time"); the batch is static.
"""
from __future__ import annotations

import torch
from torch import nn

from cases.models import ModelSpec

BATCH, COND_DIMS, RNN_DIMS, FC_DIMS, BITS = 2, 8, 16, 16, 4


class WaveRNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn_dims = RNN_DIMS
        self.I = nn.Linear(COND_DIMS + 1, RNN_DIMS)
        self.rnn1 = nn.GRU(RNN_DIMS, RNN_DIMS, batch_first=True)
        self.rnn2 = nn.GRU(RNN_DIMS, RNN_DIMS, batch_first=True)
        self.fc1 = nn.Linear(RNN_DIMS, FC_DIMS)
        self.fc2 = nn.Linear(FC_DIMS, FC_DIMS)
        self.fc3 = nn.Linear(FC_DIMS, 2 ** BITS)

    def forward(self, samples, conditioning):
        batch = samples.size(0)
        # fatchord builds h1/h2 with torch.zeros(..., device=device); new_zeros also follows the dtype.
        h1 = samples.new_zeros(1, batch, self.rnn_dims)
        h2 = samples.new_zeros(1, batch, self.rnn_dims)
        x = self.I(torch.cat([samples.unsqueeze(-1), conditioning], dim=2))
        residual = x
        x, _ = self.rnn1(x, h1)
        x = x + residual
        residual = x
        x, _ = self.rnn2(x, h2)
        x = x + residual
        x = torch.relu(self.fc1(x))
        x = torch.relu(self.fc2(x))
        return self.fc3(x)  # (batch, T, classes)


def factory() -> ModelSpec:
    torch.manual_seed(0)
    module = WaveRNN().eval()
    samples = torch.rand(BATCH, 10) * 2 - 1  # previous samples in [-1, 1]
    conditioning = torch.randn(BATCH, 10, COND_DIMS)
    return ModelSpec(
        module=module,
        inputs=(samples, conditioning),
        input_names=["samples", "conditioning"],
        output_names=["logits"],
        dynamic_axes={"samples": {1: "time"}, "conditioning": {1: "time"}, "logits": {1: "time"}},
        run_shapes=[{"time": 1}, {"time": 24}],
        name="wavernn",
    )
