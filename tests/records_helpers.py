"""Typed result records for unit tests, with the fields a real run fills and sensible defaults."""
from __future__ import annotations

from verdict.records import ErrorInfo, ExpectationRef, Header, OutputStats, Result, RunOptions, result_key
from verdict.status import Status
from verdict.tolerances import TOLERANCES

PARAMS = {"kind": "lstm", "input_size": 4, "hidden_size": 8, "num_layers": 1, "bias": True, "batch_first": False, "dropout": 0.0,
          "bidirectional": False, "proj_size": 0, "train": False, "initial_state": True, "packed": False, "dtype": "float32",
          "seq_len": 5, "batch": 3, "seed": 0}


def result(status="PASS", raw_status=None, *, case="L1-uni-noproj-sf-bias-h0-fp32", exporter="torchscript", dynamic=False, opset=18,
           runtime="ort-cpu", shape=(5, 3), params=None, message="", stage=None, error=None, expectation=None, max_abs=None,
           outputs=None, runtime_options=None, key=None) -> Result:
    """`error`: a message (type E) or ErrorInfo; `expectation`: an id or ExpectationRef; `max_abs`: one value for every output."""
    status = Status(status)
    raw = Status(raw_status) if raw_status else status
    if isinstance(error, str):
        error = ErrorInfo(type="E", message=error, text=error)
    if isinstance(expectation, str):
        expectation = ExpectationRef(id=expectation, reason="because", link="https://example.com/issue")
    if outputs is None and max_abs is not None:
        failed = raw == Status.NUMERIC_MISMATCH
        outputs = {name: OutputStats(status=Status.NUMERIC_MISMATCH if failed else Status.PASS, max_abs=max_abs,
                                     tolerance=TOLERANCES["float32"]) for name in ("output", "h_n", "c_n")}
    shape = list(shape) if shape is not None else None
    return Result(key=key or result_key(case, exporter, dynamic, opset, runtime, shape), case=case, status=status, raw_status=raw,
                  stage=stage or ("compare" if raw in (Status.PASS, Status.NUMERIC_MISMATCH) else "run"), params={**PARAMS, **(params or {})},
                  exporter=exporter, dynamic=dynamic, opset=opset, runtime=runtime, run_shape=shape, message=message, error=error,
                  expectation=expectation, outputs=outputs, runtime_options=runtime_options or {})


def header(**options) -> Header:
    from verdict.records import make_header

    return make_header(RunOptions(**{"exporters": ["torchscript"], "modes": ["static"], "runtimes": ["ort-cpu"], "opsets": [18], **options}))


def typed(record: dict) -> Result:
    """A result written as a plain dict of schema-2 fields, checked and typed as a results file would be read."""
    import msgspec

    record = {k: v for k, v in record.items() if v is not None or k in ("error", "expectation", "outputs")}
    record.setdefault("key", result_key(record["case"], record.get("exporter"), record.get("dynamic"), record.get("opset"),
                                        record.get("runtime"), record.get("run_shape")))
    record.setdefault("raw_status", record["status"])
    record.setdefault("stage", "compare")
    return msgspec.convert({"record": "result", **{k: v for k, v in record.items() if k != "record"}}, Result)


def plain_header(**fields) -> Header:
    """A header without probing this machine, for rendering tests."""
    from verdict.records import Platform

    return Header(schema=2, started=fields.pop("started", "2026-01-01T00:00:00+00:00"), command=fields.pop("command", "x"),
                  options=fields.pop("options", RunOptions()), versions=fields.pop("versions", {"torch": "2.13.0"}),
                  platform=fields.pop("platform", Platform(cpu="test cpu")), **fields)
