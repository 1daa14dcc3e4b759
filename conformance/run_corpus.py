"""run-corpus: run a corpus written by export-corpus in runtimes, on a machine without torch.

Reads DIR/manifest.json, runs every test in every runtime through the same worker pool and judging loop
as `run` (a runtime that crashes or hangs gives CRASH or TIMEOUT, and the run goes on), compares with the
expected outputs stored beside the inputs, applies the corpus's expectations and writes results.jsonl
(the records of `run`; the header says "source": "corpus") and report.html. Needs onnx, numpy, jinja2,
tqdm, packaging and msgspec plus the runtimes themselves: nothing imported here, now or later, imports torch.
An fp16 or bf16 test carries the fp64 oracle's outputs, its yardstick; the others have none here, so their
oracle_max_abs is null.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import msgspec

from conformance.corpus_layout import FORMAT, MANIFEST, MODEL, VERSION, data_set_dir, tensor_paths
from conformance.plan import CorpusJob
from conformance.runner import RunSummary, check_runtimes, finish, run_work
from conformance.worker import Settings
from verdict.errors import UsageError
from verdict.expectations import load_expectations, versions_of
from verdict.records import Header, Result, ResultsWriter, RunOptions, header_from_builtins, make_header, planned_of, prepare_out_dir, result_from_builtins
from verdict.status import Status

MANIFEST_KEYS = ("exported", "expectations", "tests", "not_applicable")


def read_manifest(corpus_dir: Path) -> dict:
    """The manifest of a complete corpus, or a UsageError that says what is wrong with it."""
    path = corpus_dir / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{corpus_dir} is not a corpus: it has no {MANIFEST} (write one with export-corpus)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise UsageError(f"{path} is not a corpus manifest (no format {FORMAT!r})")
    if manifest.get("version") != VERSION:
        raise UsageError(f"{path} is corpus version {manifest.get('version')}; this suite reads version {VERSION}")
    missing_keys = [key for key in MANIFEST_KEYS if key not in manifest]
    if missing_keys:
        raise UsageError(f"{path} lacks {', '.join(missing_keys)}")
    missing = [p for test in manifest["tests"] if test["status"] == Status.PASS.value for p in _files(corpus_dir, test) if not p.exists()]
    if missing:
        more = f" (and {len(missing) - 1} more files)" if len(missing) > 1 else ""
        raise UsageError(f"corpus {corpus_dir} is incomplete: {missing[0]} is missing{more}")
    return manifest


def _files(corpus_dir: Path, test: dict) -> list[Path]:
    test_dir = corpus_dir / test["name"]
    data_dirs = [data_set_dir(test_dir, i) for i in range(len(test["run_shapes"]))]
    kinds = [("input", "inputs"), ("output", "outputs"), *([("oracle", "outputs")] if test.get("oracle") else [])]
    tensors = [p for d in data_dirs for kind, listed in kinds for p in tensor_paths(d, kind, len(test[listed]))]
    return [test_dir / MODEL, *tensors]


def exported_header(manifest: dict, where: Path) -> Header:
    try:
        return header_from_builtins(manifest["exported"])
    except (msgspec.ValidationError, KeyError, TypeError, ValueError) as exc:
        raise UsageError(f"{where}: its 'exported' header is not readable: {exc}") from None


def run_corpus(corpus_dir: str | Path, options: RunOptions, out_dir: str | Path, *, overwrite: bool = False,
               progress: bool = True) -> RunSummary:
    """`options`: runtimes, runtime_options, expectations (default: the corpus's own), tolerances, jobs, timeout."""
    corpus_dir, out_dir = Path(corpus_dir), Path(out_dir)
    manifest = read_manifest(corpus_dir)
    exported = exported_header(manifest, corpus_dir / MANIFEST)
    check_runtimes(options.runtimes or [], options.runtime_options)
    options = msgspec.structs.replace(options, corpus=str(corpus_dir),
                                      expectations=options.expectations or str(corpus_dir / manifest["expectations"]))
    expectations = load_expectations(options.expectations)
    results_path = out_dir / "results.jsonl"
    if results_path.exists() and not overwrite:
        raise UsageError(f"{out_dir} already holds results; use --overwrite to replace them")
    prepare_out_dir(out_dir)
    not_applicable = [result_from_builtins(raw, exported.schema) for raw in manifest["not_applicable"]]
    work = [(CorpusJob(str(corpus_dir.resolve()), test, tuple(options.runtimes)), set()) for test in manifest["tests"]]
    planned = planned_of([r.key for r in not_applicable] + [k for job, _ in work for k in job.result_keys()])
    header = msgspec.structs.replace(make_header(options, source="corpus", planned=planned), corpus_exported=exported)
    total = sum(len(job.result_keys()) for job, _ in work)
    settings = Settings(models_dir=str(out_dir / "models"), tolerances=options.tolerances, runtime_options=options.runtime_options,
                        scratch_dir=str(out_dir / ".scratch"))
    with ResultsWriter(results_path, header) as writer:
        for record in not_applicable:
            writer.write(record)
        run_work(work, total, settings, writer, expectations, versions_of(header), jobs=options.jobs or os.cpu_count() or 1, timeout=options.timeout,
                 logs_dir=out_dir / "logs", progress=progress)
    return finish(results_path, out_dir / "report.html", options, just_ran=True)
