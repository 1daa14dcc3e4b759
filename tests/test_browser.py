"""The report in a real headless browser: loads cleanly and offline, filters, sorts, fits a 1366x768 laptop screen,
shows every field of every result as the results file holds it, and stays small and quick at a nightly's size."""
import shlex
import shutil
import statistics
import time
from collections import Counter
from pathlib import Path

import pytest
from conftest import run_cli
from nightly_results import nightly_results
from records_helpers import plain_header, typed
from synthetic_results import synthetic_results

from reports import render_report
from reports.render import TEXT_LIMIT, build_view, result_row

CHROMIUM = Path("/usr/bin/chromium")
LAPTOP = {"width": 1366, "height": 768}


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e .[test])")
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found (apt-get install chromium); Playwright's own browser download is not used")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        yield browser
        browser.close()


@pytest.fixture
def open_page(browser):
    """Open a local HTML file; collect console errors and any request that would leave the machine. A report is open once its
    script has decoded the embedded results and drawn the table (it then sets body[data-ready])."""
    context = browser.new_context(viewport=LAPTOP)
    problems = []

    def open_(path):
        page = context.new_page()
        page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        page.on("request", lambda r: None if r.url.startswith(("file:", "data:", "about:")) else problems.append(f"request {r.url}"))
        page.goto(Path(path).resolve().as_uri())
        if page.locator("#report-data").count():
            page.wait_for_selector("body[data-ready]", state="attached")
        return page

    yield open_, problems
    context.close()


def visible(page, selector, attribute):
    return page.eval_on_selector_all(selector, f"rows => rows.filter(r => r.offsetParent !== null).map(r => r.dataset.{attribute})")


def test_report_loads_without_errors_and_fits_a_laptop_screen(smoke_run, open_page):
    open_, problems = open_page
    page = open_(smoke_run["out"] / "report.html")
    assert problems == []
    assert page.evaluate("document.documentElement.scrollWidth") <= LAPTOP["width"]
    summary = page.locator("#summary").bounding_box()
    page.mouse.wheel(0, 3000)
    page.wait_for_function("window.scrollY > 0")
    assert page.locator("#summary").bounding_box()["y"] <= 1 and summary["height"] < LAPTOP["height"] / 3


def test_matrix_has_one_cell_per_configuration_and_column(smoke_run, open_page):
    open_, _ = open_page
    page = open_(smoke_run["out"] / "report.html")
    applicable = [r for r in smoke_run["results"] if r.status != "NOT_APPLICABLE"]
    columns = {(r.exporter, "dynamic" if r.dynamic else "static", r.runtime) for r in applicable}
    cases = {r.case for r in applicable}
    assert page.locator("#matrix th.col").count() == len(columns)
    assert page.locator("#matrix tr[data-case]").count() == len(cases)
    assert page.locator("#matrix td.cell").count() == len(cases) * len(columns)


def test_filters_change_what_is_visible(smoke_run, open_page):
    open_, problems = open_page
    page = open_(smoke_run["out"] / "report.html")
    applicable = [r for r in smoke_run["results"] if r.status != "NOT_APPLICABLE"]
    page_size = 100  # the results table draws one page of rows at a time

    def shown_count(expected):
        assert page.inner_text("#f-count") == f"{expected} results match"
        return min(expected, page_size)

    assert len(visible(page, "#results tr.result", "exporter")) == shown_count(len(applicable))

    page.select_option("#f-exporter", "torchscript")
    shown = visible(page, "#results tr.result", "exporter")
    assert set(shown) == {"torchscript"} and len(shown) == shown_count(sum(r.exporter == "torchscript" for r in applicable))
    assert page.locator("#matrix td.cell.dim").count() == page.locator('#matrix td.cell:not([data-exporter="torchscript"])').count()

    page.select_option("#f-exporter", "")
    page.locator('.summary .badge[data-status="XFAIL"]').click()
    xfails = sum(r.status == "XFAIL" for r in applicable)
    assert Counter(visible(page, "#results tr.result", "status")) == {"XFAIL": shown_count(xfails)}

    page.select_option("#f-status", "")
    page.fill("#f-case", "proj3")
    cases = visible(page, "#matrix tr[data-case]", "case")
    assert cases and all("proj3" in c for c in cases)
    assert page.inner_text("#f-count") == f"{sum('proj3' in r.case for r in applicable)} results match"
    assert problems == []


