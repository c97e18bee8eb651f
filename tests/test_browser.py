"""The real app in headless Chromium: the live fragment ticks, the charts render and the verdict appears."""
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

playwright_api = pytest.importorskip("playwright.sync_api")
sync_playwright, expect = playwright_api.sync_playwright, playwright_api.expect

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
STARTUP_TIMEOUT = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_healthy(url: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {server.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read().decode().strip() == "ok":
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"streamlit did not answer {url}/_stcore/health within {STARTUP_TIMEOUT} s")


@pytest.fixture(scope="module")
def app_url():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM}")
    port = free_port()
    ARTIFACTS.mkdir(exist_ok=True)
    log = open(ARTIFACTS / "streamlit.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port", str(port)],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_healthy(url, server)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 2600})
    page = context.new_page()
    yield page
    context.close()


def set_number(page, key: str, value) -> None:
    field = page.locator(f".st-key-{key} input")
    field.fill(str(value))
    field.press("Enter")
    expect(field).to_have_value(str(value))


def test_home_page_links_to_the_headline_experiment(app_url, page):
    page.goto(app_url)
    button = page.locator(".st-key-open_headline button")
    expect(button).to_be_visible(timeout=30_000)
    page.screenshot(path=ARTIFACTS / "home.png")
    button.click()
    expect(page.locator(".st-key-start button")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("Vanishing gradients", exact=False).first).to_be_visible()


def test_training_live_draws_charts_and_the_verdict(app_url, page):
    page.goto(f"{app_url}/train")
    start = page.locator(".st-key-start button")
    expect(start).to_be_visible(timeout=30_000)
    for key, value in (("max_steps", 60), ("hidden_size", 8), ("length", 20)):
        set_number(page, key, value)
        expect(page.locator('[data-test-script-state="notRunning"]')).to_be_attached(timeout=30_000)
    start.click()
    expect(page.locator(".st-key-loss_chart .stPlotlyChart")).to_be_visible(timeout=60_000)
    expect(page.locator(".st-key-loss_chart .main-svg").first).to_be_visible()
    page.screenshot(path=ARTIFACTS / "train_running.png")
    expect(page.get_by_text("Result:")).to_be_visible(timeout=120_000)
    expect(page.get_by_text("stayed at").or_(page.get_by_text("solved T="))).to_be_visible()
    expect(page.locator(".st-key-internals_chart .stPlotlyChart")).to_be_visible(timeout=30_000)
    expect(page.locator(".st-key-internals_chart .heatmaplayer").first).to_be_attached()
    expect(page.get_by_text("step 60 of 60")).to_be_visible()
    page.screenshot(path=ARTIFACTS / "train_finished.png")
