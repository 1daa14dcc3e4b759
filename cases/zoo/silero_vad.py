"""silero-VAD style streaming voice-activity detector: each call reads one chunk of audio features, runs an LSTM from
the state the previous call returned, and gives a speech probability and the new state.

Source: Silero VAD, https://github.com/snakers4/silero-vad (the v4/v5 models are distributed as TorchScript/ONNX;
their streaming interface: a chunk and the recurrent state in, the probability and the next state out, the caller
feeding the state back for the next chunk).

Kept: the streaming contract (explicit h and c inputs, h_out and c_out outputs, called chunk after chunk), a
convolutional encoder over the chunk's frames, a single-layer LSTM carrying the state across chunks, and the decoder
(ReLU, a 1x1 convolution to one channel, sigmoid) averaged over the chunk's frames into one probability per sample.
Simplified: the input is a chunk of features (batch, chunk_len, 8) rather than raw 16 kHz samples (no learned STFT
front end), two plain 1-d convolutions instead of the reparametrised conv blocks, a batch-first nn.LSTM of hidden size
16 (v5 uses an LSTMCell of 128 and packs h and c into one state tensor), no dropout. Random weights.

Shapes: the chunk length is dynamic ("time"); the state and the batch are static.
"""
from __future__ import annotations

import torch
from torch import nn

from cases.models import ModelSpec

BATCH, FEATURES, CHANNELS, HIDDEN = 2, 8, 16, 16


class SileroVAD(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv1d(FEATURES, CHANNELS, 3, padding=1), nn.ReLU(),
            nn.Conv1d(CHANNELS, CHANNELS, 3, padding=1), nn.ReLU(),
        )
        self.rnn = nn.LSTM(CHANNELS, HIDDEN, batch_first=True)
        self.decoder = nn.Sequential(nn.ReLU(), nn.Conv1d(HIDDEN, 1, 1), nn.Sigmoid())

    def forward(self, chunk, h, c):
        encoded = self.encoder(chunk.transpose(1, 2)).transpose(1, 2)  # (batch, chunk_len, channels)
        output, (h_out, c_out) = self.rnn(encoded, (h, c))
        prob = self.decoder(output.transpose(1, 2)).mean(dim=2)  # (batch, 1)
        return prob, h_out, c_out


def factory() -> ModelSpec:
    torch.manual_seed(0)
    module = SileroVAD().eval()
    chunk = torch.randn(BATCH, 6, FEATURES)
    h, c = torch.zeros(1, BATCH, HIDDEN), torch.zeros(1, BATCH, HIDDEN)
    return ModelSpec(
        module=module,
        inputs=(chunk, h, c),
        input_names=["chunk", "h", "c"],
        output_names=["prob", "h_out", "c_out"],
        dynamic_axes={"chunk": {1: "time"}},
        run_shapes=[{"time": 1}, {"time": 12}],
        carry={"h_out": "h", "c_out": "c"},
        chunks=3,
        name="silero_vad",
    )
