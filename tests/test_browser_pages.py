"""Every page in a real browser: it renders its charts with no error box, before and after a run is trained in the
session, and leaves a screenshot in tests/artifacts/ to look at."""
import pytest

from tests.browser_support import ARTIFACTS, app_server, app_url, browser, expect, page, set_number  # noqa: F401

pytestmark = pytest.mark.browser

APP_LOG = "streamlit_pages.log"

# (URL path, a heading the page shows). Adding a page: one line.
PAGES = [
    ("inside_cell", "Inside the cell"),
    ("gates_memory", "Gates and memory"),
    ("gradient_lab", "Gradient flow lab"),
    ("length_sweep", "Length sweep"),
    ("forecast", "Forecast and anomalies"),
    ("try_it", "Try it"),
    ("translate", "Translate"),
    ("gestures", "Gestures"),
    ("music", "Music"),
]


def wait_for_page(page, heading: str) -> None:
    expect(page.get_by_role("heading", name=heading).filter(visible=True).first).to_be_visible(timeout=60_000)
    expect(page.locator('[data-test-script-state="notRunning"]')).to_be_attached(timeout=120_000)
    expect(page.locator(".stPlotlyChart").filter(visible=True).first).to_be_visible(timeout=60_000)
    # A chart is drawn when Plotly has made its SVG, not when the element exists.
    expect(page.locator(".stPlotlyChart .main-svg").filter(visible=True).first).to_be_visible(timeout=60_000)
    expect(page.locator(".stException")).to_have_count(0)


@pytest.mark.parametrize(("path", "heading"), PAGES, ids=[path for path, _ in PAGES])
def test_each_explorer_page_shows_the_bundled_run(app_url, page, path, heading):
    page.goto(f"{app_url}/{path}")
    wait_for_page(page, heading)
    page.screenshot(path=ARTIFACTS / f"page_{path}.png", full_page=True)


def test_explorer_pages_follow_the_run_trained_in_the_session(app_url, page):
    page.goto(f"{app_url}/train")
    start = page.locator(".st-key-start button")
    expect(start).to_be_visible(timeout=60_000)
    for key, value in (("max_steps", 40), ("hidden_size", 8), ("length", 16)):
        set_number(page, key, value, timeout=60_000)
    start.click()
    expect(page.get_by_text("solved", exact=False).or_(page.get_by_text("baseline", exact=False)).filter(visible=True).first
           ).to_be_visible(timeout=120_000)
    expect(page.locator(".st-key-start button")).to_be_enabled(timeout=120_000)
    # Same browser session, client-side navigation: the explorer pages now show the 16-step run, not the bundled one.
    for path, heading in PAGES[:3]:
        page.get_by_role("link", name=heading).first.click()
        wait_for_page(page, heading)
        expect(page.get_by_text("bundled run", exact=False).filter(visible=True)).to_have_count(0)
        page.screenshot(path=ARTIFACTS / f"page_{path}_session_run.png", full_page=True)
