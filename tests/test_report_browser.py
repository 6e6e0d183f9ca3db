"""The report pages in a real browser: headless Debian Chromium driven by Playwright.

Asserts no console errors, no network requests, no script from message content, that the
index's sorting and filtering work, and that the table is usable with JavaScript off.
Screenshots are saved in test-artifacts/ for a human to look at.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from auditor.report.model import page_name
from auditor.report.render import report
from tests import report_fixture

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

if not CHROMIUM and not os.environ.get("CI"):
    pytest.skip("Chromium is not installed (make test installs it in CI)", allow_module_level=True)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert CHROMIUM, "CI must have Chromium: .ci/run installs the Debian package"
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield instance
        instance.close()


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    ws = report_fixture.build(tmp_path_factory.mktemp("browser"))
    [index] = report(ws, ["2026-11-16"])
    return index.parent


def open_page(browser, path: Path, *, javascript: bool = True):
    context = browser.new_context(java_script_enabled=javascript, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    seen = {"console": [], "errors": [], "requests": []}
    page.on("console", lambda m: seen["console"].append(m) if m.type == "error" else None)
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.on("request", lambda r: seen["requests"].append(r.url))
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return context, page, seen


@pytest.mark.parametrize("which", ["index", "group", "traversal-group"])
def test_page_loads_clean_with_no_network_and_no_injected_script(browser, folder, which):
    path = {
        "index": folder / "index.html",
        "group": folder / "groups" / page_name("wrA"),
        "traversal-group": folder / "groups" / page_name(report_fixture.TRAVERSAL_ROOM),
    }[which]
    context, page, seen = open_page(browser, path)
    try:
        for link in page.query_selector_all("details"):
            link.evaluate("d => d.open = true")  # show the context of every finding
        assert page.evaluate("window.__pwned") is None
        assert [m.text for m in seen["console"]] == []
        assert seen["errors"] == []
        assert seen["requests"] == [path.as_uri()]  # the page itself, nothing else
        assert page.evaluate("document.querySelectorAll('script').length") == (1 if which == "index" else 0)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"report-{which}.png"), full_page=True)
    finally:
        context.close()


def test_index_sorts_and_filters(browser, folder):
    context, page, _ = open_page(browser, folder / "index.html")
    try:
        rows = "document.querySelectorAll('#groups tbody tr:not([hidden])').length"
        total = page.evaluate(rows)
        assert total == 3
        page.fill("#filter", "客户")
        assert page.evaluate(rows) == 1
        page.fill("#filter", "")
        page.select_option("#category", "customer")
        assert page.evaluate(rows) == 1
        page.select_option("#category", "")
        header = page.locator("#groups thead th", has_text="消息数")
        header.click()
        ascending = page.evaluate(
            "[...document.querySelectorAll('#groups tbody tr')].map(r => +r.cells[3].textContent)"
        )
        assert ascending == sorted(ascending)
        header.click()
        descending = page.evaluate(
            "[...document.querySelectorAll('#groups tbody tr')].map(r => +r.cells[3].textContent)"
        )
        assert descending == sorted(descending, reverse=True)
    finally:
        context.close()


def test_index_is_a_plain_table_without_javascript(browser, folder):
    context, page, _ = open_page(browser, folder / "index.html", javascript=False)
    try:
        assert page.locator("#groups tbody tr").count() == 3
        assert not page.locator(".controls").is_visible()  # controls need JavaScript; the table does not
        assert page.locator("#groups a").first.get_attribute("href").startswith("groups/g-")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "report-index-nojs.png"), full_page=True)
    finally:
        context.close()
