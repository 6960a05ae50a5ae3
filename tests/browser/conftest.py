"""Real Chromium (Debian's, never a downloaded build) driven by Playwright, with axe-core."""

import os
import shutil

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
AXE_OPTIONS = {
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"],
    },
    "resultTypes": ["violations"],
}


@pytest.fixture(scope="session")
def chromium():
    if not shutil.which(CHROMIUM):
        from tests.conftest import skip_or_fail

        skip_or_fail(f"needs Chromium at {CHROMIUM}: apt-get install chromium")
    # Playwright's sync API runs an event loop in this thread; the test still talks to the
    # database synchronously, which Django would otherwise refuse inside a running loop.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def new_page(chromium, live_server):
    contexts = []

    def make(*, javascript=True):
        context = chromium.new_context(
            base_url=live_server.url, locale="en-GB", java_script_enabled=javascript
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def assert_accessible():
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    checked = []

    def check(page):
        results = axe.run(page, options=AXE_OPTIONS)
        checked.append(page.url)
        assert results.violations_count == 0, f"{page.url}\n{results.generate_report()}"

    check.checked = checked
    return check
