"""Your model's conformance from Python, e.g. in its own test suite:

    from conformance import check_model

    def test_my_model_exports_and_matches():
        check_model("my_package.models:factory", runtimes=["ort-cpu", "reference"])

`check_model` runs the model through the same matrix as `python -m conformance run --model` (every exporter, static
and dynamic, each runtime, the export shape and the factory's other shapes, in the same isolated worker pool, judged
and given expectations the same way), writes the results and the report, and raises ModelCheckFailed, an
AssertionError whose message is a table of exporter × mode × runtime, when anything is unexpected.
"""
from __future__ import annotations

import tempfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from cases.modes import mode_label
from verdict.errors import UsageError
from verdict.records import Result, RunOptions, read_run
from verdict.status import is_ok, observed_pass


class ModelCheckFailed(AssertionError):
    """A model's check found unexpected results; the message says which, per exporter × mode × runtime."""


@dataclass
class ModelCheck:
    results_path: Path
    report_path: Path
    results: list[Result]
    summary: str
    exit_code: int


def factory_path(factory: str | Callable) -> str:
    """package.module:factory for a module-level function (workers import it by that path), or the path itself."""
    if isinstance(factory, str):
        return factory
    qualname = getattr(factory, "__qualname__", "")
    if "." in qualname or "<" in qualname or not getattr(factory, "__module__", None):
        raise UsageError(f"{qualname or factory!r}: give a module-level function (the workers import it by name), or its "
                         "'package.module:factory' path")
    return f"{factory.__module__}:{qualname}"


def check_model(factory: str | Callable, *, exporters: list[str] | None = None, modes: list[str] | None = None,
                runtimes: list[str] | None = None, opsets: list[int] | None = None, out: str | Path | None = None,
                jobs: int | None = None, expectations: str | None = None, strict_expectations: bool = False) -> ModelCheck:
    """Run one model through the matrix; raise ModelCheckFailed if anything is unexpected, else return the results.

    `out`: the run directory (default: a new temporary one); the other arguments are `run`'s options of the same names.
    """
    from conformance.runner import run

    source = factory_path(factory)
    options = RunOptions(models=[source], exporters=exporters, modes=modes, runtimes=runtimes, opsets=opsets, jobs=jobs,
                         expectations=expectations, strict_expectations=strict_expectations)
    out = Path(out) if out is not None else Path(tempfile.mkdtemp(prefix="conformance-check-"))
    outcome = run(options, out, overwrite=True, progress=False)
    results = read_run(outcome.results_path).results
    summary = summarize(source, results, outcome.notes, outcome.report_path)
    check = ModelCheck(outcome.results_path, outcome.report_path, results, summary, outcome.exit_code)
    if outcome.exit_code:
        raise ModelCheckFailed(summary)
    return check


def summarize(source: str, results: list[Result], notes: list[str], report: Path | None) -> str:
    """A table of exporter × mode (rows) × runtime (columns): passes out of the results that ran, and what went wrong."""
    cells: dict[tuple, dict[str, list[Result]]] = defaultdict(lambda: defaultdict(list))
    runtimes: list[str] = []
    for result in results:
        if result.runtime and result.runtime not in runtimes:
            runtimes.append(result.runtime)
        cells[(result.exporter or "-", mode_label(result.dynamic) if result.exporter else "-")][result.runtime or "-"].append(result)
    unexpected = [r for r in results if not is_ok(r)]
    lines = [f"{source}: {sum(observed_pass(r) for r in results)} of {len(results)} results passed, {len(unexpected)} unexpected"]
    columns = runtimes or ["-"]
    rows = [["exporter", "mode", *columns]]
    for (exporter, mode), by_runtime in cells.items():
        rows.append([exporter, mode, *(_cell(by_runtime.get(runtime, [])) for runtime in columns)])
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines += ["  ".join(text.ljust(width) for text, width in zip(row, widths)).rstrip() for row in rows]
    lines += [f"  {r.key}: {r.status.value}: {r.message[:160]}" for r in unexpected[:20]]
    if len(unexpected) > 20:
        lines.append(f"  … and {len(unexpected) - 20} more")
    lines += [f"note: {note}" for note in notes]
    if report is not None:
        lines.append(f"report: {report}")
    return "\n".join(lines)


def _cell(results: list[Result]) -> str:
    if not results:
        return ""
    passed = sum(observed_pass(r) for r in results)
    wrong: dict[str, int] = defaultdict(int)
    for result in results:
        if not is_ok(result):
            wrong[result.status.value] += 1
    return f"{passed}/{len(results)}" + "".join(f" {status}×{count}" for status, count in wrong.items())
