"""torch.nn.LSTMCell stepped in a Python loop over the sequence.

The maths of a one-layer, unidirectional nn.LSTM, written the way many models write a decoder: one cell call per
step. The exporters see the loop, not a recurrent op: a traced loop is unrolled at the export length.
`CellKind` and `CellLoop` serve every cell kind (cases/kinds/gru_cell.py uses them too).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from cases.kinds.base import Kind


@dataclass(frozen=True)
class CellKind(Kind):
    """A torch.nn.*Cell run over the sequence by CellLoop: one layer, one direction, nothing packed."""

    def invalid_reason(self, case) -> str | None:
        what = f"{self.name} is one {self.torch_layer} stepped forward in time"
        if case.num_layers > 1:
            return f"{what}: a single layer (num_layers={case.num_layers})"
        if case.bidirectional:
            return f"{what}: it has no bidirectional form"
        if case.packed:
            return f"{what}: it takes a padded tensor, not a packed sequence"
        if case.dropout:
            return f"{what}: it has no dropout (dropout={case.dropout})"
        if case.proj_size:
            return f"{what}: it has no projection (proj_size={case.proj_size})"
        return None

    def layer_call(self, case) -> None:
        return None

    def build_layer(self, case):
        import torch

        cell = getattr(torch.nn, self.torch_layer)(input_size=case.input_size, hidden_size=case.hidden_size, bias=case.bias)
        return _cell_loop_class()(cell, batch_first=case.batch_first, paired=len(self.state_names) == 2)


@cache
def _cell_loop_class():
    import torch

    class CellLoop(torch.nn.Module):
        """Runs `cell` over each step of a sequence and takes and returns what a one-layer nn.LSTM (paired=True,
        state (h0, c0)) or nn.GRU (state h0) does: states shaped (1, batch, hidden), the output stacked over time."""

        def __init__(self, cell, batch_first: bool, paired: bool):
            super().__init__()
            self.cell = cell
            self.batch_first = batch_first
            self.paired = paired

        def forward(self, input, state=None):
            if not isinstance(input, torch.Tensor):
                raise TypeError(f"{type(self.cell).__name__} steps a padded tensor, not a {type(input).__name__}")
            time_axis = 1 if self.batch_first else 0
            if state is None:
                zeros = input.new_zeros(input.size(1 - time_axis), self.cell.hidden_size)
                state = (zeros, zeros) if self.paired else zeros
            elif self.paired:
                state = (state[0][0], state[1][0])
            else:
                state = state[0]
            outputs = []
            for step in input.unbind(time_axis):
                state = self.cell(step, state)
                outputs.append(state[0] if self.paired else state)
            output = torch.stack(outputs, time_axis)
            if self.paired:
                return output, (state[0].unsqueeze(0), state[1].unsqueeze(0))
            return output, state.unsqueeze(0)

    CellLoop.__qualname__ = "CellLoop"  # pickled by reference as cases.kinds.lstm_cell.CellLoop
    return CellLoop


def __getattr__(name):
    # torch is imported when a layer is built, not when the kinds are listed (cases stays importable without it).
    if name == "CellLoop":
        return _cell_loop_class()
    raise AttributeError(name)


KIND = CellKind("lstm_cell", "LC", "LSTMCell", state_names=("h0", "c0"), final_names=("h_n", "c_n"), label="LSTMCell loop")
