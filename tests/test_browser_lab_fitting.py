"""In headless Chromium: the Best-practice lab's normalisation section runs on tiny settings and draws its chart,
with the takeaway above it, and nothing of the page fails."""
import pytest

from tests.browser_support import ARTIFACTS, app_server, app_url, browser, expect, page, wait_until_idle  # noqa: F401

pytestmark = pytest.mark.browser

APP_LOG = "streamlit_lab_practices.log"
VIEWPORT = {"width": 1400, "height": 1000}


def test_the_normalisation_experiment_draws_its_chart(app_url, page):
    page.goto(f"{app_url}/best_practice_lab?lab_practice=normalisation&lab_norm_series=co2&lab_norm_steps=300")
    run = page.locator(".st-key-lab_normalisation_run button")
    expect(run).to_be_enabled(timeout=60_000)
    wait_until_idle(page)
    run.click()
    chart = page.locator(".st-key-lab_norm_chart .stPlotlyChart").filter(visible=True).first
    expect(chart).to_be_visible(timeout=120_000)
    expect(chart.locator(".main-svg").first).to_be_attached()
    expect(chart.get_by_text("standardised series: MAE").first).to_be_attached()
    expect(page.get_by_text("Standardising").first).to_be_visible()
    expect(page.locator("[data-testid='stException']")).to_have_count(0)
    chart.scroll_into_view_if_needed()
    page.screenshot(path=ARTIFACTS / "lab_normalisation.png")
