"""Deterministic model inputs as numpy arrays: no torch needed, so a corpus can be rebuilt anywhere."""
from __future__ import annotations

import zlib

import numpy as np

from cases.case import Case
from cases.dtypes import DTYPES

# How a packed batch's sequence lengths are laid out at a run shape. Every pattern has one sequence of the
# full length, so the padded output keeps the run shape's length.
LENGTH_PATTERNS = ("varied", "equal")


def length_patterns(seq_len: int, batch: int) -> tuple[str, ...]:
    """The patterns a run shape has room for: lengths can only vary with more than one sequence of more than one step."""
    return LENGTH_PATTERNS if seq_len > 1 and batch > 1 else ("equal",)


def sequence_lengths(seq_len: int, batch: int, pattern: str) -> np.ndarray:
    """'varied': from seq_len down to 1 across the batch, rotated so they are not sorted; 'equal': all seq_len."""
    if pattern == "equal" or batch == 1:
        return np.full(batch, seq_len, dtype=np.int64)
    if pattern != "varied":
        raise ValueError(f"unknown length pattern {pattern!r}; choose from {', '.join(LENGTH_PATTERNS)}")
    descending = [seq_len - (i * (seq_len - 1)) // (batch - 1) for i in range(batch)]
    return np.array(descending[1:] + descending[:1], dtype=np.int64)


def make_feeds(case: Case, seq_len: int, batch: int, lengths: str | None = None) -> dict[str, np.ndarray]:
    """The same case and run shape always give the same arrays, whatever process asks.

    `lengths` names the pattern of a packed case's `lengths` input (default: varied).
    """
    seed = zlib.crc32(f"{case.seed}:{seq_len}:{batch}".encode())
    rng = np.random.default_rng(seed)
    dtype = DTYPES[case.dtype].numpy
    feeds = {}
    for name, shape in case.input_shapes(seq_len, batch).items():
        if name == "lengths":
            feeds[name] = sequence_lengths(seq_len, batch, lengths or "varied")
        else:
            feeds[name] = rng.standard_normal(shape).astype(dtype)
    return feeds
