"""export-corpus: exported models with their inputs and expected outputs, for machines without torch.

The layout (conformance/corpus_layout.py) is the ONNX backend-test one, so tools that read those
(onnxruntime's onnx_test_runner) read it too. The manifest is written last: a directory without one is
an export that did not finish. Nothing here imports torch at module level; `run-corpus`
(conformance/run_corpus.py) reads the layout with onnx and numpy alone.
"""
from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Callable

from cases.modes import MODES
from cases.status import Status
from conformance.compare import TOLERANCES
from conformance.corpus_layout import EXPECTATIONS_FILE, FORMAT, MANIFEST, MODEL, VERSION, data_set_dir, write_tensors
from conformance.errors import UsageError
from conformance.plan import Job, make_jobs, not_applicable_records
from conformance.results import make_header, prepare_out_dir
from conformance.runner import RunOptions, opsets_of, resolve_cases, validate
from conformance.worker import Settings, Worker, export_summary
from exporters.base import ExportResult

def export_corpus(options: RunOptions, out_dir: str | Path, *, node_cases: bool = False, progress: bool = True) -> Counter:
    """Export the selection (in this process) and write the corpus; returns the count of tests per export status."""
    from tqdm import tqdm

    from cases.expectations import ExpectationsError, load_expectations
    from conformance.cache import default_cache_dir

    out_dir = Path(out_dir)
    validate(options)
    try:
        load_expectations(options.expectations)
    except ExpectationsError as exc:
        raise UsageError(str(exc)) from None
    if out_dir.exists() and any(out_dir.iterdir()):
        raise UsageError(f"{out_dir} is not empty; export a corpus into a new or empty directory")
    prepare_out_dir(out_dir)
    cases = resolve_cases(options)
    # The runtimes come later, on the machine that runs the corpus.
    opsets = opsets_of(options)
    jobs = make_jobs([c for c in cases if not c.invalid_reason()], options.exporters, [MODES[m] for m in options.modes], [], opsets)
    cache_dir = None if options.no_cache else (options.cache_dir or str(default_cache_dir()))
    worker = Worker(Settings(models_dir=str(out_dir), cache_dir=cache_dir))  # only its export (and cache) is used
    tests = []
    with tempfile.TemporaryDirectory(prefix="lstm-corpus-") as workdir:
        for job in tqdm(jobs, unit="model", disable=not progress, dynamic_ncols=True, desc="export-corpus"):
            tests.append(_export_test(worker, job, out_dir, Path(workdir)))
        if node_cases:
            from cases.node_cases import NODE_CASES

            tests += [_node_test(case, out_dir, Path(workdir)) for case in NODE_CASES]
    shutil.copyfile(options.expectations, out_dir / EXPECTATIONS_FILE)
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "exported": make_header({**options.to_dict(), "node_cases": node_cases}),
        "expectations": EXPECTATIONS_FILE,
        "tests": tests,
        "not_applicable": not_applicable_records(cases, options.exporters, opsets),
    }
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=1, default=str), encoding="utf-8")
    return Counter(test["status"] for test in tests)


def _test_entry(name: str, coordinates: dict, run_shapes: list, dtype: str, export: dict) -> dict:
    """`coordinates`: what each result of the test records as its case, params, exporter, dynamic and opset."""
    return {
        "name": f"test_{name}", **coordinates, "run_shapes": [list(shape) for shape in run_shapes], "dtype": dtype,
        "tolerance": asdict(TOLERANCES[dtype]), "export": export,
    }


def _export_test(worker: Worker, job: Job, out_dir: Path, workdir: Path) -> dict:
    from cases.inputs import make_feeds
    from cases.torch_model import build_module, eager_outputs

    export, model_path, cached = worker.export(job, workdir)
    coordinates = {"case": job.case.id, "params": job.case.params(), "exporter": job.exporter, "dynamic": job.dynamic, "opset": job.opset}
    test = _test_entry(Path(job.model_name).stem, coordinates, job.run_shapes(), job.case.dtype, export_summary(export, cached))

    def data_sets():
        module = build_module(job.case)
        feeds = [make_feeds(job.case, *shape) for shape in job.run_shapes()]
        return [(f, eager_outputs(job.case, module, f)) for f in feeds]

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
    test = _test_entry(case.id, coordinates, [(SEQ_LEN, BATCH)], "float32", export_summary(export, cached=False))
    return _write_test(out_dir, test, export, model_path, lambda: [(case.feeds(), case.expected_outputs())])


def _write_test(out_dir: Path, test: dict, export: ExportResult, model_path: Path, data_sets: Callable[[], list]) -> dict:
    """A failed export is listed with its status and error, and has no directory."""
    if not export.ok:
        return {**test, "status": export.status, "stage": export.stage, "error": export.error}
    test_dir = out_dir / test["name"]
    test_dir.mkdir()
    shutil.copyfile(model_path, test_dir / MODEL)
    sets = data_sets()
    for index, (inputs, outputs) in enumerate(sets):
        data_dir = data_set_dir(test_dir, index)
        data_dir.mkdir()
        write_tensors(data_dir, "input", inputs)
        write_tensors(data_dir, "output", outputs)
    inputs, outputs = sets[0]
    return {**test, "status": Status.PASS.value, "inputs": list(inputs), "outputs": list(outputs)}


def register(subparsers) -> None:
    from conformance import arguments

    parser = subparsers.add_parser(
        "export-corpus",
        help="export models, inputs and expected outputs as an ONNX backend-test corpus (run it with run-corpus, no torch needed)",
        description="Export the selected cases once and write DIR/<test>/model.onnx with test_data_set_<i>/input_<n>.pb and "
                    "output_<n>.pb (expected: torch eager) per run shape, DIR/manifest.json and DIR/expectations.toml. "
                    "Export failures are listed in the manifest, so run-corpus reports them too. --node-cases adds "
                    "ONNX LSTM, GRU and RNN node cases (ids node-lstm-*, node-gru-*, node-rnn-*): attributes the exporters "
                    "never emit (direction=reverse, peepholes, input_forget, clip, activations, sequence_lens, layout=1, "
                    "GRU linear_before_reset=0), built with onnx.helper, expected outputs from onnx.reference; selection "
                    "options do not apply to them.",
    )
    parser.set_defaults(handler=_export_corpus)
    parser.add_argument("--out", required=True, metavar="DIR", help="corpus directory (new or empty)")
    arguments.add_selection(parser)
    arguments.add_export(parser)
    parser.add_argument("--node-cases", action="store_true", help="add the ONNX LSTM, GRU and RNN node cases (node-lstm-*, node-gru-*, node-rnn-*)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def _export_corpus(args) -> int:
    from conformance import arguments

    options = arguments.run_options(args)
    start = time.monotonic()
    counts = export_corpus(options, args.out, node_cases=args.node_cases, progress=not args.no_progress)
    summary = ", ".join(f"{status} {n}" for status, n in sorted(counts.items()))
    print(f"{sum(counts.values())} tests in {time.monotonic() - start:.0f}s: {summary}")
    print(f"corpus: {args.out} (run it with: python -m conformance run-corpus {args.out} --runtimes ...)")
    return 0
