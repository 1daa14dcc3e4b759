"""Geometry for the report's inline SVG charts: plain numbers and path strings, drawn by the templates.

No plotting library and nothing fetched at view time: a report must open offline.
"""
from __future__ import annotations

import math

from reports.kinds import kind_label, kind_of, kind_order
from verdict.records import Result
from verdict.status import Status

# Histogram bins: one per decade of max abs error, exact zeros and non-finite values apart.
LOWEST_DECADE, HIGHEST_DECADE = -12, 2
MAX_X_LABELS = 8  # more would overlap: a nightly trend has dozens of runs
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2")
BIN_LABELS = ["0", *(f"1e{d}" for d in range(LOWEST_DECADE, HIGHEST_DECADE + 1)), "inf"]
EAGER_CUDA_LABEL = "torch eager on CUDA vs on CPU"


def _decade(value: float) -> int:
    return min(max(math.floor(math.log10(value)), LOWEST_DECADE), HIGHEST_DECADE)


def _bin_index(value: float) -> int:
    return 0 if value == 0 else len(BIN_LABELS) - 1 if not math.isfinite(value) else 1 + _decade(value) - LOWEST_DECADE


def _histograms(samples: list[tuple[str, float, str]]) -> list[dict]:
    """(output name, max abs, "ok" | "bad" | "info") samples -> one histogram per output, in order of appearance."""
    by_output: dict[str, list[dict]] = {}
    for name, value, verdict in samples:
        bins = by_output.setdefault(name, [{"label": label, "ok": 0, "bad": 0, "info": 0} for label in BIN_LABELS])
        bins[_bin_index(value)][verdict] += 1
    return [{"name": name, "bins": bins, "max": max(b["ok"] + b["bad"] + b["info"] for b in bins)} for name, bins in by_output.items()]


def error_histograms(results: list[Result]) -> list[dict]:
    """Per kind (node cases by op), then per runtime, then per output: how many compared results fall in each decade of max abs error.

    Outputs are named as each record names them (output, h_n, c_n; Y, Y_h, Y_c for node cases), so every
    output of every kind has its chart. Runtimes side by side show, e.g., where ort-cuda's error sits against
    ort-cpu's. Where results recorded eager on CUDA against eager on CPU (run --eager-cuda), that comparison
    is a row of its own, counted once per case and run shape and not judged (the reference stays on CPU).
    """
    by_kind: dict[str, list[dict]] = {}
    for record in results:
        by_kind.setdefault(kind_of(record), []).append(record)
    groups = [{"kind": kind, "label": kind_label(kind), "rows": _runtime_rows(by_kind[kind])} for kind in sorted(by_kind, key=kind_order)]
    return [group for group in groups if group["rows"]]


def _runtime_rows(results: list[Result]) -> list[dict]:
    samples: dict[str, list[tuple[str, float, str]]] = {}
    eager: dict[tuple, dict] = {}
    for record in results:
        for name, stats in (record.outputs or {}).items():
            value = _shown_error(stats)
            if value is not None:
                verdict = "ok" if stats.status == Status.PASS else "bad"
                samples.setdefault(record.runtime or "?", []).append((name, value, verdict))
        if record.eager_cuda_max_abs:
            eager[(record.case, tuple(record.run_shape or ()))] = record.eager_cuda_max_abs
    rows = [{"label": runtime, "histograms": _histograms(found)} for runtime, found in sorted(samples.items())]
    if eager:
        # None: an output eager did not compute on one of the devices (the schema allows it); nothing to chart.
        found = [(name, value, "info") for differences in eager.values() for name, value in differences.items() if value is not None]
        rows.append({"label": EAGER_CUDA_LABEL, "histograms": _histograms(found)})
    return rows


def _shown_error(stats) -> float | None:
    """An output's max abs error as charted: infinite where a non-finite value differed."""
    return float("inf") if stats.nonfinite_mismatches else stats.max_abs


def error_bars(record: Result) -> list[dict]:
    """One bar per output: height on a log scale from 1e-12 to 1e2, red where the output failed."""
    span = HIGHEST_DECADE - LOWEST_DECADE
    bars = []
    for name, stats in (record.outputs or {}).items():
        value = _shown_error(stats)
        if value is None:
            continue
        fraction = 0.0 if value == 0 else 1.0 if not math.isfinite(value) else min(max((math.log10(value) - LOWEST_DECADE) / span, 0.02), 1.0)
        bars.append({"name": name, "value": value, "fraction": fraction, "ok": stats.status == Status.PASS})
    return bars


def line_chart(labels: list[str], series: dict[str, list[float | None]], width: int = 760, height: int = 220) -> dict:
    """Lines of values in [0, 1] over evenly spaced labels; a None breaks the line (no result there)."""
    left, right, top, bottom = 48, 52, 10, 46  # room for the y labels and half an x label either side
    plot_w, plot_h = width - left - right, height - top - bottom
    step = plot_w / max(len(labels) - 1, 1)

    def x(i: int) -> float:
        return round(left + (i * step if len(labels) > 1 else plot_w / 2), 1)

    def y(value: float) -> float:
        return round(top + (1 - value) * plot_h, 1)

    lines = []
    for number, (name, values) in enumerate(series.items()):
        path, pen_down, points = [], False, []
        for i, value in enumerate(values):
            if value is None:
                pen_down = False
                continue
            path.append(f"{'L' if pen_down else 'M'}{x(i)},{y(value)}")
            pen_down = True
            points.append({"x": x(i), "y": y(value), "value": value, "label": labels[i]})
        lines.append({"name": name, "color": PALETTE[number % len(PALETTE)], "path": " ".join(path), "points": points})
    return {
        "width": width, "height": height, "left": left, "right": width - right, "top": top, "bottom": top + plot_h,
        "y_ticks": [{"y": y(v), "label": f"{v:.0%}"} for v in (0.0, 0.25, 0.5, 0.75, 1.0)],
        "x_ticks": [{"x": x(i), "label": label} for i, label in enumerate(labels) if i % math.ceil(len(labels) / MAX_X_LABELS) == 0],
        "lines": lines,
    }
