"""What every kind declares, and the defaults most of them share."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    name: str  # recorded as params.kind
    id_prefix: str  # case ids start with it: L2-..., G2-..., Rtanh2-...
    torch_layer: str  # the torch.nn class under test
    state_names: tuple[str, ...] = ("h0",)  # initial-state inputs; each has a final-state output
    final_names: tuple[str, ...] = ("h_n",)
    layer_options: tuple[tuple[str, object], ...] = ()  # fixed extra arguments of the torch layer
    label: str = ""  # how reports name the kind; default: the torch layer

    @property
    def title(self) -> str:
        return self.label or self.torch_layer

    @property
    def output_names(self) -> tuple[str, ...]:
        return ("output", *self.final_names)

    def takes(self, field: str) -> bool:
        """Whether the kind uses a case field that only some kinds have (proj_size)."""
        return False

    def invalid_reason(self, case) -> str | None:
        """Why the kind cannot build this case (beyond the checks every case gets), or None."""
        return None

    def id_parts(self, case) -> list[str]:
        """Kind-specific parts of the case id, after the direction."""
        return []

    def output_hidden(self, case) -> int:
        return case.hidden_size

    def state_size(self, case, state: str) -> int:
        """The last dimension of an initial or final state."""
        return case.hidden_size

    def layer_arguments(self, case) -> dict:
        return dict(self.layer_options)

    def layer_call(self, case) -> dict | None:
        """The keyword arguments of torch.nn.<torch_layer> that build the layer under test; None for a kind whose layer
        is more than that one call (standalone scripts then build it through the suite)."""
        common = dict(input_size=case.input_size, hidden_size=case.hidden_size, num_layers=case.num_layers, bias=case.bias,
                      batch_first=case.batch_first, dropout=case.dropout, bidirectional=case.bidirectional)
        return {**common, **self.layer_arguments(case)}

    def build_layer(self, case):
        """The torch layer under test; it takes (input, state) and returns (output, state) as nn.LSTM does."""
        import torch

        return getattr(torch.nn, self.torch_layer)(**self.layer_call(case))
