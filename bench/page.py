"""The headline preset from the page, in headless Chromium against a real server on loopback.

Measures wall time from clicking Start to the LSTM's test MSE dropping below 0.01 on the page, and the
page's training rate (steps per wall second, drawing included) against a bare PyTorch loop of the same
two models measured in this run. Usage: python bench/page.py
"""
from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import psutil
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a plain script from any folder

from playwright.sync_api import expect, sync_playwright  # noqa: E402

from bench.load import cpu_seconds  # noqa: E402
from bench.run import bare_loop_seconds_per_step  # noqa: E402
from lstm_viz.presets import DEFAULT_PRESET, preset_config  # noqa: E402
from lstm_viz.ui.serve import CHROMIUM, CHROMIUM_ARGS, running_app  # noqa: E402

RUN_TIMEOUT_SECONDS = 180


def metric_value(page, label: str) -> str:
    # filter(visible=True): during a rerun Streamlit keeps a hidden copy of the element beside the new one.
    metric = page.locator('[data-testid="stMetric"]', has_text=label).filter(visible=True).first
    return metric.locator('[data-testid="stMetricValue"]').inner_text()


def main() -> None:
    torch.set_num_threads(1)
    config = preset_config(DEFAULT_PRESET)
    # Measured first, before the server and Chromium run, best of three to dodge other load.
    bare_lstm = min(bare_loop_seconds_per_step(config, "lstm", 100) for _ in range(3))
    bare_rnn = min(bare_loop_seconds_per_step(config, "rnn", 100) for _ in range(3))
    with running_app() as app, sync_playwright() as playwright:
        url = app.url
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1600})
        page.goto(f"{url}/train")
        start = page.locator(".st-key-start button")
        expect(start).to_be_visible(timeout=60_000)
        server_process = psutil.Process(app.process.pid)
        browser_processes = [p for p in psutil.process_iter(["name"]) if "chrom" in (p.info["name"] or "")]

        server_cpu_before, browser_cpu_before = cpu_seconds([server_process]), cpu_seconds(browser_processes)
        start.click()
        clicked = time.perf_counter()
        solved_after = None
        deadline = clicked + RUN_TIMEOUT_SECONDS
        while time.perf_counter() < deadline:
            if solved_after is None:
                try:
                    value = float(metric_value(page, "LSTM: test MSE"))
                except (ValueError, Exception):  # the metric is not drawn yet, or shows a dash
                    value = None
                if value is not None and value < 0.01:
                    solved_after = time.perf_counter() - clicked
            if page.get_by_text("Result:").count():
                break
            time.sleep(0.2)
        finished_after = time.perf_counter() - clicked
        server_cpu = cpu_seconds([server_process]) - server_cpu_before
        browser_cpu = cpu_seconds(browser_processes) - browser_cpu_before
        result = page.locator('[data-testid="stAlert"]', has_text="Result:").filter(visible=True).first
        verdict = result.inner_text() if result.count() else "(no verdict)"
        training_seconds = float(re.sub(r"[^0-9.]", "", metric_value(page, "Training time")))
        steps = int(re.search(r"step ([\d,]+) of", page.content()).group(1).replace(",", ""))
        solved_step = int(re.search(r"solved T=\d+ at step (\d+)", verdict).group(1)) if "solved T=" in verdict else steps
        browser.close()
    # The same work as the page's run: both models until the LSTM solves it, then the RNN alone.
    bare_seconds = solved_step * (bare_lstm + bare_rnn) + (steps - solved_step) * bare_rnn
    print(f"page: LSTM test MSE < 0.01 after {solved_after or float('nan'):.1f} s wall from the click (target < 30 s); "
          f"a bare loop needs {solved_step * (bare_lstm + bare_rnn):.1f} s for those {solved_step} steps of both models")
    print(f"page: {steps} steps in {finished_after:.1f} s wall, {training_seconds:.1f} s of it training "
          f"({training_seconds / finished_after:.0%} duty cycle)")
    print(f"page: the same work in a bare PyTorch loop takes {bare_seconds:.1f} s: the page trains at "
          f"{bare_seconds / finished_after:.2f}x its speed (target >= 0.85x)")
    print(f"CPU during the run: server {server_cpu:.1f} s, Chromium {browser_cpu:.1f} s "
          f"(of {2 * finished_after:.1f} s on two cores)")
    print(verdict)


if __name__ == "__main__":
    main()
