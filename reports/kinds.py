"""Which recurrent kind a result belongs to, read from the record alone (older results carry no kind)."""
from __future__ import annotations

from verdict.records import Result

from cases.kinds import KINDS

# Module kinds in the order of their registry (cases.kinds.KINDS); ONNX node cases and models come after, as groups of their own.
NODE_PREFIX = "node-"
# A user's (or the zoo's) model: each is a kind of its own in the report, "model:<name>".
MODEL_PREFIX = "model:"


def kind_of(record: Result) -> str:
    """params.kind (a user's model: "model:" and its name); for ONNX node cases (`node-gru-…`, no kind recorded) "node-" and
    the op; else lstm, the only kind before kinds were recorded."""
    kind = record.params.get("kind")
    if kind == "model":
        return MODEL_PREFIX + str(record.params.get("model") or record.case.removeprefix("model-"))
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
    if kind.startswith(MODEL_PREFIX):
        return f"model {kind[len(MODEL_PREFIX):]}"
    return KINDS[kind].title if kind in KINDS else kind


def kind_order(kind: str) -> tuple:
    """Module kinds as listed, then other module kinds, then node cases, then models; alphabetically within the last three."""
    known = list(KINDS)
    if kind in known:
        return (known.index(kind), "")
    return (len(known) + kind.startswith(NODE_PREFIX) + 2 * kind.startswith(MODEL_PREFIX), kind)
