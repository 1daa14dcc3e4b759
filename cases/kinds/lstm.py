"""torch.nn.LSTM: a cell state beside the hidden state, and an optional projection of h (proj_size)."""
from __future__ import annotations

from dataclasses import dataclass

from cases.kinds.base import Kind


@dataclass(frozen=True)
class LSTMKind(Kind):
    def takes(self, field: str) -> bool:
        return field == "proj_size"

    def id_parts(self, case) -> list[str]:
        return [f"proj{case.proj_size}" if case.proj_size else "noproj"]

    def output_hidden(self, case) -> int:
        return case.proj_size or case.hidden_size

    def state_size(self, case, state: str) -> int:
        return case.hidden_size if state in ("c0", "c_n") else self.output_hidden(case)

    def layer_arguments(self, case) -> dict:
        return {"proj_size": case.proj_size}


KIND = LSTMKind("lstm", "L", "LSTM", state_names=("h0", "c0"), final_names=("h_n", "c_n"))
