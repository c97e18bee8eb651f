"""In headless Chromium: upload a CSV series on the Train page, train on it, and see the forecast chart."""
import os

import numpy as np
import pytest

from lstm_viz.ui.serve import CHROMIUM, CHROMIUM_ARGS, ROOT, running_app

playwright_api = pytest.importorskip("playwright.sync_api")
sync_playwright, expect = playwright_api.sync_playwright, playwright_api.expect

pytestmark = pytest.mark.browser

ARTIFACTS = ROOT / "tests" / "artifacts"


@pytest.fixture(scope="module")
def app_url():
    if not os.path.exists(CHROMIUM):
        if os.environ.get("LSTM_VIZ_REQUIRE_BROWSER"):
            pytest.fail(f"no Chromium at {CHROMIUM}, and LSTM_VIZ_REQUIRE_BROWSER is set (as in CI)")
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    ARTIFACTS.mkdir(exist_ok=True)
    with running_app(ARTIFACTS / "streamlit_series.log") as app:
        yield app.url


def pick(page, key: str, option: str) -> None:
    page.locator(f".st-key-{key} input[role='combobox']").filter(visible=True).first.click()
    page.get_by_role("option", name=option).first.click()
    expect(page.locator('[data-test-script-state="notRunning"]')).to_be_attached(timeout=30_000)


def set_number(page, key: str, value) -> None:
    field = page.locator(f".st-key-{key} input")
    field.fill(str(value))
    field.press("Enter")
    expect(field).to_have_value(str(value))
    expect(page.locator('[data-test-script-state="notRunning"]')).to_be_attached(timeout=30_000)


def test_upload_a_csv_train_on_it_and_see_the_forecast(app_url, tmp_path):
    steps = np.arange(200)
    values = 10 + 3 * np.sin(2 * np.pi * steps / 12) + 0.05 * steps
    csv_file = tmp_path / "sales.csv"
    csv_file.write_text("day,sales\n" + "".join(f"{2000 + i},{v:.3f}\n" for i, v in enumerate(values)))
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1800})
        page.goto(f"{app_url}/train")
        expect(page.locator(".st-key-start button")).to_be_visible(timeout=60_000)
        pick(page, "preset", "Forecast airline passengers a year ahead")
        pick(page, "series_picker", "Your own CSV file…")
        page.locator(".st-key-series_file input[type='file']").set_input_files(str(csv_file))
        expect(page.get_by_text("200 values of 'sales' ready").filter(visible=True).first).to_be_visible(timeout=30_000)
        set_number(page, "max_steps", 40)
        set_number(page, "hidden_size", 8)
        page.locator(".st-key-start button").click()
        expect(page.get_by_text("Result:").filter(visible=True).first).to_be_visible(timeout=120_000)
        page.screenshot(path=ARTIFACTS / "train_series_upload.png")
        page.get_by_role("link", name="Forecasting").click()
        chart = page.locator(".st-key-forecast_chart .stPlotlyChart").filter(visible=True).first
        expect(chart).to_be_visible(timeout=60_000)
        expect(chart.get_by_text("sales.csv").first).to_be_attached()
        expect(page.get_by_text("bundled run")).to_have_count(0)
        expect(page.locator(".st-key-anomaly_chart .stPlotlyChart").filter(visible=True).first).to_be_visible(timeout=30_000)
        page.screenshot(path=ARTIFACTS / "forecast_upload.png", full_page=True)
        browser.close()
