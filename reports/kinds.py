"""Which recurrent kind a result belongs to, read from the record alone (older results carry no kind)."""
from __future__ import annotations

from verdict.records import Result

# Module kinds in the order the report shows them; ONNX node cases come after, as their own groups.
KIND_LABELS = {"lstm": "LSTM", "gru": "GRU", "rnn_tanh": "RNN (tanh)", "rnn_relu": "RNN (relu)"}
NODE_PREFIX = "node-"


def kind_of(record: Result) -> str:
    """params.kind; for ONNX node cases (`node-gru-…`, no kind recorded) "node-" and the op; else lstm, the only kind before kinds were recorded."""
    kind = record.params.get("kind")
    if kind:
        return kind
    case = record.case
    if case.startswith(NODE_PREFIX):
        return NODE_PREFIX + case[len(NODE_PREFIX):].split("-")[0]
    return "lstm"


def is_packed(record: Result) -> bool:
    return bool(record.params.get("packed", False))


def kind_label(kind: str) -> str:
    if kind.startswith(NODE_PREFIX):
        return f"{kind[len(NODE_PREFIX):].upper()} node cases"
    return KIND_LABELS.get(kind, kind)


def kind_order(kind: str) -> tuple:
    """Module kinds as listed, then other module kinds, then node cases; alphabetically within the last two."""
    known = list(KIND_LABELS)
    return (known.index(kind), "") if kind in known else (len(known) + kind.startswith(NODE_PREFIX), kind)