def test_sorting_by_a_column_orders_the_rows(smoke_run, open_page):
    open_, problems = open_page
    page = open_(smoke_run["out"] / "report.html")
    header = page.locator("#results thead th", has_text="case")
    header.click()
    ascending = visible(page, "#results tr.result", "case")
    assert ascending == sorted(ascending, key=str.lower) and len(set(ascending)) > 1
    header.click()
    descending = visible(page, "#results tr.result", "case")  # a page of rows: the other end of the order
    assert descending == sorted(descending, key=str.lower, reverse=True) and descending[0].lower() >= ascending[-1].lower()
    page.locator("#results thead th", has_text="max abs error").click()
    errors = page.eval_on_selector_all("#results tr.result td.errors", "cells => cells.map(c => c.dataset.sort)")
    numbers = [float(e) for e in errors if e]
    assert numbers == sorted(numbers) and errors.index(next(e for e in errors if e)) == 0
    assert problems == []


def test_copy_button_copies_the_repro_command(smoke_run, open_page):
    open_, problems = open_page
    page = open_(smoke_run["out"] / "report.html")
    button = page.locator("#results button.copy").first
    assert button.get_attribute("data-copy").startswith("python -m conformance repro results.jsonl '")
    button.click()
    page.wait_for_function("document.querySelector('#results button.copy').textContent === 'copied'")
    assert problems == []


def test_diff_and_trend_pages_load_cleanly(smoke_run, open_page, tmp_path):
    open_, problems = open_page
    results = smoke_run["out"] / "results.jsonl"
    assert run_cli("diff", results, results, "-o", tmp_path / "diff.html").returncode == 0
    shutil.copy(results, tmp_path / "again.jsonl")
    assert run_cli("trend", results, tmp_path / "again.jsonl", "-o", tmp_path / "trend.html").returncode == 0
    page = open_(tmp_path / "diff.html")
    assert "no regression" in page.inner_text(".summary")
    page = open_(tmp_path / "trend.html")
    assert page.locator("svg path").count() >= 2 and page.locator("svg circle").count() >= 4
    assert problems == []


PAGE_SIZE = 100  # rows the results table draws at a time (reports/templates/report.html.j2)


@pytest.fixture(scope="module")
def large_report(tmp_path_factory):
    """A report of a `full`-sized run (>= 3,000 results across kinds, packed batches and node cases)."""
    header, results = synthetic_results()
    path = render_report(header, results, tmp_path_factory.mktemp("large") / "report.html")
    return {"path": path, "results": [r for r in results if r.status != "NOT_APPLICABLE"]}


def test_a_full_sized_report_opens_with_one_page_of_rows(large_report, open_page, record_property):
    open_, problems = open_page
    started = time.perf_counter()
    page = open_(large_report["path"])
    page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")
    seconds, size = time.perf_counter() - started, large_report["path"].stat().st_size
    record_property("load_seconds", round(seconds, 2))  # recorded, not asserted: the machine may be busy
    ready = float(page.evaluate("document.body.dataset.ready")) / 1000
    print(f"\n{len(large_report['results'])} results: {size / 1e6:.2f} MB, drawn {ready:.2f} s after navigation, painted after {seconds:.2f} s")
    assert problems == [] and size < 10e6
    total = len(large_report["results"])
    assert page.locator("#results tr.result").count() == PAGE_SIZE
    assert page.locator(".pager .page").first.inner_text() == f"rows 1–{PAGE_SIZE} of {total} (page 1 of {-(-total // PAGE_SIZE)})"
    page.locator(".pager .next").first.click()
    assert page.locator("#results tr.result").first.get_attribute("id") == f"r{PAGE_SIZE}"


