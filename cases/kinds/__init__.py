"""Module kinds: each recurrent layer the suite tests is one module here plus one line in KINDS.

A kind owns every fact that differs between layers: the id prefix, the torch layer it builds, the
parameters it takes beyond the shared ones, which states it carries, and its output names. The case
(cases/case.py) combines those facts with the shared fields into shapes, names and axes.
"""
from __future__ import annotations

from cases.kinds import gru, gru_cell, lstm, lstm_cell, rnn_relu, rnn_tanh
from cases.kinds.base import Kind

KINDS: dict[str, Kind] = {kind.name: kind for kind in (lstm.KIND, gru.KIND, rnn_tanh.KIND, rnn_relu.KIND, lstm_cell.KIND,
                                                       gru_cell.KIND)}

__all__ = ["KINDS", "Kind"]
