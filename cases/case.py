"""Case: one recurrent-layer configuration of a module kind, plus the shape it is exported at."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from cases.dtypes import DTYPES
from cases.kinds import KINDS, Kind

SEQ_AXIS_NAME, BATCH_AXIS_NAME = "seq", "batch"


class InvalidCaseError(ValueError):
    """A case asked for explicitly that torch (or this suite) cannot build."""


@dataclass(frozen=True)
class Case:
    kind: str = "lstm"
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
    # A variable-length batch: the model takes `lengths` and runs pack_padded_sequence -> layer -> pad_packed_sequence.
    packed: bool = False
    dtype: str = "float32"
    seq_len: int = 5
    batch: int = 3
    seed: int = 0

    @property
    def layer(self) -> Kind:
        return KINDS[self.kind]

    @property
    def id(self) -> str:
        """Stable, greppable: the same fields always give the same id, defaults stay implicit."""
        parts = [
            f"{self.layer.id_prefix}{self.num_layers}",
            "bi" if self.bidirectional else "uni",
            *self.layer.id_parts(self),
            "bf" if self.batch_first else "sf",
            "bias" if self.bias else "nobias",
            "h0" if self.initial_state else "noh0",
            DTYPES[self.dtype].short if self.dtype in DTYPES else self.dtype,
        ]
        if self.packed:
            parts.append("packed")
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

    def input_names(self) -> list[str]:
        states = list(self.layer.state_names) if self.initial_state else []
        return ["input", *(["lengths"] if self.packed else []), *states]

    def output_names(self) -> list[str]:
        return list(self.layer.output_names)

    def _sequence_shape(self, seq_len: int, batch: int, features: int) -> tuple[int, ...]:
        return (batch, seq_len, features) if self.batch_first else (seq_len, batch, features)

    def _state_shape(self, name: str, batch: int) -> tuple[int, ...]:
        return (self.num_directions * self.num_layers, batch, self.layer.state_size(self, name))

    def input_shapes(self, seq_len: int, batch: int) -> dict[str, tuple[int, ...]]:
        """Every input by name, in the model's order; `lengths` is int64, the rest in the case dtype."""
        shapes = {"input": self._sequence_shape(seq_len, batch, self.input_size)}
        if self.packed:
            shapes["lengths"] = (batch,)
        if self.initial_state:
            shapes.update({name: self._state_shape(name, batch) for name in self.layer.state_names})
        return shapes

    def expected_shapes(self, seq_len: int, batch: int) -> dict[str, tuple[int, ...]]:
        output = self._sequence_shape(seq_len, batch, self.num_directions * self.layer.output_hidden(self))
        return {"output": output, **{name: self._state_shape(name, batch) for name in self.layer.final_names}}

    def dynamic_axes(self) -> dict[str, dict[int, str]]:
        """Which axis of each input and output is the sequence or the batch."""
        seq_axis, batch_axis = (1, 0) if self.batch_first else (0, 1)
        sequence = {seq_axis: SEQ_AXIS_NAME, batch_axis: BATCH_AXIS_NAME}
        axes = {"input": sequence, "output": sequence}
        axes.update({name: {1: BATCH_AXIS_NAME} for name in self.layer.final_names})
        if self.packed:
            axes["lengths"] = {0: BATCH_AXIS_NAME}
        if self.initial_state:
            axes.update({name: {1: BATCH_AXIS_NAME} for name in self.layer.state_names})
        return axes

    def invalid_reason(self) -> str | None:
        """Why this combination is not applicable, or None when it is a real test."""
        if self.kind not in KINDS:
            return f"unknown kind {self.kind!r}; choose from {', '.join(KINDS)}"
        if self.dtype not in DTYPES:
            return f"unknown dtype {self.dtype!r}; choose from {', '.join(DTYPES)}"
        for name in ("input_size", "hidden_size", "num_layers", "seq_len", "batch"):
            if getattr(self, name) < 1:
                return f"{name} must be >= 1 (got {getattr(self, name)})"
        if reason := self.layer.invalid_reason(self):
            return reason
        if self.proj_size and not self.layer.takes("proj_size"):
            return f"{self.kind} has no projection (proj_size={self.proj_size}); only lstm takes proj_size"
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
    def from_params(cls, params: dict) -> "Case":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(params) - known)
        if unknown:
            raise InvalidCaseError(f"unknown case field(s): {', '.join(unknown)}")
        return cls(**params)
