"""results.jsonl -> self-contained HTML pages (report, diff, trend). Needs only jinja2: no torch, no onnx."""
from reports.render import render_diff, render_html, render_report, render_trend

__all__ = ["render_diff", "render_html", "render_report", "render_trend"]
