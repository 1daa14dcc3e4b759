"""CRNN text recogniser: a conv stack reads a text-line image, its columns become time steps of a deep bidirectional
LSTM, and a linear layer scores the characters per column (for CTC).

Source: B. Shi, X. Bai, C. Yao, "An End-to-End Trainable Neural Network for Image-based Sequence Recognition and Its
Application to Scene Text Recognition", 2015, https://arxiv.org/abs/1507.05717 (reference code:
https://github.com/bgshih/crnn, and the PyTorch port https://github.com/meijieru/crnn.pytorch, models/crnn.py).

Kept: a grey (batch, 1, H, W) image; 3x3 convolutions with ReLU, batch norm on the deeper ones, 2x2 max-pools early
and (2, 1) pools later so the height shrinks faster than the width; a last convolution that collapses the height to
1; the "map-to-sequence" step (width becomes time, time-major); two stacked bidirectional LSTM layers; a per-frame
linear classifier with log-softmax for CTC.
Simplified: 4 convolutions instead of 7, 4-16 channels instead of 64-512, LSTM hidden size 8 instead of 256, the
bidirectional layers stacked directly (meijieru's port puts a linear layer after each), 11 classes
(10 digits and the CTC blank), a 16-pixel-high image instead of 32. Random weights.

Shapes: the width is dynamic ("time"); the two 2x2 pools divide it by 4, so every width here is a multiple of 4 and the
output has width / 4 frames ("frames"). The batch stays static.
"""
from __future__ import annotations

import torch
from torch import nn

from cases.models import ModelSpec

HEIGHT, BATCH, CLASSES, HIDDEN = 16, 2, 11, 8


class CRNN(nn.Module):
    def __init__(self, classes: int = CLASSES, hidden: int = HIDDEN):
        super().__init__()
        self.cnn = nn.Sequential(
            nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, 2),  # H/2, W/2
            nn.Conv2d(4, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, 2),  # H/4, W/4
            nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d((2, 1), (2, 1)),  # H/8
            nn.Conv2d(16, 16, (2, 1)), nn.BatchNorm2d(16), nn.ReLU(),  # height 16 -> 1
        )
        self.rnn = nn.LSTM(16, hidden, num_layers=2, bidirectional=True)
        self.classifier = nn.Linear(2 * hidden, classes)

    def forward(self, image):
        features = self.cnn(image)  # (batch, channels, 1, width / 4)
        sequence = features.squeeze(2).permute(2, 0, 1)  # (frames, batch, channels): map-to-sequence
        recurrent, _ = self.rnn(sequence)
        return torch.log_softmax(self.classifier(recurrent), dim=-1)  # (frames, batch, classes)


def factory() -> ModelSpec:
    torch.manual_seed(0)
    module = CRNN().eval()
    # Batch-norm statistics that are not the identity, so the exported BatchNormalization does some work.
    with torch.no_grad():
        for norm in (m for m in module.modules() if isinstance(m, nn.BatchNorm2d)):
            norm.running_mean.uniform_(-0.5, 0.5)
            norm.running_var.uniform_(0.5, 1.5)
    image = torch.randn(BATCH, 1, HEIGHT, 32)
    return ModelSpec(
        module=module,
        inputs=(image,),
        input_names=["image"],
        output_names=["log_probs"],
        dynamic_axes={"image": {3: "time"}, "log_probs": {0: "frames"}},
        run_shapes=[{"time": 4}, {"time": 64}],  # 1 frame and 16 frames
        name="crnn",
    )
