"""The ONNX LSTM operator in plain numpy, written from the operator's documentation alone.

Deliberately unlike both onnx.reference (batched, whole directions at once) and the unrolled graphs of
cases/node_cases.py: one batch element and one time step at a time, in float64.
"""
from __future__ import annotations

import numpy as np

ACTIVATIONS = {
    "Sigmoid": lambda x, alpha, beta: 1.0 / (1.0 + np.exp(-x)),
    "Tanh": lambda x, alpha, beta: np.tanh(x),
    "Relu": lambda x, alpha, beta: np.maximum(x, 0.0),
    "HardSigmoid": lambda x, alpha, beta: np.clip(alpha * x + beta, 0.0, 1.0),
}
# The defaults of the ONNX operators of the same name, used when activation_alpha/beta run out.
DEFAULT_ALPHA = {"HardSigmoid": 0.2}
DEFAULT_BETA = {"HardSigmoid": 0.5}


def _activation_functions(names, alphas, betas):
    """One function per name; alpha/beta lists are consumed by the activations that take them, in order."""
    alphas, betas = list(alphas), list(betas)
    functions = []
    for name in names:
        alpha = (alphas.pop(0) if alphas else DEFAULT_ALPHA[name]) if name in DEFAULT_ALPHA else None
        beta = (betas.pop(0) if betas else DEFAULT_BETA[name]) if name in DEFAULT_BETA else None
        functions.append(lambda x, fn=ACTIVATIONS[name], a=alpha, b=beta: fn(x, a, b))
    return functions


def lstm(X, W, R, B=None, sequence_lens=None, initial_h=None, initial_c=None, P=None, *, hidden_size,
         direction="forward", activations=None, activation_alpha=(), activation_beta=(), clip=None,
         input_forget=0, layout=0, clip_cell_into_h=True):
    """Y, Y_h, Y_c as float64. `clip_cell_into_h=False` is onnxruntime's reading of clip (gates' inputs only)."""
    X = np.asarray(X, dtype=np.float64)
    if layout:
        X = X.transpose(1, 0, 2)
    seq_len, batch, _ = X.shape
    directions = 2 if direction == "bidirectional" else 1
    H = hidden_size

    def state(value):
        if value is None:
            return np.zeros((directions, batch, H))
        value = np.asarray(value, dtype=np.float64)
        return value.transpose(1, 0, 2) if layout else value

    h0, c0 = state(initial_h), state(initial_c)
    B = np.zeros((directions, 8 * H)) if B is None else np.asarray(B, dtype=np.float64)
    P = np.zeros((directions, 3 * H)) if P is None else np.asarray(P, dtype=np.float64)
    lengths = [seq_len] * batch if sequence_lens is None else [int(n) for n in sequence_lens]
    names = list(activations) if activations else ["Sigmoid", "Tanh", "Tanh"] * directions
    functions = _activation_functions(names, activation_alpha, activation_beta)
    bound = (lambda v: np.clip(v, -clip, clip)) if clip else (lambda v: v)

    Y = np.zeros((seq_len, directions, batch, H))
    Y_h, Y_c = np.zeros((directions, batch, H)), np.zeros((directions, batch, H))
    for d in range(directions):
        f, g, h = functions[3 * d : 3 * d + 3]
        backwards = direction == "reverse" or d == 1
        Wd, Rd = np.asarray(W[d], dtype=np.float64), np.asarray(R[d], dtype=np.float64)
        bias = B[d][: 4 * H] + B[d][4 * H :]
        p_i, p_o, p_f = P[d][:H], P[d][H : 2 * H], P[d][2 * H :]
        for n in range(batch):
            h_prev, c_prev = h0[d, n], c0[d, n]
            steps = range(lengths[n])
            for t in reversed(steps) if backwards else steps:
                z = Wd @ X[t, n] + Rd @ h_prev + bias
                z_i, z_o, z_f, z_c = z[:H], z[H : 2 * H], z[2 * H : 3 * H], z[3 * H :]
                i = f(bound(z_i + p_i * c_prev))
                forget = 1.0 - i if input_forget else f(bound(z_f + p_f * c_prev))
                c = forget * c_prev + i * g(bound(z_c))
                o = f(bound(z_o + p_o * c))
                h_prev, c_prev = o * h(bound(c) if clip_cell_into_h else c), c
                Y[t, d, n] = h_prev
            Y_h[d, n], Y_c[d, n] = h_prev, c_prev
    if layout:
        return Y.transpose(2, 0, 1, 3), Y_h.transpose(1, 0, 2), Y_c.transpose(1, 0, 2)
    return Y, Y_h, Y_c
