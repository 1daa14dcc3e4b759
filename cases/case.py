"""LSTMCase: one nn.LSTM configuration plus the shape it is exported at."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

DTYPE_SHORT = {"float32": "fp32", "float16": "fp16", "bfloat16": "bf16", "float64": "fp64"}


class InvalidCaseError(ValueError):
    """A case asked for explicitly that torch (or this suite) cannot build."""


@dataclass(frozen=True)
class LSTMCase:
    input_size: int = 4
    hidden_size: int = 8
    num_layers: int = 1
    bias: bool = True
    batch_first: bool = False
    dropout: float = 0.0
    bidirectional: bool = False
    proj_size: int = 0
    train: bool = False
    initial_state: bool = True
    dtype: str = "float32"
    seq_len: int = 5
    batch: int = 3
    seed: int = 0

    @property
    def id(self) -> str:
        """Stable, greppable: the same fields always give the same id, defaults stay implicit."""
        parts = [
            f"L{self.num_layers}",
            "bi" if self.bidirectional else "uni",
            f"proj{self.proj_size}" if self.proj_size else "noproj",
            "bf" if self.batch_first else "sf",
            "bias" if self.bias else "nobias",
            "h0" if self.initial_state else "noh0",
            DTYPE_SHORT.get(self.dtype, self.dtype),
        ]
        if (self.input_size, self.hidden_size) != (4, 8):
            parts.append(f"i{self.input_size}h{self.hidden_size}")
        if self.dropout:
            parts.append(f"drop{self.dropout:g}")
        if self.train:
            parts.append("train")
        if (self.seq_len, self.batch) != (5, 3):
            parts.append(f"s{self.seq_len}b{self.batch}")
        if self.seed:
            parts.append(f"seed{self.seed}")
        return "-".join(parts)

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def output_hidden(self) -> int:
        return self.proj_size or self.hidden_size

    def expected_shapes(self, seq_len: int, batch: int) -> dict[str, tuple[int, ...]]:
        d, h = self.num_directions, self.output_hidden
        output = (batch, seq_len, d * h) if self.batch_first else (seq_len, batch, d * h)
        return {
            "output": output,
            "h_n": (d * self.num_layers, batch, h),
            "c_n": (d * self.num_layers, batch, self.hidden_size),
        }

    def input_shapes(self, seq_len: int, batch: int) -> dict[str, tuple[int, ...]]:
        x = (batch, seq_len, self.input_size) if self.batch_first else (seq_len, batch, self.input_size)
        shapes = {"input": x}
        if self.initial_state:
            d = self.num_directions * self.num_layers
            shapes["h0"] = (d, batch, self.output_hidden)
            shapes["c0"] = (d, batch, self.hidden_size)
        return shapes

    def invalid_reason(self) -> str | None:
        """Why this combination is not applicable, or None when it is a real test."""
        if self.dtype not in DTYPE_SHORT:
            return f"unknown dtype {self.dtype!r}; choose from {', '.join(DTYPE_SHORT)}"
        for name in ("input_size", "hidden_size", "num_layers", "seq_len", "batch"):
            if getattr(self, name) < 1:
                return f"{name} must be >= 1 (got {getattr(self, name)})"
        if self.proj_size < 0:
            return f"proj_size must be >= 0 (got {self.proj_size})"
        if self.proj_size >= self.hidden_size:
            return (
                f"torch rejects proj_size >= hidden_size "
                f"(proj_size={self.proj_size}, hidden_size={self.hidden_size})"
            )
        if not 0.0 <= self.dropout < 1.0:
            return f"dropout must be in [0, 1) (got {self.dropout})"
        if self.dropout and self.num_layers == 1:
            return "dropout acts between layers only; with num_layers=1 it has no effect (torch warns)"
        if self.dropout and self.train:
            return "dropout in training mode is random: eager and exported outputs cannot be compared"
        return None

    def params(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_params(cls, params: dict) -> "LSTMCase":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(params) - known)
        if unknown:
            raise InvalidCaseError(f"unknown LSTMCase field(s): {', '.join(unknown)}")
        return cls(**params)
