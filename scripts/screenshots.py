"""Take the README's screenshots of every page from a freshly started app (headless Debian Chromium), so they show the
app as it is now. Each page is shown as a first visitor sees it: on the shipped runs.

    python scripts/screenshots.py                 # all pages into assets/screenshots/
    python scripts/screenshots.py home train      # some of them

`gates_memory_attention` trains a Transformer in the page's session first (the shipped runs have none): about a
minute on a quiet machine.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.sync_api import expect, sync_playwright  # noqa: E402

from lstm_viz.ui.serve import CHROMIUM, CHROMIUM_ARGS, ROOT, running_app  # noqa: E402

OUT = ROOT / "assets" / "screenshots"
# (file name, URL path and query, window height): the query picks a view worth showing.
PAGES = {
    "home": ("", 1100),
    "train_finished": ("train?preset=vanishing-gradients", 1000),
    "inside_cell": ("inside_cell", 2100),
    "gates_memory": ("gates_memory?gm_feature=running+sum+of+marked+values&gm_pick=feature", 3700),
    "gradient_lab": ("gradient_lab", 1900),
    "length_sweep": ("length_sweep", 1400),
    "try_it": ("try_it", 1800),
    "forecast": ("forecast", 2250),
    "import_model": ("import_model", 900),
    "presenter": ("train?presenter=1", 1500),
    "translate": ("translate", 1000),
    "gestures": ("gestures?gest_example=star", 3000),
    "music": ("music", 2600),
    "gates_memory_attention": ("train?preset=lstm-vs-transformer&archs=transformer", 1000),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help=f"pages (default: all of {', '.join(PAGES)})")
    names = parser.parse_args().names or list(PAGES)
    OUT.mkdir(parents=True, exist_ok=True)
    with running_app() as app, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for name in names:
            path, height = PAGES[name]
            page = browser.new_context(viewport={"width": 1400, "height": height}).new_page()
            page.goto(f"{app.url}/{path}")
            expect(page.locator('[data-test-script-state="notRunning"]')).to_be_attached(timeout=120_000)
            if name == "presenter":  # the headline preset replays its shipped run, one step per Next: show step 3,
                # where the LSTM leaves the baseline (the shipped run ends at its solve, so step 4 is folded into 5)
                banner = page.locator(".st-key-presenter_banner")
                for step in (2, 3):
                    page.locator(".st-key-presenter_next button").filter(visible=True).first.click()
                    expect(banner).to_contain_text(f"Step {step} of 5", timeout=60_000)
                page.wait_for_timeout(12_000)
            if name == "gates_memory_attention":
                attention_map_of_a_trained_transformer(page)
            charts = page.locator(".stPlotlyChart .main-svg").filter(visible=True)
            if name not in ("home", "import_model"):
                expect(charts.first).to_be_visible(timeout=60_000)
            page.wait_for_timeout(1500)  # let Plotly finish its transitions
            page.screenshot(path=OUT / f"{name}.png")
            print(f"wrote {OUT / (name + '.png')}")
            page.context.close()
        browser.close()


def attention_map_of_a_trained_transformer(page) -> None:
    """Train the preset's Transformer alone (it solves in 175 steps), open Gates and memory on it in the same
    session, and scroll its attention map to the top of the window."""
    page.locator(".st-key-start button").click()
    expect(page.get_by_text("Result:", exact=False).filter(visible=True).first).to_be_visible(timeout=600_000)
    page.get_by_role("link", name="Gates and memory").first.click()
    expect(page.get_by_role("heading", name="Attention maps").first).to_be_attached(timeout=120_000)
    expect(page.locator('[data-test-script-state="notRunning"]')).to_be_attached(timeout=120_000)
    expect(page.locator(".st-key-gm_attention .main-svg").first).to_be_attached(timeout=60_000)
    page.get_by_role("heading", name="Attention maps").first.evaluate("heading => heading.scrollIntoView()")


if __name__ == "__main__":
    main()
