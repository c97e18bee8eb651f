"""In headless Chromium: the Best-practice lab's consistent-lengths section, opened from a link with tiny settings,
runs through the server's scheduler and draws its takeaway, its table and the gates-on-the-padding chart."""
import pytest

from tests.browser_support import ARTIFACTS, app_server, app_url, browser, expect, page  # noqa: F401

pytestmark = pytest.mark.browser

APP_LOG = "streamlit_lab_practices.log"
VIEWPORT = {"width": 1400, "height": 1000}
TINY = "lab_len_min=3&lab_len_max=12&lab_len_cut=5&lab_len_hidden=4&lab_len_steps=20"


def test_the_lengths_section_runs_and_draws_the_gates_on_the_padding(app_url, page):
    page.goto(f"{app_url}/best_practice_lab?lab_practice=lengths&{TINY}")
    run = page.locator(".st-key-labrun_lengths_start button")
    expect(run).to_be_enabled(timeout=60_000)
    run.click()
    expect(page.get_by_text("packed against").filter(visible=True).first).to_be_visible(timeout=120_000)
    chart = page.locator(".st-key-labchart_len_gates .stPlotlyChart").filter(visible=True).first
    expect(chart).to_be_visible(timeout=30_000)
    expect(chart.get_by_text("One test example of true length 3, padded to 12", exact=False).first).to_be_attached()
    # Five panels (three gates, the cell state, the prediction), each with the packed and the unpacked line.
    expect(chart.locator("g.scatterlayer g.trace")).to_have_count(10)
    expect(chart.get_by_text("forget gate").first).to_be_attached()
    chart.scroll_into_view_if_needed()
    page.screenshot(path=ARTIFACTS / "lab_lengths_gates.png")
