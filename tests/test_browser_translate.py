"""The Translate page in Chromium: a typed date is translated, the attention heatmap is drawn, and hovering one of
its cells shows the exact weight. Leaves tests/artifacts/page_translate.png (1400 x 1000) to look at."""
import pytest

from tests.browser_support import ARTIFACTS, app_server, app_url, browser, expect, page, wait_until_idle  # noqa: F401

pytestmark = pytest.mark.browser

APP_LOG = "streamlit_translate.log"
VIEWPORT = {"width": 1400, "height": 1000}


def test_a_typed_sentence_draws_its_attention_heatmap(app_url, page):  # noqa: F811
    page.goto(f"{app_url}/translate")
    expect(page.get_by_role("heading", name="Translate").first).to_be_visible(timeout=60_000)
    wait_until_idle(page, 120_000)
    box = page.locator(".st-key-tr_text input")
    box.fill("i think it was 7 Dec 2004 in the evening")
    box.press("Enter")
    wait_until_idle(page, 120_000)
    expect(page.get_by_text("2004-12-07").first).to_be_visible(timeout=60_000)
    heatmap = page.locator(".st-key-tr_attention .main-svg").first
    expect(heatmap).to_be_visible(timeout=60_000)
    expect(page.locator(".st-key-tr_attention .heatmaplayer image, .st-key-tr_attention .hm image")).not_to_have_count(0)
    expect(page.locator(".stException")).to_have_count(0)
    page.screenshot(path=ARTIFACTS / "page_translate.png")
    plot = page.locator(".st-key-tr_attention rect.nsewdrag").first
    area = plot.bounding_box()
    page.mouse.move(area["x"] + area["width"] * 0.5, area["y"] + area["height"] * 0.3)
    expect(page.locator(".hoverlayer").get_by_text("attention weight =", exact=False).first).to_be_visible(timeout=10_000)
    page.screenshot(path=ARTIFACTS / "page_translate_hover.png")
