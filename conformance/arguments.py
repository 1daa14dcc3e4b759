"""Argument groups the commands share, declared once: what to select, how to export, which runtimes with which settings."""
from __future__ import annotations

import argparse
import tomllib
from pathlib import Path

from cases.kinds import KINDS
from cases.modes import MODES
from conformance.errors import UsageError
from conformance.runner import DEFAULT_RUNTIMES, RunOptions
from exporters import DEFAULT_OPSET, EXPORTERS


def csv_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def int_list(text: str) -> list[int]:
    try:
        return [int(part) for part in csv_list(text)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected whole numbers separated by commas, got {text!r}") from None


def add_selection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", default="default", help="smoke | seed | default | full (default: default)")
    parser.add_argument("--case", action="append", default=[], metavar="FIELD=V,...",
                        help="an explicit case instead of a preset, e.g. 'kind=gru,num_layers=2' (repeatable)")
    parser.add_argument("-k", action="append", default=[], metavar="SUBSTRING", dest="select",
                        help="keep cases whose id contains SUBSTRING (repeatable: any of)")
    parser.add_argument("--kinds", type=csv_list, default=[], metavar="KIND,...",
                        help=f"keep cases of these module kinds: {', '.join(KINDS)} (default: all)")


def add_export(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--exporters", type=csv_list, default=list(EXPORTERS), help=f"comma list (default: {','.join(EXPORTERS)})")
    parser.add_argument("--modes", type=csv_list, default=list(MODES), help="static,dynamic (default: both)")
    parser.add_argument("--opsets", type=int_list, default=[], metavar="N,...",
                        help=f"ONNX opsets to export, each a run axis (default: the preset's, else {DEFAULT_OPSET}); "
                             "an opset an exporter cannot write is NOT_APPLICABLE")
    parser.add_argument("--cache-dir", default=None, help="export cache (default: ~/.cache/lstm-onnx-conformance/exports)")
    parser.add_argument("--no-cache", action="store_true", help="export every model afresh")
    parser.add_argument("--expectations", default=None, help="expectations TOML (default: cases/expectations.toml)")


def add_runtimes(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runtimes", type=csv_list, default=list(DEFAULT_RUNTIMES),
                        help=f"comma list: built-ins, plugins, ort:<ExecutionProvider>, module:Class (default: {','.join(DEFAULT_RUNTIMES)})")
    parser.add_argument("--runtime-option", action="append", default=[], metavar="RUNTIME:KEY=VALUE",
                        help="a runtime setting, e.g. 'ort-cpu:graph_optimization_level=disable' or a provider option (repeatable)")
    parser.add_argument("--runtime-config", default=None, metavar="FILE.toml",
                        help='runtime settings as TOML tables: [runtime."ort:OpenVINOExecutionProvider"] device_type = "CPU"')


def run_options(args: argparse.Namespace) -> RunOptions:
    """The RunOptions the shared groups describe; a command adds its own fields afterwards."""
    options = RunOptions(preset=args.preset, cases=args.case, select=args.select, kinds=args.kinds)
    for name in ("exporters", "modes", "opsets", "cache_dir", "no_cache", "runtimes"):
        if hasattr(args, name):
            setattr(options, name, getattr(args, name))
    if getattr(args, "expectations", None):
        options.expectations = args.expectations
    if hasattr(args, "runtime_option"):
        options.runtime_options = runtime_settings(args.runtime_config, args.runtime_option)
    return options


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
