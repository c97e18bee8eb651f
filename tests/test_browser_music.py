"""The Music page in a real browser: the sampled melody's audio element gets a WAV source the browser decodes (its
duration is the melody's beats at the page's tempo), it plays when its button is pressed, the piano rolls are drawn,
and a typed primer changes the melody; a screenshot is left in tests/artifacts/."""
import re

import pytest

from tests.browser_support import ARTIFACTS, app_server, app_url, browser, expect, page, wait_until_idle  # noqa: F401

pytestmark = pytest.mark.browser

APP_LOG = "streamlit_music.log"
VIEWPORT = {"width": 1400, "height": 1000}
PRIMER = "C5 B4 A4/2!"  # 4 beats


def first_audio(page):
    audio = page.locator("audio").first
    expect(audio).to_have_attribute("src", re.compile(r"/media/[0-9a-f]+\.wav$"), timeout=60_000)
    return audio


def test_the_melody_plays_in_the_browser(app_url, page):
    page.goto(f"{app_url}/music?music_primer=typed&music_typed={PRIMER.replace(' ', '%20').replace('!', '%21')}"
              "&music_length=8&music_tempo=120")
    audio = first_audio(page)
    expect(page.locator("audio")).to_have_count(2)
    # The browser decodes the WAV: its duration is the 3 + 8 notes' beats at 120 per minute (half a second each).
    page.wait_for_function("document.querySelector('audio').readyState >= 1", timeout=30_000)
    duration = audio.evaluate("a => a.duration")
    caption = page.get_by_text("Sampled: ").first.inner_text().removeprefix("Sampled: ").split()
    beats = 4.0 + sum(float(w.split("/")[1].rstrip("!")) if "/" in w else 1.0 for w in caption)
    assert len(caption) == 8 and duration == pytest.approx(beats * 0.5, abs=0.01)
    # Played: the element's clock moves (muted, so a test machine makes no sound).
    audio.evaluate("a => { a.muted = true; return a.play(); }")
    page.wait_for_function("document.querySelector('audio').currentTime > 0.2", timeout=15_000)
    expect(page.locator(".st-key-music_sampled .main-svg").first).to_be_visible(timeout=30_000)
    expect(page.locator(".st-key-music_real .main-svg").first).to_be_visible(timeout=30_000)
    expect(page.locator(".stException")).to_have_count(0)
    page.screenshot(path=ARTIFACTS / "page_music.png")


def test_a_new_primer_gives_another_melody(app_url, page):
    page.goto(f"{app_url}/music")
    before = first_audio(page).get_attribute("src")
    page.get_by_text("notes I type").click()
    wait_until_idle(page)
    field = page.locator(".st-key-music_typed input")
    field.fill("E4 F4 G4/2!")
    field.press("Enter")
    wait_until_idle(page)
    expect(page.locator("audio").first).not_to_have_attribute("src", before, timeout=30_000)
    field.fill("E4 Z9")
    field.press("Enter")
    wait_until_idle(page)
    expect(page.locator(".stAlert").filter(has_text="“Z9” is not a note")).to_be_visible(timeout=30_000)
    expect(page.locator(".stException")).to_have_count(0)
