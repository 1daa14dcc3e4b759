"""Suite vs a plain serial loop, side by side in one run.

    python benchmarks/bench.py [--preset default] [-k SUBSTRING ...]

Measures, each as a fresh process: the plain loop (benchmarks/plain_loop.py), the suite with an
empty export cache, and the suite again with that cache warm. All do the same exports, onnxruntime
CPU runs and comparisons. Prints wall and CPU times, their ratios to the plain loop, and peak memory.
`-k SUBSTRING` (repeatable) narrows every run to the cases whose id contains it, for a quick check.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def measure(label: str, command: list[str], cwd: Path = ROOT) -> tuple[float, float]:
    """Wall and CPU seconds of one command (CPU: user + system of the whole tree, which other people's
    load on the machine barely changes); prints them with the peak RSS (MiB, largest process of the tree)."""
    start = time.perf_counter()
    proc = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        sys.exit(f"{label} failed:\n{output}")
    cpu = usage.ru_utime + usage.ru_stime
    summary = next((line for line in output.splitlines() if " results in " in line), "")
    print(f"{label:<22} {seconds:8.1f}s  CPU {cpu:7.1f}s  peak RSS {usage.ru_maxrss / 1024:7.0f} MiB   {summary}",
          flush=True)
    return seconds, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="default")
    parser.add_argument("-k", action="append", dest="substrings", default=[],
                        help="only cases whose id contains SUBSTRING (repeatable: any of), for a quick run")
    parser.add_argument("--jobs", type=int, default=os.cpu_count())
    args = parser.parse_args()
    python = sys.executable
    selection = ["--preset", args.preset, *(f"-k={s}" for s in args.substrings)]  # "=": ids may start with "-"
    with tempfile.TemporaryDirectory() as tmp:
        suite = [python, "-m", "conformance", "run", *selection, "--runtimes", "ort-cpu",
                 "--cache-dir", f"{tmp}/cache", "--jobs", str(args.jobs), "--no-progress"]
        # -m: the plain loop imports this checkout's packages, as the suite does, not an installed copy.
        plain = measure("plain serial loop", [python, "-m", "benchmarks.plain_loop", *selection])
        cold = measure("suite, cold cache", [*suite, "--out", f"{tmp}/cold"])
        warm = measure("suite, warm cache", [*suite, "--out", f"{tmp}/warm"])
    print(f"\nratio suite/plain (cold cache): {cold[0] / plain[0]:.3f}  (CPU {cold[1] / plain[1]:.3f})")
    print(f"ratio suite/plain (warm cache): {warm[0] / plain[0]:.3f}  (CPU {warm[1] / plain[1]:.3f})")
    print(f"machine: {os.cpu_count()} cores, jobs={args.jobs}, {' '.join(selection)}")


if __name__ == "__main__":
    main()
