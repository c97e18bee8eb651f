"""Presenter mode as projected, in a real browser at 1280x720 and 1920x1080: the headline preset told step by step
with Next step. At every step the test measures, in the browser: the computed font size of every text Plotly drew in
every chart (ticks, legends, titles, colour bars, annotations; hover labels aside), the position of the chart the
step talks about (inside the window, under the narrative banner, not clipped), and the metric labels and values."""
import json

import pytest

from lstm_viz.runs.bundled import precomputed_run
from lstm_viz.runs.presets import PRESETS
from lstm_viz.runs import narrative
from tests.browser_support import ARTIFACTS, app_server, app_url, browser, expect  # noqa: F401

pytestmark = pytest.mark.browser

APP_LOG = "streamlit_presenter.log"
# From the back of a room (issue 11): no chart text under this many CSS pixels, metric values well above body text.
MIN_TEXT_PX = 18
MIN_METRIC_VALUE_PX = 36
SIZES = [(1280, 720), (1920, 1080)]

CHART_TEXT_SIZES = """() => [...document.querySelectorAll('.js-plotly-plot svg text')]
  .filter(t => !t.closest('.hoverlayer'))
  .filter(t => { const r = t.getBoundingClientRect(); return r.width > 0 && r.height > 0 && t.textContent.trim(); })
  .map(t => [parseFloat(getComputedStyle(t).fontSize), t.textContent.trim().slice(0, 40),
             t.closest('.stPlotlyChart')?.parentElement?.className.match(/st-key-(\\S+)/)?.[1] || '?'])"""

CHART_PLACE = """([key]) => {
  const chart = document.querySelector('.st-key-' + key + ' .js-plotly-plot');
  const banner = document.querySelector('.st-key-presenter_banner');
  if (!chart || !banner) return null;
  const c = chart.getBoundingClientRect(), b = banner.getBoundingClientRect();
  return {top: c.top, bottom: c.bottom, left: c.left, right: c.right, height: c.height,
          bannerBottom: b.bottom, bannerTop: b.top, width: innerWidth, windowHeight: innerHeight};
}"""

METRICS = """() => [...document.querySelectorAll('[data-testid="stMetric"]')].map(m => {
  const label = m.querySelector('[data-testid="stMetricLabel"]'), value = m.querySelector('[data-testid="stMetricValue"]');
  const cut = [...label.querySelectorAll('*')].some(e => e.scrollWidth > e.clientWidth + 1);
  // The size the digits are drawn at: every element holding the value's own text (Streamlit wraps it in a
  // markdown <p> whose style can differ from the container's), the smallest of them.
  const holders = [value, ...value.querySelectorAll('*')].filter(
    e => [...e.childNodes].some(n => n.nodeType === Node.TEXT_NODE && n.textContent.trim()));
  return {label: label.innerText, cut, valueSize: Math.min(...holders.map(e => parseFloat(getComputedStyle(e).fontSize)))};
})"""


def _on_screen(place: dict | None) -> bool:
    return (place is not None and place["height"] > 200 and place["top"] >= place["bannerBottom"] - 1
            and place["bottom"] <= place["windowHeight"] + 1 and place["left"] >= 0
            and place["right"] <= place["width"] + 1)


def _wait_for_chart_on_screen(page, key: str, timeout_ms: float = 20_000) -> dict:
    deadline_step = 250
    place = None
    for _ in range(int(timeout_ms / deadline_step)):
        place = page.evaluate(CHART_PLACE, [key])
        if _on_screen(place):
            page.wait_for_timeout(400)  # still there once the page has settled
            place = page.evaluate(CHART_PLACE, [key])
            if _on_screen(place):
                return place
        page.wait_for_timeout(deadline_step)
    raise AssertionError(f"the chart {key!r} is not on screen under the banner: {json.dumps(place)}")


def _measure(page, index: int, width: int, height: int) -> tuple:
    """At step `index`, in a window of width x height: the step's chart on screen, every chart text and metric."""
    page.set_viewport_size({"width": width, "height": height})
    place = _wait_for_chart_on_screen(page, narrative.STAGE_CHARTS[index])
    page.wait_for_timeout(800)  # Plotly's transitions
    page.screenshot(path=ARTIFACTS / f"presenter_{width}x{height}_step{index}.png")
    sizes = page.evaluate(CHART_TEXT_SIZES)
    assert sizes, "no chart text measured"
    small = [item for item in sizes if item[0] < MIN_TEXT_PX]
    assert not small, (f"{width}x{height}, step {index}: {len(small)} of {len(sizes)} chart texts under "
                       f"{MIN_TEXT_PX} px: {small[:8]}")
    metrics = page.evaluate(METRICS)
    assert len(metrics) >= 5
    assert not [m for m in metrics if m["cut"]], f"{width}x{height}: metric labels cut: {metrics}"
    assert min(m["valueSize"] for m in metrics) >= MIN_METRIC_VALUE_PX, metrics
    # The room-sized body text is there too: a style block the browser's sanitiser cut short drops every rule.
    body = page.evaluate("""() => [...document.querySelectorAll('[data-testid="stCaptionContainer"]')].map(
      e => parseFloat(getComputedStyle(e).fontSize))""")
    assert body and min(body) >= MIN_TEXT_PX, body
    return min(size for size, _, _ in sizes), len(sizes), round(place["bottom"])


def test_presenter_mode_reads_from_the_back_of_the_room(app_url, browser):
    """One session told through all five steps; at each step the window is 1280x720 (where the page scrolls to the
    step's chart) and then 1920x1080 (one replay for both sizes keeps the test short)."""
    (width, height), larger = SIZES[0], SIZES[1:]
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    try:
        page.goto(f"{app_url}/train?presenter=1")
        banner = page.locator(".st-key-presenter_banner")
        expect(banner).to_contain_text("Step 1 of 5", timeout=120_000)
        expect(page.locator('[data-testid="stSidebar"]')).to_have_attribute("data-collapsed", "true")
        measured = {}
        # The stages the shipped headline run shows (one that ends at the LSTM's solve tells it in the last stage).
        shown = sorted(narrative.stage_starts(precomputed_run(PRESETS["vanishing-gradients"].config)))
        for index in shown:
            page.set_viewport_size({"width": width, "height": height})
            page.locator(".st-key-presenter_next button").filter(visible=True).first.click()
            expect(banner).to_contain_text(f"Step {index} of {narrative.STAGE_COUNT}", timeout=60_000)
            for size in SIZES:
                measured[(index, *size)] = _measure(page, index, *size)
        # Step 5 draws the insides too (heatmaps, colour bars): they are among the texts measured.
        print("presenter mode (min px, chart texts, chart bottom):", measured)
    finally:
        context.close()
