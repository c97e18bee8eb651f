"""In headless Chromium: upload a CSV series on the Train page, train on it, and see the forecast chart."""
import numpy as np
import pytest

from tests.browser_support import ARTIFACTS, app_server, app_url, browser, expect, page, set_number, wait_until_idle  # noqa: F401

pytestmark = pytest.mark.browser

APP_LOG = "streamlit_series.log"
VIEWPORT = {"width": 1400, "height": 1800}


def pick(page, key: str, option: str) -> None:
    page.locator(f".st-key-{key} input[role='combobox']").filter(visible=True).first.click()
    page.get_by_role("option", name=option).first.click()
    wait_until_idle(page)


def test_upload_a_csv_train_on_it_and_see_the_forecast(app_url, page, tmp_path):
    steps = np.arange(200)
    values = 10 + 3 * np.sin(2 * np.pi * steps / 12) + 0.05 * steps
    csv_file = tmp_path / "sales.csv"
    csv_file.write_text("day,sales\n" + "".join(f"{2000 + i},{v:.3f}\n" for i, v in enumerate(values)))
    page.goto(f"{app_url}/train")
    expect(page.locator(".st-key-start button")).to_be_visible(timeout=60_000)
    pick(page, "preset_box", "Forecast airline passengers a year ahead")
    pick(page, "series_picker", "Your own CSV file…")
    page.locator(".st-key-series_file input[type='file']").set_input_files(str(csv_file))
    expect(page.get_by_text("200 values of “sales” ready").filter(visible=True).first).to_be_visible(timeout=30_000)
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
