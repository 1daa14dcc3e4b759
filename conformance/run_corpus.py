"""run-corpus: run a corpus written by export-corpus in runtimes, on a machine without torch.

Reads DIR/manifest.json and the .pb files, runs every test in every runtime, compares with the expected
outputs stored beside the inputs, applies the corpus's expectations and writes results.jsonl (the
records of `run`; the header says "source": "corpus") and report.html. Needs onnx, numpy, jinja2,
tqdm and packaging plus the runtimes themselves: nothing imported here, now or later, imports torch.

Runtimes run in this process: a runtime that crashes ends the run (`run` isolates them in workers).
There is no fp64 oracle here (it needs torch), so oracle_max_abs is null.
"""
from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

from cases.expectations import ExpectationsError, apply_expectations, load_expectations, versions_of
from cases.status import Status
from conformance.compare import Tolerance
from conformance.corpus import FORMAT, MANIFEST, MODEL, VERSION, data_set_dir, read_tensors, tensor_paths
from conformance.results import ResultsWriter, make_header, read_results, result_key
from conformance.runner import DEFAULT_RUNTIMES, RunSummary, UsageError, prepare_out_dir, exit_code_for
from conformance.worker import finish_record, judge_run, load_session
from exporters.base import error_info

# What a result copies from its manifest test: the coordinates `run` records.
COORDINATES = ("case", "params", "exporter", "dynamic", "opset")
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
    tensors = [p for d in data_dirs for kind in ("input", "output") for p in tensor_paths(d, kind, len(test[kind + "s"]))]
    return [test_dir / MODEL, *tensors]


def run_corpus(corpus_dir: str | Path, runtimes: list[str], out_dir: str | Path, *, expectations: str | None = None,
               overwrite: bool = False, progress: bool = True, runtime_options: dict[str, dict] | None = None) -> RunSummary:
    from tqdm import tqdm

    from exporters.capture import captured_output

    corpus_dir, out_dir = Path(corpus_dir), Path(out_dir)
    manifest = read_manifest(corpus_dir)
    instances = _runtimes(runtimes, runtime_options or {})
    expectations_path = Path(expectations) if expectations else corpus_dir / manifest["expectations"]
    try:
        known = load_expectations(expectations_path)
    except ExpectationsError as exc:
        raise UsageError(str(exc)) from None
    results_path = out_dir / "results.jsonl"
    if results_path.exists() and not overwrite:
        raise UsageError(f"{out_dir} already holds results; use --overwrite to replace them")
    prepare_out_dir(out_dir)
    header = make_header({"corpus": str(corpus_dir), "runtimes": runtimes, "expectations": str(expectations_path)})
    header.update(source="corpus", corpus_exported=manifest["exported"])
    versions = versions_of(header)
    (out_dir / "logs").mkdir(exist_ok=True)
    availability = {name: runtime.available() for name, runtime in instances.items()}
    total = sum(len(test["run_shapes"]) for test in manifest["tests"]) * len(instances)
    with ResultsWriter(results_path, header) as writer, (out_dir / "logs" / "runtimes.log").open("a") as log, \
            tqdm(total=total, unit="result", disable=not progress, dynamic_ncols=True, desc="run-corpus") as bar:
        for record in manifest["not_applicable"]:
            writer.write(record)
        for test in manifest["tests"]:
            for name, runtime in instances.items():
                # What runtimes print (onnxruntime logs load failures to stderr) goes to the log, not the terminal.
                with captured_output() as output:
                    records = _test_results(corpus_dir, test, name, runtime, availability[name])
                if output.text:
                    log.write(f"--- {test['name']} in {name}\n{output.text}\n")
                for raw in records:
                    writer.write(apply_expectations(raw, known, versions))
                bar.update(len(records))
    return _finish(results_path, out_dir / "report.html")


def _runtimes(names: list[str], options: dict[str, dict]) -> dict:
    from conformance.runtimes import UnknownRuntimeError, get_runtime

    if not names:
        raise UsageError("nothing to run: --runtimes must name at least one")
    unused = sorted(set(options) - set(names))
    if unused:
        raise UsageError(f"options given for runtime(s) not in --runtimes: {', '.join(unused)}")
    try:
        return {name: get_runtime(name, options.get(name)) for name in names}
    except UnknownRuntimeError as exc:
        raise UsageError(str(exc)) from None


