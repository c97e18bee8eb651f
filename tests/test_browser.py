"""The real app in headless Chromium: the live fragment ticks, the charts render and the verdict appears."""
import time

import psutil
import pytest

from lstm_viz.ui.serve import running_app
from tests.browser_support import ARTIFACTS, app_server, app_url, browser, expect, page, set_number  # noqa: F401

pytestmark = pytest.mark.browser

# A short disconnect TTL lets the test see a closed tab's session released within seconds.
APP_FLAGS = ("--server.disconnectedSessionTTL", "1")
VIEWPORT = {"width": 1400, "height": 2600}


def chart(page, key: str):
    """The visible Plotly chart under a widget key. While a fragment reruns, Streamlit briefly keeps a hidden
    "retained" copy of the element beside the new one, so a plain locator can match two."""
    return page.locator(f".st-key-{key} .stPlotlyChart").filter(visible=True).first


def test_home_page_links_to_the_headline_experiment(app_url, page):
    page.goto(app_url)
    button = page.locator(".st-key-open_headline button")
    expect(button).to_be_visible(timeout=30_000)
    page.screenshot(path=ARTIFACTS / "home.png")
    button.click()
    expect(page.locator(".st-key-start button")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("Vanishing gradients", exact=False).filter(visible=True).first).to_be_visible()


def test_training_live_draws_charts_and_the_verdict(app_url, page):
    page.goto(f"{app_url}/train")
    start = page.locator(".st-key-start button")
    expect(start).to_be_visible(timeout=30_000)
    for key, value in (("max_steps", 60), ("hidden_size", 8), ("length", 20)):
        set_number(page, key, value)
    start.click()
    expect(chart(page, "loss_chart")).to_be_visible(timeout=60_000)
    expect(chart(page, "loss_chart").locator(".main-svg").first).to_be_visible()
    page.screenshot(path=ARTIFACTS / "train_running.png")
    expect(page.get_by_text("Result:").filter(visible=True).first).to_be_visible(timeout=120_000)
    expect(page.get_by_text("stayed at").or_(page.get_by_text("solved T=")).filter(visible=True).first).to_be_visible()
    expect(chart(page, "internals_chart")).to_be_visible(timeout=30_000)
    expect(chart(page, "internals_chart").locator(".heatmaplayer").first).to_be_attached()
    expect(page.get_by_text("step 60 of 60").filter(visible=True).first).to_be_visible()
    page.screenshot(path=ARTIFACTS / "train_finished.png")


def server_cpu_seconds(process) -> float:
    times = psutil.Process(process.pid).cpu_times()
    return times.user + times.system


def test_closing_the_tab_stops_its_training(app_server, browser):
    """A student who closes the tab mid-run must not leave a training thread burning the shared server."""
    context = browser.new_context(viewport={"width": 1400, "height": 1200})
    page = context.new_page()
    page.goto(f"{app_server.url}/train")
    start = page.locator(".st-key-start button")
    expect(start).to_be_visible(timeout=30_000)
    set_number(page, "max_steps", 100_000)
    start.click()
    expect(chart(page, "loss_chart")).to_be_visible(timeout=60_000)
    # Training uses most of a core; on a machine other jobs share, that share can take a few seconds to add up.
    before, deadline = server_cpu_seconds(app_server.process), time.monotonic() + 10
    while server_cpu_seconds(app_server.process) - before <= 0.5:
        assert time.monotonic() < deadline, "the run was not training"
        time.sleep(0.2)
    context.close()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        before = server_cpu_seconds(app_server.process)
        time.sleep(1.0)
        if server_cpu_seconds(app_server.process) - before < 0.2:
            break
    else:
        pytest.fail("the server kept training for 30 s after the only page watching it was closed")


def test_a_fresh_server_opened_on_the_train_page_shows_the_app_navigation(browser):
    """A shared link straight to /train is how a classroom arrives; the first visit after a start must work."""
    with running_app(ARTIFACTS / "streamlit_fresh.log") as fresh:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.goto(f"{fresh.url}/train")
        expect(page.locator(".st-key-start button")).to_be_visible(timeout=60_000)
        navigation = page.locator('[data-testid="stSidebarNav"]')
        expect(navigation.get_by_text("Train", exact=True)).to_be_visible(timeout=30_000)
        expect(navigation.get_by_text("Home", exact=True)).to_be_visible()
        expect(navigation.get_by_text("app", exact=True)).to_have_count(0)
        page.screenshot(path=ARTIFACTS / "train_direct_visit.png")
        context.close()
