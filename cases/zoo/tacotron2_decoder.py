"""Tacotron 2 decoder: an autoregressive mel-spectrogram decoder that steps two LSTMCells in a Python loop, attending
over the encoder's output with location-sensitive attention at every step.

Source: J. Shen et al., "Natural TTS Synthesis by Conditioning WaveNet on Mel Spectrogram Predictions", 2017,
https://arxiv.org/abs/1712.05884; reference implementation https://github.com/NVIDIA/tacotron2 (model.py: Prenet,
LocationLayer, Attention, Decoder.decode / Decoder.forward).

Kept: the teacher-forced training-time forward of NVIDIA's Decoder.forward: a zero "go" frame is prepended and the
last frame dropped, the prenet (two ReLU linear layers) runs over all frames at once, then a Python loop over the
decoder steps (as many as the decoder input has frames, read from its shape) runs the attention LSTMCell on
[prenet frame, previous context], location-sensitive attention (processed query + processed memory + a convolution
over the previous and the cumulative attention weights, tanh, a scalar energy, softmax over the memory), the decoder
LSTMCell on [attention hidden state, context], and the linear mel projection and stop-token ("gate") layer on
[decoder hidden state, context]. Outputs are the mel frames (batch, T, n_mels), the gate logits (batch, T) and the
alignments (batch, T, enc_len); NVIDIA's parse_decoder_outputs transposes the mel frames to (batch, n_mels, T).
Simplified: small sizes (8 mel channels instead of 80, encoder/prenet/attention sizes 16, LSTMCells of 16 instead of
1024), no prenet dropout (Tacotron 2 keeps it on at inference; here the model is deterministic), no attention or
decoder dropout, no memory mask (every sample uses the whole memory), no post-net. Random weights.

Shapes: the memory (batch, enc_len, 16) is fixed; the decoder input's frame axis is dynamic ("time"). A traced
export unrolls the loop at the export length, which is what this model is here to show.
"""
from __future__ import annotations

import torch
from torch import nn

from cases.models import ModelSpec

BATCH, ENC_LEN, ENC_DIM, N_MELS = 2, 6, 16, 8
PRENET_DIM, ATTENTION_RNN_DIM, DECODER_RNN_DIM, ATTENTION_DIM = 16, 16, 16, 16
LOCATION_FILTERS, LOCATION_KERNEL = 4, 5


class Prenet(nn.Module):
    def __init__(self, in_dim: int, sizes: tuple[int, ...]):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(i, o, bias=False) for i, o in zip((in_dim, *sizes[:-1]), sizes))

    def forward(self, x):
        for linear in self.layers:
            x = torch.relu(linear(x))
        return x


class LocationSensitiveAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.query_layer = nn.Linear(ATTENTION_RNN_DIM, ATTENTION_DIM, bias=False)
        self.memory_layer = nn.Linear(ENC_DIM, ATTENTION_DIM, bias=False)
        self.v = nn.Linear(ATTENTION_DIM, 1, bias=False)
        self.location_conv = nn.Conv1d(2, LOCATION_FILTERS, LOCATION_KERNEL, padding=(LOCATION_KERNEL - 1) // 2, bias=False)
        self.location_dense = nn.Linear(LOCATION_FILTERS, ATTENTION_DIM, bias=False)

    def forward(self, query, memory, processed_memory, weights_cat):
        processed_query = self.query_layer(query).unsqueeze(1)  # (batch, 1, attention)
        location = self.location_dense(self.location_conv(weights_cat).transpose(1, 2))  # (batch, enc_len, attention)
        energies = self.v(torch.tanh(processed_query + location + processed_memory)).squeeze(-1)  # (batch, enc_len)
        weights = torch.softmax(energies, dim=1)
        context = torch.bmm(weights.unsqueeze(1), memory).squeeze(1)  # (batch, enc_dim)
        return context, weights


class Tacotron2Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.prenet = Prenet(N_MELS, (PRENET_DIM, PRENET_DIM))
        self.attention_rnn = nn.LSTMCell(PRENET_DIM + ENC_DIM, ATTENTION_RNN_DIM)
        self.attention = LocationSensitiveAttention()
        self.decoder_rnn = nn.LSTMCell(ATTENTION_RNN_DIM + ENC_DIM, DECODER_RNN_DIM)
        self.linear_projection = nn.Linear(DECODER_RNN_DIM + ENC_DIM, N_MELS)
        self.gate_layer = nn.Linear(DECODER_RNN_DIM + ENC_DIM, 1)

    def forward(self, memory, decoder_inputs):
        batch, enc_len = memory.size(0), memory.size(1)
        go_frame = memory.new_zeros(batch, 1, N_MELS)
        frames = self.prenet(torch.cat([go_frame, decoder_inputs[:, :-1]], dim=1))  # frame t-1 feeds step t
        processed_memory = self.attention.memory_layer(memory)
        attention_h = attention_c = memory.new_zeros(batch, ATTENTION_RNN_DIM)
        decoder_h = decoder_c = memory.new_zeros(batch, DECODER_RNN_DIM)
        weights = weights_cum = memory.new_zeros(batch, enc_len)
        context = memory.new_zeros(batch, ENC_DIM)
        mels, gates, alignments = [], [], []
        for step in range(decoder_inputs.size(1)):
            attention_h, attention_c = self.attention_rnn(torch.cat([frames[:, step], context], dim=-1), (attention_h, attention_c))
            weights_cat = torch.stack([weights, weights_cum], dim=1)
            context, weights = self.attention(attention_h, memory, processed_memory, weights_cat)
            weights_cum = weights_cum + weights
            decoder_h, decoder_c = self.decoder_rnn(torch.cat([attention_h, context], dim=-1), (decoder_h, decoder_c))
            hidden_context = torch.cat([decoder_h, context], dim=-1)
            mels.append(self.linear_projection(hidden_context))
            gates.append(self.gate_layer(hidden_context).squeeze(1))
            alignments.append(weights)
        return torch.stack(mels, dim=1), torch.stack(gates, dim=1), torch.stack(alignments, dim=1)


def factory() -> ModelSpec:
    torch.manual_seed(0)
    module = Tacotron2Decoder().eval()
    memory = torch.randn(BATCH, ENC_LEN, ENC_DIM)
    decoder_inputs = torch.randn(BATCH, 4, N_MELS)
    return ModelSpec(
        module=module,
        inputs=(memory, decoder_inputs),
        input_names=["memory", "decoder_inputs"],
        output_names=["mel_outputs", "gate_outputs", "alignments"],
        dynamic_axes={"decoder_inputs": {1: "time"}, "mel_outputs": {1: "time"}, "gate_outputs": {1: "time"},
                      "alignments": {1: "time"}},
        run_shapes=[{"time": 1}, {"time": 7}],
        name="tacotron2_decoder",
    )
