"""export-corpus: exported models with their inputs and expected outputs, for machines without torch.

The layout (conformance/corpus_layout.py) is the ONNX backend-test one, so tools that read those
(onnxruntime's onnx_test_runner) read it too. An fp16 or bf16 test's data sets also hold the fp64 oracle's
outputs (oracle_<n>.pb), its yardstick (verdict.tolerances). The manifest is written last: a directory
without one is an export that did not finish. Nothing here imports torch at module level; `run-corpus`
(conformance/run_corpus.py) reads the layout with onnx and numpy alone.

Node cases come after the exported tests (conformance.plan.selected_node_tests, `write_node_tests`): the suite's own
(cases.node_cases, test_node-<op>-<name>/) and onnx's recurrent node tests (cases.onnx_node_tests, under their onnx
names, test_lstm_defaults/ ...: onnx's expected outputs and tolerances, params.origin naming the onnx release).
"""
from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Callable

import msgspec

from cases.modes import MODES
from conformance.corpus_layout import EXPECTATIONS_FILE, FORMAT, MANIFEST, MODEL, VERSION, data_set_dir, write_tensors
from conformance.plan import (Job, make_jobs, not_applicable_record, not_applicable_records, preset_of, resolve_cases, resolve_models,
                              selected_node_tests)
from conformance.runner import resolved, validate
from conformance.stages.export import Data, base_tolerance, export_model, export_summary
from exporters.base import ExportResult
from verdict.errors import UsageError
from verdict.expectations import DEFAULT_EXPECTATIONS, load_expectations
from verdict.records import RunOptions, make_header, prepare_out_dir
from verdict.status import Status
from verdict.tolerances import TOLERANCES, Tolerance, uses_oracle

STREAMING = ("a streaming model feeds each call the state the runtime itself returned: a corpus of fixed inputs and outputs "
             "cannot hold that; run it with `run`")


def export_corpus(options: RunOptions, out_dir: str | Path, *, progress: bool = True) -> Counter:
    """Export the selection (in this process) and write the corpus; returns the count of tests per export status."""
    from tqdm import tqdm

    from conformance.cache import default_cache_dir

    out_dir = Path(out_dir)
    # The runtimes come later, on the machine that runs the corpus.
    options = resolved(msgspec.structs.replace(options, runtimes=[]))
    validate(options, runtimes=False)
    load_expectations(options.expectations)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise UsageError(f"{out_dir} is not empty; export a corpus into a new or empty directory")
    prepare_out_dir(out_dir)
    cases = resolve_cases(options)
    models, unbuildable = resolve_models(options)
    streaming = [m for m in models if m.spec.chunks > 1]
    subjects = [c for c in cases if not c.invalid_reason()] + [m for m in models if m not in streaming]
    jobs = make_jobs(subjects, options.exporters, [MODES[m] for m in options.modes], [], options.opsets)
    cache_dir = None if options.no_cache else (options.cache_dir or str(default_cache_dir()))
    tests = []
    with tempfile.TemporaryDirectory(prefix="lstm-corpus-") as workdir:
        for job in tqdm(jobs, unit="model", disable=not progress, dynamic_ncols=True, desc="export-corpus"):
            tests.append(_export_test(job, out_dir, Path(workdir), cache_dir))
        suite_cases, onnx_names = selected_node_tests(options)
        tests += write_node_tests(out_dir, suite_cases, onnx_names, Path(workdir))
    shutil.copyfile(options.expectations or DEFAULT_EXPECTATIONS, out_dir / EXPECTATIONS_FILE)
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "exported": msgspec.to_builtins(make_header(options, source="export-corpus")),
        "expectations": EXPECTATIONS_FILE,
        "tests": tests,
        "not_applicable": msgspec.to_builtins(not_applicable_records(cases + models, options.exporters, options.opsets) + unbuildable
                                              + [not_applicable_record(m, STREAMING) for m in streaming]),
    }
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return Counter(test["status"] for test in tests)


