"""results.jsonl -> one self-contained report.html. Needs only jinja2: no torch, no onnx."""
from reports.render import render_html, render_report

__all__ = ["render_html", "render_report"]
