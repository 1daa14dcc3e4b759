"""The commands of `python -m conformance`, one thin module each: declare the arguments, make one call, print.

A command module has `register(subparsers)`, which adds its parser with set_defaults(handler=...); the handler
returns the exit code. Raising verdict.errors.UsageError gives the one-line exit-2 error. Nothing below this
package imports it.
"""
from conformance.commands import (baseline, diff, export_corpus, listing, merge, report, repro, run, run_corpus, trend, upstream)

# In the order `--help` lists them.
COMMANDS = [run, report, listing, diff, merge, baseline, trend, repro, upstream, export_corpus, run_corpus]
