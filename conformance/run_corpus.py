"""run-corpus: run a corpus in runtimes, on a machine without torch.

A corpus is either one export-corpus wrote (DIR/manifest.json lists its tests, tolerances and expectations) or any
ONNX backend-test directory without a manifest: onnx's own onnx/backend/test/data/node, onnxruntime's, a vendor's,
or onnx's recurrent node tests written by `python -m cases.onnx_node_tests DIR`. There each folder is a test named by
the folder, each test_data_set_<i> a run (run shape [i]), input_<k>.pb the k-th graph input that is not an
initializer, output_<k>.pb the k-th graph output; tolerances are onnx's backend-test ones (rtol 1e-3, atol 1e-7, or
the folder's data.json), then --rtol/--atol; the expectations are DIR/expectations.toml if there is one, else the
suite's. What a result records of a model that is one LSTM, GRU or RNN node (op, layout, sizes) is read from the
model, so the suite's expectations match it by those facts. A malformed folder (no model.onnx, an unreadable model or
tensor, counts that disagree) is one result, INVALID_MODEL with the reason, and the rest runs
(conformance.corpus_layout.backend_tests).

Either way every test runs in every runtime through the same worker pool and judging loop as `run` (a runtime that
crashes or hangs gives CRASH or TIMEOUT, and the run goes on), is compared with the expected outputs stored beside the
inputs, and is judged by the expectations; the run writes results.jsonl (the records of `run`; the header says
"source": "corpus") and report.html. Needs onnx, numpy, jinja2, tqdm, packaging and msgspec plus the runtimes
themselves: nothing imported here, now or later, imports torch. An fp16 or bf16 test of export-corpus carries the fp64
oracle's outputs, its yardstick; the others have none here, so their oracle_max_abs is null.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from conformance.corpus_layout import (FORMAT, MANIFEST, MODEL, VERSION, EXPECTATIONS_FILE, MalformedTest, backend_tests, data_set_dir,
                                       is_backend_dir, tensor_paths)
from conformance.plan import CorpusJob
from conformance.runner import RunSummary, check_runtimes, finish, run_work
from conformance.worker import Settings
from verdict.errors import UsageError
from verdict.expectations import DEFAULT_EXPECTATIONS, apply_expectations, load_expectations, versions_of
from verdict.records import (ErrorInfo, Header, Result, ResultsWriter, RunOptions, header_from_builtins, make_header, planned_of,
                             prepare_out_dir, result_from_builtins, result_key)
from verdict.status import Status

MANIFEST_KEYS = ("exported", "expectations", "tests", "not_applicable")


def read_manifest(corpus_dir: Path) -> dict:
    """The manifest of a complete corpus, or a UsageError that says what is wrong with it."""
    path = corpus_dir / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{corpus_dir} is not a corpus: it has no {MANIFEST} (write one with export-corpus) and no backend-test "
                         f"folders (<test>/{MODEL} with test_data_set_<i>/input_<k>.pb, output_<k>.pb)") from None
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


@dataclass
class Corpus:
    """What run-corpus runs: the tests (manifest entries), the results that need no runtime, where the models came from."""

    tests: list[dict]
    jobless: list[Result] = field(default_factory=list)  # not applicable, unbuildable, malformed: one result each
    exported: Header | None = None  # the export-corpus header; None for a backend-test directory
    expectations: Path = DEFAULT_EXPECTATIONS  # the default when --expectations does not say


def load_corpus(corpus_dir: Path) -> Corpus:
    """The corpus in `corpus_dir`: its manifest's, or else its backend-test folders'; a UsageError if it is neither."""
    if not corpus_dir.is_dir():
        raise UsageError(f"{corpus_dir} is not a corpus: it is not a directory")
    if (corpus_dir / MANIFEST).exists() or not is_backend_dir(corpus_dir):
        manifest = read_manifest(corpus_dir)
        exported = exported_header(manifest, corpus_dir / MANIFEST)
        jobless = [result_from_builtins(raw, exported.schema) for raw in manifest["not_applicable"]]
        return Corpus(manifest["tests"], jobless, exported, corpus_dir / manifest["expectations"])
    tests, malformed = backend_tests(corpus_dir)
    own = corpus_dir / EXPECTATIONS_FILE
    return Corpus(tests, [malformed_record(m) for m in malformed], None, own if own.is_file() else DEFAULT_EXPECTATIONS)


def malformed_record(malformed: MalformedTest) -> Result:
    """The one result of a backend-test folder that cannot be run: INVALID_MODEL (or NOT_APPLICABLE) with the reason."""
    c = malformed.coordinates
    status = Status(malformed.status)
    broken = status != Status.NOT_APPLICABLE
    message = f"malformed test folder: {malformed.reason}" if broken else malformed.reason
    return Result(key=result_key(c["case"], c["exporter"], c["dynamic"], c["opset"], None, None), case=c["case"], params=c["params"],
                  exporter=c["exporter"], dynamic=c["dynamic"], opset=c["opset"], status=status, raw_status=status, stage="corpus",
                  message=message, error=ErrorInfo(type="MalformedTest", message=malformed.reason) if broken else None)


def run_corpus(corpus_dir: str | Path, options: RunOptions, out_dir: str | Path, *, overwrite: bool = False,
               progress: bool = True) -> RunSummary:
    """`options`: runtimes, runtime_options, expectations (default: the corpus's own), tolerances, jobs, timeout."""
    corpus_dir, out_dir = Path(corpus_dir), Path(out_dir)
    corpus = load_corpus(corpus_dir)
    check_runtimes(options.runtimes or [], options.runtime_options)
    options = msgspec.structs.replace(options, corpus=str(corpus_dir), expectations=options.expectations or str(corpus.expectations))
    expectations = load_expectations(options.expectations)
    results_path = out_dir / "results.jsonl"
    if results_path.exists() and not overwrite:
        raise UsageError(f"{out_dir} already holds results; use --overwrite to replace them")
    prepare_out_dir(out_dir)
    work = [(CorpusJob(str(corpus_dir.resolve()), test, tuple(options.runtimes)), set()) for test in corpus.tests]
    planned = planned_of([r.key for r in corpus.jobless] + [k for job, _ in work for k in job.result_keys()])
    header = make_header(options, source="corpus", planned=planned)
    if corpus.exported is not None:
        header = msgspec.structs.replace(header, corpus_exported=corpus.exported)
    total = sum(len(job.result_keys()) for job, _ in work)
    settings = Settings(models_dir=str(out_dir / "models"), tolerances=options.tolerances, runtime_options=options.runtime_options,
                        scratch_dir=str(out_dir / ".scratch"))
    with ResultsWriter(results_path, header) as writer:
        for record in corpus.jobless:
            writer.write(apply_expectations(record, expectations, versions_of(header)))
        if work:
            run_work(work, total, settings, writer, expectations, versions_of(header), jobs=options.jobs or os.cpu_count() or 1,
                     timeout=options.timeout, logs_dir=out_dir / "logs", progress=progress)
    return finish(results_path, out_dir / "report.html", options, just_ran=True)
