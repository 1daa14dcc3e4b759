"""torch.nn.GRUCell stepped in a Python loop over the sequence: the maths of a one-layer, unidirectional nn.GRU
(reset applied after the recurrent product, as nn.GRU does), one cell call per step. The loop and the rules it shares
with lstm_cell live in cases/kinds/lstm_cell.py."""
from cases.kinds.lstm_cell import CellKind

KIND = CellKind("gru_cell", "GC", "GRUCell", label="GRUCell loop")