def test_kind_filter_narrows_every_section(large_report, open_page):
    open_, problems = open_page
    page = open_(large_report["path"])
    page.select_option("#f-kind", "gru")
    gru = [r for r in large_report["results"] if r.params.get("kind") == "gru"]
    assert page.inner_text("#f-count") == f"{len(gru)} results match"
    assert set(visible(page, "#results tr.result", "kind")) == {"gru"}
    assert set(visible(page, "#matrix tr[data-case]", "kind")) == {"gru"} and set(visible(page, "#works tr[data-kind]", "kind")) == {"gru"}
    assert set(visible(page, "#error-charts h3[data-kind]", "kind")) == {"gru"}
    page.select_option("#f-kind", "node-rnn")
    assert {r.split("-")[1] for r in visible(page, "#results tr.result", "case")} == {"rnn"}
    assert problems == []


def test_a_matrix_cell_turns_to_its_result_and_details_open_on_demand(large_report, open_page):
    open_, problems = open_page
    page = open_(large_report["path"])
    page.select_option("#f-exporter", "dynamo")
    cell = page.locator('#matrix td.cell[data-exporter="torchscript"][data-status="XFAIL"] a').last
    target = cell.get_attribute("href")[1:]
    cell.click()
    row = page.locator(f"#results tr#{target}")
    assert row.is_visible() and page.input_value("#f-exporter") == ""  # the filter hid it, so it was cleared
    row.locator("details summary").click()
    details = row.locator("details")
    details.locator("pre").nth(1).wait_for()  # built when first opened
    assert "error (SymbolicValueError):" in details.inner_text() and details.locator("pre").count() == 2
    assert details.locator("button.copy").get_attribute("data-copy").startswith("python -m conformance repro results.jsonl ")
    assert problems == []


def test_text_from_results_goes_into_the_page_as_text(open_page, tmp_path):
    """Messages, errors, logs and links come from the tools under test: the script inserts them as text, never as markup."""
    open_, problems = open_page
    evil = "<img src=x onerror=alert(1)><script>alert(2)</script>"
    record = typed({"case": "L1" + evil, "params": {"kind": "gru" + evil}, "exporter": "torchscript" + evil, "dynamic": False,
                    "opset": 18, "runtime": "ort-cpu" + evil, "run_shape": [5, 3], "key": "k" + evil, "status": "XFAIL", "raw_status": "RUN_ERROR",
                    "stage": "run" + evil, "message": evil, "providers": [evil], "placement": {evil: {evil: 1}},
                    "error": {"type": evil, "message": evil, "text": evil}, "export": {"status": "PASS", "opset": 18, "ops": {evil: 1}, "log": evil},
                    "expectation": {"id": evil, "reason": evil, "link": "javascript:alert(3)"},
                    "outputs": {evil: {"max_abs": 1.0, "status": "NUMERIC_MISMATCH", "expected_dtype": evil}}})
    path = render_report(plain_header(command=evil), [record], tmp_path / "report.html")
    dialogs = []
    page = open_(path)
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.locator("#results details summary").click()
    row = page.locator("#results tr.result")
    row.locator("details pre").first.wait_for()  # built when first opened
    assert row.locator("img, script, [onerror]").count() == 0 and page.locator("body img").count() == 0
    text = row.inner_text()
    assert text.count(evil) >= 8  # message, case, stage, runtime, error type and text, log, providers...
    assert row.locator("a", has_text="upstream").get_attribute("href") is None  # a javascript: link is not made a link
    assert row.locator("button.copy").first.get_attribute("data-copy").endswith("'k" + evil + "'")
    page.wait_for_timeout(200)
    assert dialogs == [] and problems == []


