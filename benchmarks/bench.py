"""Suite vs a plain serial loop, side by side in one run.

    python benchmarks/bench.py [--preset default]

Measures, each as a fresh process: the plain loop (benchmarks/plain_loop.py), the suite with an
empty export cache, and the suite again with that cache warm. All do the same exports, onnxruntime
CPU runs and comparisons. Prints wall times, the ratios to the plain loop, and peak memory.
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


def measure(label: str, command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB, largest process of the tree) of one command."""
    start = time.perf_counter()
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        sys.exit(f"{label} failed:\n{output}")
    peak = usage.ru_maxrss / 1024
    summary = next((line for line in output.splitlines() if " results in " in line), "")
    print(f"{label:<22} {seconds:8.1f}s  peak RSS {peak:7.0f} MiB   {summary}", flush=True)
    return seconds, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="default")
    parser.add_argument("--jobs", type=int, default=os.cpu_count())
    args = parser.parse_args()
    python = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        suite = [python, "-m", "conformance", "run", "--preset", args.preset, "--runtimes", "ort-cpu",
                 "--cache-dir", f"{tmp}/cache", "--jobs", str(args.jobs), "--no-progress"]
        plain, _ = measure("plain serial loop", [python, "benchmarks/plain_loop.py", "--preset", args.preset])
        cold, _ = measure("suite, cold cache", [*suite, "--out", f"{tmp}/cold"])
        warm, _ = measure("suite, warm cache", [*suite, "--out", f"{tmp}/warm"])
    print(f"\nratio suite/plain (cold cache): {cold / plain:.3f}")
    print(f"ratio suite/plain (warm cache): {warm / plain:.3f}")
    print(f"machine: {os.cpu_count()} cores, jobs={args.jobs}, preset={args.preset}")


if __name__ == "__main__":
    main()