def _test_entry(name: str, coordinates: dict, run_shapes: list, dtype: str, export, tolerance: Tolerance) -> dict:
    """`coordinates`: what each result of the test records as its case, params, exporter, dynamic and opset."""
    return {
        "name": f"test_{name}", **coordinates, "run_shapes": [list(shape) for shape in run_shapes], "dtype": dtype,
        "tolerance": msgspec.to_builtins(tolerance), "export": msgspec.to_builtins(export),
    }


def _export_test(job: Job, out_dir: Path, workdir: Path, cache_dir: str | None) -> dict:
    from conformance.stages.eager import reference_for

    export, model_path, cached = export_model(job, workdir, cache_dir if type(job) is Job else None)
    coordinates = {"case": job.case.id, "params": job.case.params(), "exporter": job.exporter, "dynamic": job.dynamic, "opset": job.opset}
    test = _test_entry(Path(job.model_name).stem, coordinates, job.run_shapes(), job.case.dtype, export_summary(export, cached),
                       base_tolerance(job))
    oracle = uses_oracle(job.case.dtype)
    if oracle:
        test["oracle"] = True

    def data_sets():
        reference = reference_for(job, oracle=oracle)
        return [reference.data(shape) for shape in job.run_shapes()]

    return _write_test(out_dir, test, export, model_path, data_sets)


def _node_test(case, out_dir: Path, workdir: Path) -> dict:
    """A cases.node_cases.NodeCase as a test: its model checked like an export, expected outputs from onnx.reference."""
    import onnx

    from cases.node_cases import BATCH, NODE_OPSET, PRODUCER, SEQ_LEN
    from exporters.base import validate as validate_model

    model_path = workdir / f"{case.id}.onnx"
    start = time.perf_counter()
    onnx.save(case.model(), model_path)
    export = validate_model(str(model_path))
    export.seconds = time.perf_counter() - start
    coordinates = {"case": case.id, "params": case.params(), "exporter": PRODUCER, "dynamic": False, "opset": NODE_OPSET}
    test = _test_entry(case.id, coordinates, [(SEQ_LEN, BATCH)], "float32", export_summary(export, cached=False), TOLERANCES["float32"])
    return _write_test(out_dir, test, export, model_path, lambda: [Data(case.feeds(), case.expected_outputs())])


def write_node_tests(out_dir: Path, suite_cases: list, onnx_names: list[str], workdir: Path) -> list[dict]:
    """The node cases as corpus tests in out_dir, their manifest entries in order: the suite's (expected outputs from
    onnx.reference on the unrolled graph), then onnx's own recurrent node tests (onnx's expected outputs, onnx's
    tolerances; each folder named as onnx names the test, its entry read back as run-corpus reads any backend test)."""
    from cases.onnx_node_tests import onnx_node_tests, write_test
    from conformance.corpus_layout import backend_test

    tests = [_node_test(case, out_dir, workdir) for case in suite_cases]
    for case in onnx_node_tests():
        if case.name in onnx_names:
            start = time.perf_counter()
            entry = backend_test(write_test(case, out_dir / case.name))
            entry["export"]["seconds"] = round(time.perf_counter() - start, 4)
            tests.append(entry)
    return tests


def _write_test(out_dir: Path, test: dict, export: ExportResult, model_path: Path, data_sets: Callable[[], list[Data]]) -> dict:
    """A failed export is listed with its status and error, and has no directory."""
    if not export.ok:
        return {**test, "status": export.status.value, "stage": export.stage, "error": msgspec.to_builtins(export.error)}
    test_dir = out_dir / test["name"]
    test_dir.mkdir()
    shutil.copyfile(model_path, test_dir / MODEL)
    sets = data_sets()
    for index, data in enumerate(sets):
        data_dir = data_set_dir(test_dir, index)
        data_dir.mkdir()
        write_tensors(data_dir, "input", data.feeds)
        write_tensors(data_dir, "output", data.expected)
        if data.oracle is not None:
            write_tensors(data_dir, "oracle", data.oracle)
    return {**test, "status": Status.PASS.value, "inputs": list(sets[0].feeds), "outputs": list(sets[0].expected)}