# Every field a drawn row shows, read back from the page: the results table's cells, and the details once opened and built.
READ_ROW = r"""tr => {
  const text = node => node ? node.textContent : null, cells = tr.cells, message = cells[6];
  const claim = message.querySelector(":scope > small"), box = message.querySelector(":scope > details");
  const copy = cells[9].querySelector("button.copy");
  const row = {
    status: text(cells[0].querySelector(".badge")), observed: text(cells[0].querySelector("small")), case: text(cells[1]),
    exporter_mode: text(cells[2]), runtime: text(cells[3]), shape: text(cells[4]), stage: text(cells[5]), message: message.childNodes[0].textContent,
    expectation: claim && [claim.childNodes[0].textContent, text(claim.querySelector("code")), claim.querySelector("a").getAttribute("href")],
    bars: Array.from(cells[7].querySelectorAll(".bars i"), bar => [bar.title, parseFloat(bar.style.height), bar.className]),
    values: Array.from(cells[7].querySelectorAll("small"), name => [name.textContent, name.nextSibling.textContent]),
    sort: cells[7].dataset.sort, timings: text(cells[8]), repro: copy && copy.dataset.copy, details: null,
  };
  if (!box) return row;
  const details = row.details = {outputs: null, lines: [], error: null, log: null, reproduce: null};
  const parts = Array.from(box.children).slice(1);  // after the summary
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i], first = part.childNodes[0] ? part.childNodes[0].textContent : "";
    if (part.tagName === "TABLE") details.outputs = Array.from(part.rows).slice(1).map(tr => Array.from(tr.cells, td => td.textContent));
    else if (part.querySelector("button.copy"))
      details.reproduce = [first, text(part.querySelector("code")), part.querySelector("button").dataset.copy];
    else if (part.querySelector("code")) details.lines.push([first, text(part.querySelector("code"))]);
    else if (first === "exporter output:") details.log = text(parts[++i]);
    else details.error = [first, text(parts[++i])];
  }
  return row;
}"""

# Every page of the results table, each row's details opened: {row id: what READ_ROW reads}.
READ_ALL_ROWS = """async () => {
  const read = %s, rows = {}, next = document.querySelector(".pager .next");
  for (;;) {
    const drawn = Array.from(document.querySelectorAll("#results tr.result")), boxes = drawn.map(tr => tr.querySelector("details")).filter(Boolean);
    boxes.forEach(box => { box.open = true; });
    while (boxes.some(box => box.dataset.filled !== "yes")) await new Promise(done => setTimeout(done, 5));  // built when opened
    drawn.forEach(tr => { rows[tr.id] = read(tr); });
    if (next.disabled) return rows;
    next.click();
  }
}""" % READ_ROW


def as_shown(row: dict) -> dict:
    """What READ_ROW should read for a row as reports.render.result_row gives it to the page."""
    expectation = row["expectation"]
    return {
        "status": row["status"], "observed": None if row["raw_status"] == row["status"] else f"observed {row['raw_status']}",
        "case": row["case"], "exporter_mode": f"{row['exporter']} · {row['mode']}", "runtime": row["runtime"], "shape": row["shape"],
        "stage": row["stage"], "message": row["message"],
        "expectation": expectation and [f"{expectation[2]}: ", expectation[0],
                                        expectation[1] if expectation[1].startswith(("http://", "https://")) else None],
        "bars": [[f"{name} max abs {value}", round(16 * fraction, 1), "ok" if ok else "bad"] for name, value, fraction, ok in row["bars"]],
        "values": [[name, f" {value}"] for name, value, _, _ in row["bars"]],
        "sort": "" if row["max_abs"] is None else row["max_abs"], "timings": row["timings"], "repro": row["repro"],
        "details": {"outputs": row["outputs"], "lines": [[f"{label}: ", text] for label, text in row["lines"]],
                    "error": row["error"] and [f"error ({row['error'][0]}):", row["error"][1]], "log": row["log"],
                    "reproduce": row["repro"] and ["reproduce: ", row["repro"], row["repro"]]} if row["details"] or row["repro"] else None,
    }


