"""The browser tests' shared fixtures: the app served on a free port, headless Chromium, and a fresh page.

A browser test module imports what it uses (`from tests.browser_support import app_url, page  # noqa: F401`) and
may set, at module level:
- APP_LOG: the server log's file name in tests/artifacts/ (default "streamlit.log");
- APP_FLAGS: extra `--flag value`s for `streamlit run` (default none);
- VIEWPORT: the page fixture's window size (default 1400 x 2000).
Without Chromium the tests are skipped, or fail when LSTM_VIZ_REQUIRE_BROWSER is set (as in CI)."""
import os

import pytest

from lstm_viz.ui.serve import CHROMIUM, CHROMIUM_ARGS, ROOT, running_app

playwright_api = pytest.importorskip("playwright.sync_api")
sync_playwright, expect = playwright_api.sync_playwright, playwright_api.expect

ARTIFACTS = ROOT / "tests" / "artifacts"
DEFAULT_VIEWPORT = {"width": 1400, "height": 2000}


def require_chromium() -> None:
    """Skip (fail in CI) without Chromium; make the screenshots folder."""
    if not os.path.exists(CHROMIUM):
        if os.environ.get("LSTM_VIZ_REQUIRE_BROWSER"):
            pytest.fail(f"no Chromium at {CHROMIUM}, and LSTM_VIZ_REQUIRE_BROWSER is set (as in CI)")
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    ARTIFACTS.mkdir(exist_ok=True)


@pytest.fixture(scope="module")
def app_server(request):
    """The app served for this test module (APP_LOG, APP_FLAGS), stopped after its last test."""
    require_chromium()
    log_name = getattr(request.module, "APP_LOG", "streamlit.log")
    with running_app(ARTIFACTS / log_name, *getattr(request.module, "APP_FLAGS", ())) as app:
        yield app


@pytest.fixture(scope="module")
def app_url(app_server):
    return app_server.url


@pytest.fixture(scope="module")
def browser():
    require_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(request, browser):
    """A new page in its own browser context (no cookies or session shared with another test)."""
    context = browser.new_context(viewport=getattr(request.module, "VIEWPORT", DEFAULT_VIEWPORT))
    page = context.new_page()
    yield page
    context.close()


def wait_until_idle(page, timeout: float = 30_000) -> None:
    """Until the app has finished its script run (after a widget change)."""
    expect(page.locator('[data-test-script-state="notRunning"]')).to_be_attached(timeout=timeout)


def set_number(page, key: str, value, timeout: float = 30_000) -> None:
    """Type `value` into the number input with widget key `key`, and wait for the rerun it starts."""
    field = page.locator(f".st-key-{key} input")
    # A rerun still under way when the value is typed can draw the widget again with its old value: type it again
    # (at most three times) until the page has settled with it.
    for _ in range(3):
        wait_until_idle(page, timeout)
        field.fill(str(value))
        field.press("Enter")
        wait_until_idle(page, timeout)
        if field.input_value() == str(value):
            break
    expect(field).to_have_value(str(value))
