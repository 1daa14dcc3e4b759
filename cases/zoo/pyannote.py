"""pyannote.audio PyanNet speaker-segmentation trunk: a SincNet-style convolutional front end on the raw waveform, a
stacked bidirectional LSTM over its frames, feed-forward layers and a sigmoid per speaker and frame.

Source: pyannote.audio, https://github.com/pyannote/pyannote-audio (pyannote/audio/models/segmentation/PyanNet.py and
pyannote/audio/models/blocks/sincnet.py); H. Bredin, A. Laurent, "End-to-end speaker segmentation for overlap-aware
resegmentation", 2021, https://arxiv.org/abs/2104.04045; SincNet: M. Ravanelli, Y. Bengio, 2018,
https://arxiv.org/abs/1808.00158.

Kept: a (batch, 1, samples) waveform; SincNet's layout: instance norm of the waveform, then per block a convolution
(the absolute value after the first), max-pool 3, instance norm with affine weights and leaky ReLU; the frames
rearranged to (batch, frames, features) for a 2-layer bidirectional nn.LSTM with batch_first=True; two linear layers
with leaky ReLU; a linear classifier and a sigmoid (the multi-label activation).
Simplified: the first convolution is a plain learned Conv1d (kernel 8, stride 8) instead of the parametrised sinc
filterbank (kernel 251, stride 10), two blocks instead of three with 8 and 16 channels instead of 80 and 60, a padded
kernel-3 second convolution, LSTM hidden size 8 instead of 128, 16-wide linear layers instead of 128, 3 speakers
(the powerset classes and log-softmax of newer models are left out). Random weights.

Shapes: the samples axis is dynamic ("time"); a frame is 72 samples (stride 8, then two pools of 3), so every size
here is a multiple of 72. Instance norm needs at least 2 frames after the last pool: 144 samples is the smallest
valid input. The batch is static.
"""
from __future__ import annotations

import torch
from torch import nn

from cases.models import ModelSpec

BATCH, HIDDEN, LINEAR, CLASSES = 2, 8, 16, 3


class PyanNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.wav_norm1d = nn.InstanceNorm1d(1, affine=True)
        self.conv1d = nn.ModuleList([nn.Conv1d(1, 8, 8, stride=8), nn.Conv1d(8, 16, 3, padding=1)])
        self.pool1d = nn.ModuleList([nn.MaxPool1d(3, stride=3), nn.MaxPool1d(3, stride=3)])
        self.norm1d = nn.ModuleList([nn.InstanceNorm1d(8, affine=True), nn.InstanceNorm1d(16, affine=True)])
        self.lstm = nn.LSTM(16, HIDDEN, num_layers=2, bidirectional=True, batch_first=True)
        self.linear = nn.ModuleList([nn.Linear(2 * HIDDEN, LINEAR), nn.Linear(LINEAR, LINEAR)])
        self.classifier = nn.Linear(LINEAR, CLASSES)

    def forward(self, waveforms):
        x = self.wav_norm1d(waveforms)
        for index, (conv, pool, norm) in enumerate(zip(self.conv1d, self.pool1d, self.norm1d)):
            x = conv(x)
            if index == 0:
                x = torch.abs(x)
            x = nn.functional.leaky_relu(norm(pool(x)))
        x, _ = self.lstm(x.transpose(1, 2))  # (batch, frames, 2 * hidden)
        for linear in self.linear:
            x = nn.functional.leaky_relu(linear(x))
        return torch.sigmoid(self.classifier(x))  # (batch, frames, speakers)


def factory() -> ModelSpec:
    torch.manual_seed(0)
    module = PyanNet().eval()
    with torch.no_grad():  # affine weights that are not the identity
        for norm in (m for m in module.modules() if isinstance(m, nn.InstanceNorm1d)):
            norm.weight.uniform_(0.5, 1.5)
            norm.bias.uniform_(-0.5, 0.5)
    waveforms = torch.randn(BATCH, 1, 720)
    return ModelSpec(
        module=module,
        inputs=(waveforms,),
        input_names=["waveforms"],
        output_names=["speakers"],
        dynamic_axes={"waveforms": {2: "time"}, "speakers": {1: "frames"}},
        run_shapes=[{"time": 144}, {"time": 1440}],  # 2 frames (the fewest instance norm allows) and 20
        name="pyannote",
    )
