"""The baseline: the same exports, onnxruntime CPU runs and comparisons, serially in one process.

Every export is a plain torch.onnx.export call, as a user's own loop makes it: the Dynamo exporter's
per-process registry reuse is switched off here, so the suite's savings show in the ratio.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import onnxruntime as ort

from cases import preset_cases, select
from cases.inputs import make_feeds
from cases.torch_model import build_module, eager_outputs
from verdict.compare import compare
from verdict.tolerances import TOLERANCES
from conformance.plan import make_jobs
from exporters import DEFAULT_OPSET, EXPORTERS, get_exporter


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--preset", default="default")
    parser.add_argument("-k", action="append", dest="substrings", help="keep cases whose id contains this (any of)")
    args = parser.parse_args()
    cases = [c for c in select(preset_cases(args.preset), args.substrings) if not c.invalid_reason()]
    jobs = make_jobs(cases, list(EXPORTERS), [False, True], ["ort-cpu"], [DEFAULT_OPSET])
    exporters = {name: get_exporter(name) for name in EXPORTERS}
    exporters["dynamo"].reuse_registry = False
    start, results = time.perf_counter(), 0
    with tempfile.TemporaryDirectory() as tmp:
        for job in jobs:
            path = Path(tmp) / job.model_name
            export = exporters[job.exporter].export(job.case, str(path), dynamic=job.dynamic, opset=job.opset)
            module = build_module(job.case)
            session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]) if export.ok else None
            for shape in job.run_shapes():
                results += 1
                if session is None:
                    continue
                feeds = make_feeds(job.case, *shape)
                try:
                    actual = dict(zip([o.name for o in session.get_outputs()], session.run(None, feeds)))
                except Exception:
                    continue
                compare(eager_outputs(job.case, module, feeds), actual, lambda output: TOLERANCES[job.case.dtype])
    print(f"{results} results in {time.perf_counter() - start:.0f}s ({len(jobs)} exports)")


if __name__ == "__main__":
    main()
