"""Deploy small in a real browser: the Compress button runs the job on the server and the page then draws its
trade-off chart (Plotly's SVG), the table and the gate views, with no error box; a screenshot is left in
tests/artifacts/."""
import pytest

from tests.browser_support import ARTIFACTS, app_server, app_url, browser, expect, page  # noqa: F401

pytestmark = pytest.mark.browser

APP_LOG = "streamlit_deploy_small.log"
VIEWPORT = {"width": 1400, "height": 1000}


def test_the_compression_chart_is_drawn_after_the_button(app_url, page):
    # The shipped sentiment LSTM (H = 32, T = 20): its variants take a few seconds.
    page.goto(f"{app_url}/deploy_small?deploy_source=sentiment-rnn-lstm")
    button = page.locator(".st-key-deploy_compress button").filter(visible=True).first
    expect(button).to_be_visible(timeout=60_000)
    button.click()
    chart = page.locator(".st-key-deploy_tradeoff .main-svg").filter(visible=True).first
    expect(chart).to_be_visible(timeout=120_000)
    # Both panels have their points: 12 variants, one marker each, in each of the two panels.
    expect(page.locator(".st-key-deploy_tradeoff .scatterlayer .point")).to_have_count(24, timeout=30_000)
    expect(page.locator(".st-key-deploy_gates .main-svg").first).to_be_visible(timeout=30_000)
    expect(page.locator(".stDataFrame").first).to_be_visible(timeout=30_000)
    expect(page.locator(".stException")).to_have_count(0)
    page.screenshot(path=ARTIFACTS / "page_deploy_small.png")
