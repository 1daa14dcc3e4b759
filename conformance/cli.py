"""python -m conformance COMMAND: the parser of every command (conformance.commands), and the exit codes.

0 all good, 1 unexpected results, 2 bad input (one line, no traceback), 3 the suite itself failed (its
traceback on stderr: a bug to report, never a verdict on an exporter or runtime).
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import traceback

from verdict.errors import UsageError
from verdict.status import EXIT_SUITE, EXIT_USAGE

PROG = "python -m conformance"


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2: argparse's usage dump buries the point
        raise UsageError(f"{message} (see '{self.prog} --help')")


def build_parser() -> argparse.ArgumentParser:
    from conformance.commands import COMMANDS

    parser = _Parser(prog=PROG, description="Which recurrent-layer configurations survive ONNX export and run correctly where. "
                                            "Exit codes: 0 good, 1 unexpected results, 2 bad input, 3 the suite failed.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for command in COMMANDS:
        command.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return args.handler(args)
    except UsageError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; finish the run with --resume", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`| head`): no failure of anyone's, end as a shell pipeline would
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE
    except Exception:  # the suite's own bug: loud, with its traceback, and told apart from any verdict
        traceback.print_exc()
        print(f"{PROG}: internal error: the suite itself failed (exit {EXIT_SUITE}); the traceback above belongs in a bug report",
              file=sys.stderr)
        return EXIT_SUITE