def check_shown(record, shown: dict, per_opset: bool):
    """A row as the page shows it: as result_row gave it, and against the record itself."""
    expected = as_shown(result_row(record, per_opset))
    shown = {**shown, "sort": "" if shown["sort"] == "" else float(shown["sort"])}
    assert [bar[1] for bar in shown["bars"]] == pytest.approx([bar[1] for bar in expected["bars"]], abs=0.051)  # toFixed(1) or round()
    for row in (shown, expected):
        row["bars"] = [[title, css] for title, _, css in row["bars"]]
    assert shown == expected, record.key
    # and against the record, not only against what the renderer made of it
    assert (shown["status"], shown["case"], shown["runtime"], shown["stage"], shown["message"]) == (
        record.status.value, record.case, record.runtime, record.stage, record.message)
    assert shown["exporter_mode"].startswith(f"{record.exporter} · ") and shown["shape"] == "×".join(map(str, record.run_shape))
    details = shown["details"] or {}
    lines = dict(details.get("lines") or [])
    if record.expectation:
        link = record.expectation.link
        assert shown["expectation"][1:] == [record.expectation.id, link if link.startswith("https://") else None]  # no javascript: links
        assert any(text == record.expectation.reason for text in lines.values())
    if record.error and record.error.text:
        assert details["error"][0] == f"error ({record.error.type}):"
        clipped = len(record.error.text) > TEXT_LIMIT and details["error"][1].startswith(record.error.text[:TEXT_LIMIT])
        assert details["error"][1] == record.error.text or clipped
    if record.export and record.export.log:
        assert details["log"] == record.export.log[-TEXT_LIMIT:]
    if record.outputs:
        assert [o[0] for o in details["outputs"]] == list(record.outputs)
        assert [o[7] for o in details["outputs"]] == ["–" if o.max_abs is None else f"{o.max_abs:.2e}" for o in record.outputs.values()]
    if record.localisation:
        assert record.localisation.headline in lines["first diverging node: "]
    for present, label in ((record.providers, "providers: "), (record.placement, "node placement: "),
                           (record.runtime_options, "runtime options: "), (record.eager_cuda_max_abs, "torch eager on CUDA vs on CPU, max abs: "),
                           (record.eager_cuda_error, "torch eager on CUDA failed: ")):
        assert (label in lines) == bool(present), label
    if record.status.value not in ("PASS", "XPASS", "SKIPPED"):
        assert shown["repro"] == f"python -m conformance repro results.jsonl {shlex.quote(record.key)}"


def rich_results():
    """Results with what a nightly on a CPU seldom holds: every status, every optional field, texts past the report's limit."""
    def outputs(max_abs, **extra):
        return {name: {"status": "NUMERIC_MISMATCH" if max_abs > 1e-3 else "PASS", "expected_shape": [5, 3, 8], "actual_shape": [5, 3, 8],
                       "expected_dtype": "float16", "actual_dtype": "float16", "tolerance": {"rtol": 1e-2, "atol": 1e-3}, "yardstick": "oracle",
                       "max_abs": max_abs, "max_rel": max_abs * 3, "mismatch_fraction": 0.25, "atol_to_pass": max_abs, "oracle_max_abs": max_abs / 2,
                       "eager_oracle_max_abs": 1e-4, **extra} for name in ("output", "h_n", "c_n")}

    def rich(case, status, raw=None, **fields):
        base = {"case": case, "params": {"kind": "lstm", "dtype": "float16"}, "exporter": "torchscript", "dynamic": True, "opset": 23,
                "runtime": "ort-cuda", "run_shape": [11, 5], "status": status, "raw_status": raw or status, "stage": "run"}
        return typed({**base, **fields})

    claim = {"id": "cuda-tf32", "reason": "ORT CUDA's TF32 default rounds fp32 matmuls.", "link": "https://github.com/microsoft/onnxruntime/issues/1"}
    long_error = ("Traceback (most recent call last):\n" + "".join(f'  File "/x/{i}.py", line {i}, in f\n    g()\n' for i in range(400))
                  + "RuntimeError: boom")
    found = {"status": "found", "reference": "ort-cpu", "node": "/layer/LSTM", "op_type": "LSTM", "module": "layer",
             "inputs": [{"name": "X", "max_abs": 0.0}], "outputs": [{"name": "Y", "max_abs": 0.3, "nonfinite_mismatches": 2}]}
    return [
        rich("L1-cuda-xpass", "XPASS", "PASS", stage="compare", expectation=claim, outputs=outputs(2e-4), message="all outputs within tolerance",
             providers=["CUDAExecutionProvider", "CPUExecutionProvider"], placement={"CPUExecutionProvider": {"Shape": 3}},
             runtime_options={"provider": "CUDAExecutionProvider", "device_id": 0}, eager_cuda_max_abs={"output": 1e-4, "h_n": 5e-5, "c_n": 3e-5}),
        rich("L1-cuda-claimed", "NUMERIC_MISMATCH", stage="compare", expectation=claim, localisation=found,
             outputs=outputs(float("inf"), nonfinite_mismatches=3, max_rel=None, atol_to_pass=None), message="output: 3 non-finite values differ",
             eager_cuda_error="CUDA error: out of memory"),
        rich("L1-cuda-run-error <b>&amp;</b> ünïcode", "RUN_ERROR", error={"type": "RuntimeError", "message": "boom", "text": long_error},
             message="boom: <i>not markup</i> “quoted” ✅",
             localisation={"status": "unavailable", "reference": "ort-cpu", "reason": "a Loop body"},
             export={"status": "PASS", "opset": 23, "ops": {"LSTM": 1}, "cached": False, "log": "warning line\n" * 600}),
        rich("L1-cuda-fallback", "FALLBACK", stage="load", message="3 nodes ran on CPUExecutionProvider", providers=["CPUExecutionProvider"],
             placement={"CPUExecutionProvider": {"LSTM": 1}}),
        rich("L1-crash", "CRASH", stage="run", message="worker died: signal 11 (SIGSEGV)",
             error={"type": "WorkerCrash", "message": "signal 11", "text": "last output:\nSegmentation fault (core dumped)\n"}),
        rich("L1-timeout", "TIMEOUT", stage="eager", message="stage eager ran past 300 s"),
        rich("L1-suite", "SUITE_ERROR", stage="judge", message="KeyError: 'h_n'",
             error={"type": "KeyError", "message": "'h_n'", "text": "KeyError: 'h_n'"}),
        rich("L1-no-message", "PASS", stage="compare", message="", runtime="reference", runtime_options={}),
        rich("L1-javascript-link", "XFAIL", "RUN_ERROR",
             expectation={"id": "odd", "reason": "a link that is no web link", "link": "javascript:alert(1)"}),
    ]


