"""The ONNX LSTM, GRU and RNN operators in plain numpy, written from the operators' documentation alone.

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
    "LeakyRelu": lambda x, alpha, beta: np.where(x >= 0.0, x, alpha * x),
}
# The defaults of the ONNX operators of the same name, used when activation_alpha/beta run out.
DEFAULT_ALPHA = {"HardSigmoid": 0.2, "LeakyRelu": 0.01}
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


def _recur(step, X, initial_states, sequence_lens, *, hidden_size, direction, layout):
    """Y and each final state, as float64, of `step(d, x_t, states) -> states` (h first) run over X.

    Each sequence runs for its own length; past it, Y stays zero and the state holds.
    """
    X = np.asarray(X, dtype=np.float64)
    if layout:
        X = X.transpose(1, 0, 2)
    seq_len, batch, _ = X.shape
    directions = 2 if direction == "bidirectional" else 1

    def sequence_major(value):
        if value is None:
            return np.zeros((directions, batch, hidden_size))
        value = np.asarray(value, dtype=np.float64)
        return value.transpose(1, 0, 2) if layout else value

    initial = [sequence_major(value) for value in initial_states]
    lengths = [seq_len] * batch if sequence_lens is None else [int(n) for n in sequence_lens]
    Y = np.zeros((seq_len, directions, batch, hidden_size))
    finals = [np.zeros((directions, batch, hidden_size)) for _ in initial]
    for d in range(directions):
        backwards = direction == "reverse" or d == 1
        for n in range(batch):
            states = [value[d, n] for value in initial]
            steps = range(lengths[n])
            for t in reversed(steps) if backwards else steps:
                states = step(d, X[t, n], states)
                Y[t, d, n] = states[0]
            for final, value in zip(finals, states):
                final[d, n] = value
    if layout:
        return Y.transpose(2, 0, 1, 3), *(final.transpose(1, 0, 2) for final in finals)
    return Y, *finals


def _parts(W, R, B, d, gates, hidden_size):
    """Direction d's W, R, Wb and Rb in float64 (B absent: zeros)."""
    Wd, Rd = np.asarray(W[d], dtype=np.float64), np.asarray(R[d], dtype=np.float64)
    Bd = np.zeros(2 * gates * hidden_size) if B is None else np.asarray(B[d], dtype=np.float64)
    return Wd, Rd, Bd[: gates * hidden_size], Bd[gates * hidden_size :]


def _bound(clip):
    return (lambda v: np.clip(v, -clip, clip)) if clip else (lambda v: v)


def lstm(X, W, R, B=None, sequence_lens=None, initial_h=None, initial_c=None, P=None, *, hidden_size,
         direction="forward", activations=None, activation_alpha=(), activation_beta=(), clip=None,
         input_forget=0, layout=0, clip_cell_into_h=True):
    """Y, Y_h, Y_c as float64. `clip_cell_into_h=False` is onnxruntime's reading of clip (gates' inputs only)."""
    H = hidden_size
    directions = 2 if direction == "bidirectional" else 1
    P = np.zeros((directions, 3 * H)) if P is None else np.asarray(P, dtype=np.float64)
    names = list(activations) if activations else ["Sigmoid", "Tanh", "Tanh"] * directions
    functions = _activation_functions(names, activation_alpha, activation_beta)
    bound = _bound(clip)

    def step(d, x, states):
        h_prev, c_prev = states
        f, g, h = functions[3 * d : 3 * d + 3]
        Wd, Rd, Wb, Rb = _parts(W, R, B, d, 4, H)
        p_i, p_o, p_f = P[d][:H], P[d][H : 2 * H], P[d][2 * H :]
        z = Wd @ x + Rd @ h_prev + Wb + Rb
        z_i, z_o, z_f, z_c = z[:H], z[H : 2 * H], z[2 * H : 3 * H], z[3 * H :]
        i = f(bound(z_i + p_i * c_prev))
        forget = 1.0 - i if input_forget else f(bound(z_f + p_f * c_prev))
        c = forget * c_prev + i * g(bound(z_c))
        o = f(bound(z_o + p_o * c))
        return [o * h(bound(c) if clip_cell_into_h else c), c]

    return _recur(step, X, [initial_h, initial_c], sequence_lens, hidden_size=H, direction=direction, layout=layout)


def gru(X, W, R, B=None, sequence_lens=None, initial_h=None, *, hidden_size, direction="forward", activations=None,
        activation_alpha=(), activation_beta=(), clip=None, linear_before_reset=0, layout=0):
    """Y, Y_h as float64."""
    H = hidden_size
    directions = 2 if direction == "bidirectional" else 1
    names = list(activations) if activations else ["Sigmoid", "Tanh"] * directions
    functions = _activation_functions(names, activation_alpha, activation_beta)
    bound = _bound(clip)

    def step(d, x, states):
        (h_prev,) = states
        f, g = functions[2 * d : 2 * d + 2]
        Wd, Rd, Wb, Rb = _parts(W, R, B, d, 3, H)
        (Wz, Wr, Wh), (Rz, Rr, Rh) = np.split(Wd, 3), np.split(Rd, 3)
        (Wbz, Wbr, Wbh), (Rbz, Rbr, Rbh) = np.split(Wb, 3), np.split(Rb, 3)
        z = f(bound(Wz @ x + Rz @ h_prev + Wbz + Rbz))
        r = f(bound(Wr @ x + Rr @ h_prev + Wbr + Rbr))
        if linear_before_reset:
            h = g(bound(Wh @ x + r * (Rh @ h_prev + Rbh) + Wbh))
        else:
            h = g(bound(Wh @ x + Rh @ (r * h_prev) + Rbh + Wbh))
        return [(1.0 - z) * h + z * h_prev]

    return _recur(step, X, [initial_h], sequence_lens, hidden_size=H, direction=direction, layout=layout)


def rnn(X, W, R, B=None, sequence_lens=None, initial_h=None, *, hidden_size, direction="forward", activations=None,
        activation_alpha=(), activation_beta=(), clip=None, layout=0):
    """Y, Y_h as float64."""
    directions = 2 if direction == "bidirectional" else 1
    names = list(activations) if activations else ["Tanh"] * directions
    functions = _activation_functions(names, activation_alpha, activation_beta)
    bound = _bound(clip)

    def step(d, x, states):
        Wd, Rd, Wb, Rb = _parts(W, R, B, d, 1, hidden_size)
        return [functions[d](bound(Wd @ x + Rd @ states[0] + Wb + Rb))]

    return _recur(step, X, [initial_h], sequence_lens, hidden_size=hidden_size, direction=direction, layout=layout)
