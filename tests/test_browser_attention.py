"""A Transformer trained in the session, its attention heatmap drawn on Gates and memory in a real browser (Plotly's
SVG, the colour bar, the hover with the exact weight), and Inside the cell taking one of its positions apart.
Screenshots at 1400 x 1000 go to tests/artifacts/."""
import pytest

from tests.browser_support import ARTIFACTS, app_server, app_url, browser, expect, page, wait_until_idle  # noqa: F401

pytestmark = pytest.mark.browser

APP_LOG = "streamlit_attention.log"
VIEWPORT = {"width": 1400, "height": 1000}
TINY_RUN = "max_steps=30&hidden_size=8&length=16&batch_size=16&archs=lstm,transformer&heads=2"


def test_the_attention_heatmap_is_drawn_on_gates_and_memory(app_url, page):
    page.goto(f"{app_url}/train?{TINY_RUN}")
    start = page.locator(".st-key-start button")
    expect(start).to_be_enabled(timeout=60_000)
    start.click()
    expect(page.get_by_text("Result:", exact=False).filter(visible=True).first).to_be_visible(timeout=180_000)
    page.get_by_role("link", name="Gates and memory").first.click()
    expect(page.get_by_role("heading", name="Gates and memory").first).to_be_visible(timeout=60_000)
    wait_until_idle(page, 120_000)
    page.locator(".st-key-gm_arch").click()
    page.get_by_role("option", name="Transformer").click()
    wait_until_idle(page, 120_000)
    chart = page.locator(".st-key-gm_attention")
    expect(chart.locator(".main-svg").first).to_be_visible(timeout=60_000)
    expect(chart.get_by_text("Transformer attention, layer 1 of 1, head 1", exact=False)).to_be_visible()
    expect(chart.locator(".colorbar")).to_have_count(1)
    expect(chart.get_by_text("key position s", exact=False)).to_be_visible()
    # Hover the lower-left cell region: the tooltip names both positions and the weight.
    chart.scroll_into_view_if_needed()
    box = chart.locator(".nsewdrag").first.bounding_box()
    for fraction in (0.85, 0.9):  # Plotly shows its hover on a mouse move over the plot
        page.mouse.move(box["x"] + box["width"] * 0.1, box["y"] + box["height"] * fraction)
    expect(chart.locator(".hoverlayer").get_by_text("weight", exact=False)).to_be_visible(timeout=10_000)
    expect(page.locator(".stException")).to_have_count(0)
    page.screenshot(path=ARTIFACTS / "gates_memory_transformer.png")

    page.get_by_role("link", name="Inside the cell").first.click()
    expect(page.get_by_role("heading", name="Inside the cell").first).to_be_visible(timeout=60_000)
    wait_until_idle(page, 120_000)
    page.locator(".st-key-cell_arch").get_by_text("Transformer").click()
    wait_until_idle(page, 120_000)
    bars = page.locator(".st-key-cell_attention_bars")
    expect(bars.locator(".main-svg").first).to_be_visible(timeout=60_000)
    expect(page.locator(".stException")).to_have_count(0)
    page.screenshot(path=ARTIFACTS / "inside_cell_transformer.png")
    page.get_by_text("Residual: the block's input", exact=False).scroll_into_view_if_needed()
    page.screenshot(path=ARTIFACTS / "inside_cell_transformer_equations.png")