@pytest.fixture(scope="module")
def nightly(tmp_path_factory):
    """15,552 results, as the nightly's two opsets of the default preset give them, and their report."""
    header, results = nightly_results()
    path = render_report(header, results, tmp_path_factory.mktemp("nightly") / "report.html")
    return {"header": header, "results": results, "path": path}


def test_a_nightly_sized_report_stays_under_10_mb_and_opens_quickly(nightly, open_page, record_property):
    open_, problems = open_page
    size = nightly["path"].stat().st_size
    loads = []
    for _ in range(3):
        page = open_(nightly["path"])
        loads.append(float(page.evaluate("document.body.dataset.ready")) / 1000)  # decoded and drawn, since navigation began
        page.close()
    record_property("open_seconds", round(statistics.mean(loads), 3))  # measured, not asserted: the machine may be busy
    print(f"\n{len(nightly['results'])} results: {size:,} bytes, table drawn {statistics.mean(loads):.2f} s after navigation "
          f"(mean of {len(loads)} loads: {', '.join(f'{s:.2f}' for s in loads)})")
    assert len(nightly["results"]) == 15_552 and size < 10e6
    page = open_(nightly["path"])
    assert page.inner_text("#f-count") == "15552 results match" and page.locator("#results tr.result").count() == PAGE_SIZE
    assert problems == []


def test_every_field_a_result_shows_survives_the_embedding(nightly, open_page, tmp_path):
    """One result of each sort in the nightly (status, stage, error, exporter, runtime, kind, opset, what it carries) and results
    with every optional field: each row and its details, read back from the page, are the record's."""
    sorts = {}
    for r in nightly["results"]:
        sort = (r.status, r.raw_status, r.stage, r.error and r.error.type, r.exporter, r.dynamic, r.runtime, r.params.get("kind"), r.opset,
                r.expectation and r.expectation.id, bool(r.localisation), bool(r.eager_cuda_max_abs), bool(r.placement))
        sorts.setdefault(sort, r)
    results = [*sorts.values(), *rich_results()]
    path = render_report(nightly["header"], results, tmp_path / "report.html")
    open_, problems = open_page
    shown = open_(path).evaluate(READ_ALL_ROWS)
    anchors = build_view(nightly["header"], results)["anchors"]
    assert len(results) > 150 and set(shown) == set(anchors.values())
    for record in results:
        check_shown(record, shown[anchors[record.key]], per_opset=True)
    assert problems == []
