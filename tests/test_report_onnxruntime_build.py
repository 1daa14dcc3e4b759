"""The report header names the onnxruntime build that ran: a run on onnxruntime-gpu shows its version and the
CPU onnxruntime its results stand beside (its own CPU EP, or the CPU machine's package in a merge)."""
import html
import re

import msgspec

from reports.render import environment_rows, render_html
from verdict.records import Header

CPU_RUN = {"versions": {"onnxruntime": "1.32.0", "onnxruntime-gpu": None},
           "onnxruntime_build": "CPU", "onnxruntime_providers": ["CPUExecutionProvider"]}
# make_header records the imported module's version as "onnxruntime": on a GPU build that is onnxruntime-gpu's.
GPU_RUN = {"versions": {"onnxruntime": "1.31.1", "onnxruntime-gpu": "1.31.1"},
           "onnxruntime_build": "GPU", "onnxruntime_providers": ["CUDAExecutionProvider", "CPUExecutionProvider"]}


def build_row(header: dict) -> str:
    return dict(environment_rows(header))["onnxruntime build"]


def test_a_cpu_run_names_the_cpu_package():
    assert build_row(CPU_RUN) == "CPU: onnxruntime 1.32.0 (CPUExecutionProvider)"


def test_a_gpu_run_names_onnxruntime_gpu_and_its_cpu_ep_as_what_ort_cpu_ran_on():
    row = build_row(GPU_RUN)
    assert row.startswith("GPU: onnxruntime-gpu 1.31.1 (CUDAExecutionProvider, CPUExecutionProvider")
    assert "ort-cpu on its CPU EP" in row


def test_a_merge_of_a_gpu_and_a_cpu_machine_names_both_builds_in_the_report():
    merged = {**GPU_RUN, "merged_from": [{**GPU_RUN, "path": "gpu"}, {**CPU_RUN, "path": "cpu"}, {**CPU_RUN, "path": "cpu2"}]}
    row = build_row(merged)
    assert row.count("onnxruntime-gpu 1.31.1") == 1 and row.count("CPU: onnxruntime 1.32.0") == 1
    header = msgspec.convert({"record": "header", "schema": 2, "started": "", "command": "", "options": {}, **merged}, Header)
    page = html.unescape(render_html(header, []))
    shown = re.search(r"<dt>onnxruntime build</dt><dd>(.*?)</dd>", page).group(1)
    assert shown == row


def test_a_header_from_before_the_build_was_recorded_shows_its_providers():
    assert build_row({"versions": {"onnxruntime": "1.20.0"}, "onnxruntime_providers": ["CPUExecutionProvider"]}) == "CPUExecutionProvider"
