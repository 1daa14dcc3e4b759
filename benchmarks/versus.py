"""This checkout against an earlier commit: the same cold run, side by side in one run.

    python -m benchmarks.versus BASE [--preset default] [--runtimes ort-cpu,reference] [--rounds 1]

Checks BASE out into a temporary git worktree and runs `python -m conformance run` there and here, each as a fresh
process with an empty export cache (cold), alternating BASE / this checkout for each round so that load which comes
and goes falls on both. Prints wall and CPU seconds per run and the ratios this checkout / BASE: how much a change
costs the cold default run.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.bench import ROOT, measure


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("base", help="the commit to compare with, e.g. a tag or a hash")
    parser.add_argument("--preset", default="default")
    parser.add_argument("--runtimes", default="ort-cpu,reference")
    parser.add_argument("--jobs", type=int, default=os.cpu_count())
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    totals: dict[str, list[tuple[float, float]]] = {"base": [], "this": []}
    with tempfile.TemporaryDirectory() as tmp:
        worktree = Path(tmp) / "base"
        subprocess.run(["git", "worktree", "add", "--detach", str(worktree), args.base], cwd=ROOT, check=True,
                       capture_output=True)
        try:
            for round_ in range(args.rounds):
                for side, where in (("base", worktree), ("this", ROOT)):
                    out = Path(tmp) / f"{side}-{round_}"
                    # Run from the tree itself: its packages come first on sys.path (python -m puts the cwd first).
                    command = [sys.executable, "-m", "conformance", "run", "--preset", args.preset, "--runtimes", args.runtimes,
                               "--jobs", str(args.jobs), "--cache-dir", str(out / "cache"), "--out", str(out), "--no-progress"]
                    totals[side].append(measure(f"{side} (round {round_ + 1})", command, cwd=where))
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(worktree)], cwd=ROOT, capture_output=True)
    wall = {side: sum(w for w, _ in runs) for side, runs in totals.items()}
    cpu = {side: sum(c for _, c in runs) for side, runs in totals.items()}
    print(f"\nratio this/{args.base} (cold): wall {wall['this'] / wall['base']:.3f}  CPU {cpu['this'] / cpu['base']:.3f}")
    print(f"machine: {os.cpu_count()} cores, jobs={args.jobs}, preset {args.preset}, runtimes {args.runtimes}, {args.rounds} round(s)")


if __name__ == "__main__":
    main()
