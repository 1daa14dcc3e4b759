"""Argument groups the commands share, declared once: what to select, how to export, which runtimes with which
settings, how to judge."""
from __future__ import annotations

import argparse
import tomllib
from pathlib import Path

from cases.kinds import KINDS
from cases.modes import MODES
from conformance.runner import DEFAULT_RUNTIMES, DEFAULT_STAGE_TIMEOUT
from exporters import DEFAULT_OPSET, EXPORTERS
from verdict.errors import UsageError
from verdict.records import RunOptions
from verdict.tolerances import TOLERANCES, ToleranceOverrides, parse_override


def csv_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def int_list(text: str) -> list[int]:
    try:
        return [int(part) for part in csv_list(text)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected whole numbers separated by commas, got {text!r}") from None


def add_selection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", default=None,
                        help="smoke | seed | default | full | zoo (default: default, or none where --model names models)")
    parser.add_argument("--case", action="append", default=[], metavar="FIELD=V,...",
                        help="an explicit case instead of a preset, e.g. 'kind=gru,num_layers=2' (repeatable)")
    parser.add_argument("--model", action="append", default=[], metavar="PACKAGE.MODULE:FACTORY", dest="models",
                        help="your own model: a factory returning (module, inputs) or a cases.models.ModelSpec (repeatable; docs/YOUR_MODEL.md)")
    parser.add_argument("-k", action="append", default=[], metavar="SUBSTRING", dest="select",
                        help="keep cases whose id contains SUBSTRING (repeatable: any of)")
    parser.add_argument("--kinds", type=csv_list, default=[], metavar="KIND,...",
                        help=f"keep cases of these module kinds: {', '.join(KINDS)} (default: all)")


def add_export(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--exporters", type=csv_list, default=None, help=f"comma list (default: {','.join(EXPORTERS)})")
    parser.add_argument("--modes", type=csv_list, default=None, help=f"comma list (default: {','.join(MODES)})")
    parser.add_argument("--opsets", type=int_list, default=None, metavar="N,...",
                        help=f"ONNX opsets to export, each a run axis (default: the preset's, else {DEFAULT_OPSET}); "
                             "an opset an exporter cannot write is NOT_APPLICABLE")
    parser.add_argument("--cache-dir", default=None, help="export cache (default: ~/.cache/lstm-onnx-conformance/exports)")
    parser.add_argument("--no-cache", action="store_true", help="export every model afresh")
    add_expectations(parser)


def add_expectations(parser: argparse.ArgumentParser, default: str = "cases/expectations.toml") -> None:
    parser.add_argument("--expectations", default=None, help=f"expectations TOML (default: {default})")


def add_judging(parser: argparse.ArgumentParser) -> None:
    """How results are judged: tolerances, and how strictly expectations are held."""
    defaults = "; ".join(f"{dtype} {t.rtol:g}/{t.atol:g}" for dtype, t in TOLERANCES.items())
    parser.add_argument("--rtol", action="append", default=[], metavar="[OUTPUT:]VALUE",
                        help=f"relative tolerance for every output, or for OUTPUT (repeatable); the absolute one keeps the dtype's "
                             f"(defaults, rtol/atol: {defaults})")
    parser.add_argument("--atol", action="append", default=[], metavar="[OUTPUT:]VALUE",
                        help="absolute tolerance for every output, or for OUTPUT, e.g. h_n:1e-4 (repeatable); the relative one keeps the dtype's")
    parser.add_argument("--strict-expectations", action="store_true",
                        help="exit 1 when an expectation matched nothing the run covered (stale: retire or narrow it)")


def add_runtimes(parser: argparse.ArgumentParser, default: list[str] | None = DEFAULT_RUNTIMES) -> None:
    parser.add_argument("--runtimes", type=csv_list, default=list(default) if default else None, required=default is None,
                        help="comma list: built-ins, plugins, ort:<ExecutionProvider>, module:Class"
                             + (f" (default: {','.join(default)})" if default else ""))
    parser.add_argument("--runtime-option", action="append", default=[], metavar="RUNTIME:KEY=VALUE",
                        help="a runtime setting, e.g. 'ort-cpu:graph_optimization_level=disable' or a provider option (repeatable)")
    parser.add_argument("--runtime-config", default=None, metavar="FILE.toml",
                        help='runtime settings as TOML tables: [runtime."ort:OpenVINOExecutionProvider"] device_type = "CPU"')


def add_workers(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--jobs", "-j", type=int, default=None, help="worker processes (default: number of cores)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_STAGE_TIMEOUT,
                        help=f"seconds per stage before TIMEOUT (default: {DEFAULT_STAGE_TIMEOUT:g})")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run_options(args: argparse.Namespace) -> RunOptions:
    """The RunOptions the groups a command declared describe; a group it did not declare keeps its default."""
    given = vars(args)
    options = {name: given[name] for name in ("preset", "exporters", "modes", "opsets", "cache_dir", "no_cache", "runtimes",
                                               "expectations", "strict_expectations", "jobs", "timeout") if name in given}
    if "case" in given:
        options.update(cases=args.case, models=args.models, select=args.select, kinds=args.kinds)
    if "rtol" in given:
        options["tolerances"] = tolerance_overrides(args.rtol, args.atol)
    if "runtime_option" in given:
        options["runtime_options"] = runtime_settings(args.runtime_config, args.runtime_option)
    return RunOptions(**options)


def tolerance_overrides(rtol: list[str], atol: list[str]) -> ToleranceOverrides:
    def table(flag: str, items: list[str]) -> dict[str, float]:
        parsed = {}
        for item in items:
            try:
                name, value = parse_override(item)
            except ValueError as exc:
                raise UsageError(f"--{flag} {exc}") from None
            parsed[name] = value
        return parsed

    return ToleranceOverrides(rtol=table("rtol", rtol), atol=table("atol", atol))


def runtime_settings(config: str | None, items: list[str]) -> dict[str, dict]:
    """Settings from the config file first, then from the command line (which wins)."""
    settings: dict[str, dict] = {}
    if config:
        try:
            table = tomllib.loads(Path(config).read_text()).get("runtime", {})
        except OSError as exc:
            raise UsageError(f"cannot read runtime config {config}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise UsageError(f"runtime config {config} is not valid TOML: {exc}") from None
        if not isinstance(table, dict) or not all(isinstance(v, dict) for v in table.values()):
            raise UsageError(f"runtime config {config}: expected tables [runtime.\"NAME\"] of key = value")
        settings = {name: {k: str(v) for k, v in values.items()} for name, values in table.items()}
    for item in items:
        head, eq, value = item.partition("=")
        runtime, sep, key = head.rpartition(":")  # runtime names may hold ':' themselves (ort:<Provider>)
        if not (sep and runtime and eq and key.strip()):
            raise UsageError(f"--runtime-option {item!r} is not of the form RUNTIME:KEY=VALUE")
        settings.setdefault(runtime, {})[key.strip()] = value.strip()
    return settings
