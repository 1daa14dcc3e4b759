"""StyleTTS2 / Kokoro text encoder: token embeddings, a masked convolution stack, and a bidirectional LSTM over a
packed variable-length batch, padded back and masked.

Source: Y. A. Li et al., "StyleTTS 2", 2023, https://arxiv.org/abs/2306.07691; implementation
https://github.com/yl4579/StyleTTS2 (models.py, class TextEncoder, and its channel LayerNorm); the same encoder is
used by Kokoro, https://github.com/hexgrad/kokoro (kokoro/modules.py, TextEncoder).

Kept: TextEncoder.forward: int64 token ids (batch, T) and their int64 lengths; nn.Embedding, transposed to
(batch, channels, T); the padding mask built from the lengths and applied after the embedding and after every conv
block; conv blocks of Conv1d (kernel 5, same padding), a LayerNorm over the channels and LeakyReLU(0.2); then
pack_padded_sequence(lengths, batch_first=True, enforce_sorted=False), a bidirectional nn.LSTM(batch_first=True) of
hidden size channels / 2, pad_packed_sequence, and the result transposed back to (batch, channels, T) and masked.
Simplified: 16 channels instead of 512, a vocabulary of 20 symbols, the conv weights are plain (StyleTTS2 wraps them
in weight_norm, which changes how they are trained, not what they compute), no dropout, and the mask is computed
from the lengths inside the model instead of being passed in. Random weights.

Shapes: the token axis is dynamic ("time"); the batch is static. pad_packed_sequence pads to the longest length; every
lengths input here holds the full length once (the suite's generated lengths always do), so the output has T frames.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from cases.models import ModelSpec

BATCH, SYMBOLS, CHANNELS, KERNEL, DEPTH = 3, 20, 16, 5, 2


class ChannelLayerNorm(nn.Module):
    """StyleTTS2's LayerNorm: normalises the channel axis of a (batch, channels, T) tensor."""

    def __init__(self, channels: int, eps: float = 1e-5):
        super().__init__()
        self.channels = channels
        self.gamma = nn.Parameter(torch.ones(channels))
        self.beta = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x):
        x = x.transpose(1, -1)
        x = nn.functional.layer_norm(x, (self.channels,), self.gamma, self.beta, self.eps)
        return x.transpose(1, -1)


class TextEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(SYMBOLS, CHANNELS)
        self.cnn = nn.ModuleList(
            nn.Sequential(nn.Conv1d(CHANNELS, CHANNELS, KERNEL, padding=KERNEL // 2), ChannelLayerNorm(CHANNELS),
                          nn.LeakyReLU(0.2))
            for _ in range(DEPTH)
        )
        self.lstm = nn.LSTM(CHANNELS, CHANNELS // 2, batch_first=True, bidirectional=True)

    def forward(self, tokens, lengths):
        positions = torch.arange(tokens.size(1), device=tokens.device)
        mask = (positions.unsqueeze(0) >= lengths.unsqueeze(1)).unsqueeze(1)  # (batch, 1, T): True on padding
        x = self.embedding(tokens).transpose(1, 2)  # (batch, channels, T)
        x = x.masked_fill(mask, 0.0)
        for block in self.cnn:
            x = block(x).masked_fill(mask, 0.0)
        packed = pack_padded_sequence(x.transpose(1, 2), lengths, batch_first=True, enforce_sorted=False)
        output, _ = self.lstm(packed)
        output, _ = pad_packed_sequence(output, batch_first=True)
        return output.transpose(1, 2).masked_fill(mask, 0.0)  # (batch, channels, T)


def factory() -> ModelSpec:
    torch.manual_seed(0)
    module = TextEncoder().eval()
    with torch.no_grad():  # layer-norm affine weights that are not the identity
        for norm in (m for m in module.modules() if isinstance(m, ChannelLayerNorm)):
            norm.gamma.uniform_(0.5, 1.5)
            norm.beta.uniform_(-0.5, 0.5)
    tokens = torch.randint(0, SYMBOLS, (BATCH, 7), dtype=torch.int64)
    tokens[0, 0], tokens[-1, -1] = 0, SYMBOLS - 1  # the suite draws other ids from the example's range
    lengths = torch.tensor([5, 7, 3], dtype=torch.int64)  # unsorted, one of full length
    return ModelSpec(
        module=module,
        inputs=(tokens, lengths),
        input_names=["tokens", "lengths"],
        output_names=["encoded"],
        dynamic_axes={"tokens": {1: "time"}, "encoded": {2: "time"}},
        run_shapes=[{"time": 1}, {"time": 12}],
        lengths="lengths",
        name="packed_text_encoder",
    )
