"""The report in a real headless browser: loads cleanly and offline, filters, sorts, fits a 1366x768 laptop screen."""
import shutil
from collections import Counter
from pathlib import Path

import pytest
from conftest import run_cli

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
    """Open a local HTML file; collect console errors and any request that would leave the machine."""
    context = browser.new_context(viewport=LAPTOP)
    problems = []

    def open_(path):
        page = context.new_page()
        page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        page.on("request", lambda r: None if r.url.startswith(("file:", "data:", "about:")) else problems.append(f"request {r.url}"))
        page.goto(Path(path).resolve().as_uri())
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
    applicable = [r for r in smoke_run["results"] if r["status"] != "NOT_APPLICABLE"]
    columns = {(r["exporter"], "dynamic" if r["dynamic"] else "static", r["runtime"]) for r in applicable}
    cases = {r["case"] for r in applicable}
    assert page.locator("#matrix th.col").count() == len(columns)
    assert page.locator("#matrix tr[data-case]").count() == len(cases)
    assert page.locator("#matrix td.cell").count() == len(cases) * len(columns)


def test_filters_change_what_is_visible(smoke_run, open_page):
    open_, problems = open_page
    page = open_(smoke_run["out"] / "report.html")
    applicable = [r for r in smoke_run["results"] if r["status"] != "NOT_APPLICABLE"]
    assert len(visible(page, "#results tr.result", "exporter")) == len(applicable)

    page.select_option("#f-exporter", "torchscript")
    shown = visible(page, "#results tr.result", "exporter")
    assert set(shown) == {"torchscript"} and len(shown) == sum(r["exporter"] == "torchscript" for r in applicable)
    assert page.locator("#matrix td.cell.dim").count() == page.locator('#matrix td.cell:not([data-exporter="torchscript"])').count()

    page.select_option("#f-exporter", "")
    page.locator('.summary .badge[data-status="XFAIL"]').click()
    assert Counter(visible(page, "#results tr.result", "status")) == {"XFAIL": sum(r["status"] == "XFAIL" for r in applicable)}

    page.select_option("#f-status", "")
    page.fill("#f-case", "proj3")
    cases = visible(page, "#matrix tr[data-case]", "case")
    assert cases and all("proj3" in c for c in cases)
    assert page.inner_text("#f-count") == f"{sum('proj3' in r['case'] for r in applicable)} result rows shown"
    assert problems == []


def test_sorting_by_a_column_orders_the_rows(smoke_run, open_page):
    open_, problems = open_page
    page = open_(smoke_run["out"] / "report.html")
    header = page.locator("#results thead th", has_text="case")
    header.click()
    ascending = visible(page, "#results tr.result", "case")
    assert ascending == sorted(ascending, key=str.lower) and len(set(ascending)) > 1
    header.click()
    assert visible(page, "#results tr.result", "case") == sorted(ascending, key=str.lower, reverse=True)
    page.locator("#results thead th", has_text="max abs error").click()
    errors = page.eval_on_selector_all("#results tr.result td.errors", "cells => cells.map(c => c.dataset.sort)")
    numbers = [float(e) for e in errors if e]
    assert numbers == sorted(numbers) and errors.index(next(e for e in errors if e)) == 0
    assert problems == []


def test_copy_button_copies_the_repro_command(smoke_run, open_page):
    open_, problems = open_page
    page = open_(smoke_run["out"] / "report.html")
    button = page.locator("#results button.copy").first
    assert button.get_attribute("data-copy").startswith("python repro/")
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