def _test_results(corpus_dir: Path, test: dict, name: str, runtime, availability: tuple[bool, str]) -> list[dict]:
    """One raw record per run shape of the test, as `run` makes them (status before expectations)."""
    common = {"export": test["export"], "runtime_options": dict(getattr(runtime, "options", {}) or {})}
    records = []
    for shape in test["run_shapes"]:
        record = {"record": "result", **{k: test[k] for k in COORDINATES}, "runtime": name, "run_shape": list(shape)}
        records.append({**record, "key": result_key(record), **common})
    available, reason = availability
    if not available:
        return [finish_record(r, Status.SKIPPED, "available", message=reason) for r in records]
    if test["status"] != Status.PASS.value:
        return [finish_record(r, Status(test["status"]), test["stage"], error=test["error"]) for r in records]
    model_path = corpus_dir / test["name"] / MODEL
    try:
        session, load_seconds = load_session(runtime, model_path)
    except Exception as exc:  # a runtime's refusal is a result
        return [finish_record(r, Status.LOAD_ERROR, "load", error=error_info(exc)) for r in records]
    tolerance = Tolerance(**test["tolerance"])
    results = []
    for index, record in enumerate(records):
        data_dir = data_set_dir(model_path.parent, index)
        feeds = read_tensors(data_dir, "input", len(test["inputs"]))
        expected = read_tensors(data_dir, "output", len(test["outputs"]))
        results.append(judge_run(record, runtime, session, model_path, feeds, expected, tolerance,
                                 timings={"load_s": round(load_seconds, 4)}))
    return results


def _finish(results_path: Path, report_path: Path) -> RunSummary:
    """The report and the exit code, as for `run` (no repro scripts: they would need torch)."""
    from reports import render_report

    header, results = read_results(results_path)
    render_report(header, results, report_path)
    return RunSummary(results_path, report_path, Counter(r["status"] for r in results), exit_code_for(results))


def register(subparsers) -> None:
    from conformance.cli import csv_list

    parser = subparsers.add_parser(
        "run-corpus",
        help="run a corpus from export-corpus in runtimes, without torch; write results.jsonl and report.html",
        description="Run every test of a corpus (DIR/manifest.json) in each runtime, compare with its stored expected "
                    "outputs and apply its expectations.toml. Needs no torch. Runtimes run in this process.",
    )
    parser.set_defaults(handler=_run_corpus)
    parser.add_argument("corpus", metavar="DIR", help="a corpus directory written by export-corpus")
    parser.add_argument("--runtimes", type=csv_list, default=list(DEFAULT_RUNTIMES),
                        help=f"comma list: built-ins, plugins, ort:<ExecutionProvider>, module:Class (default: {','.join(DEFAULT_RUNTIMES)})")
    parser.add_argument("--runtime-option", action="append", default=[], metavar="RUNTIME:KEY=VALUE",
                        help="a runtime setting, as for run (repeatable)")
    parser.add_argument("--out", default="corpus-out", help="run directory (default: corpus-out)")
    parser.add_argument("--expectations", default=None, help="expectations TOML (default: the corpus's own)")
    parser.add_argument("--overwrite", action="store_true", help="replace results already in --out")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def _run_corpus(args) -> int:
    from conformance.cli import _runtime_options

    start = time.monotonic()
    summary = run_corpus(args.corpus, args.runtimes, args.out, expectations=args.expectations,
                         overwrite=args.overwrite, progress=not args.no_progress,
                         runtime_options=_runtime_options(None, args.runtime_option))
    counts = ", ".join(f"{s} {n}" for s, n in sorted(summary.counts.items()))
    print(f"{sum(summary.counts.values())} results in {time.monotonic() - start:.0f}s: {counts}")
    print(f"results: {summary.results_path}\nreport:  {summary.report_path}")
    return summary.exit_code
