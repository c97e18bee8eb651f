"""Start the app as a real server on a free loopback port: for the browser tests and the page benchmarks."""
from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from dataclasses import dataclass
from typing import Iterator
from lstm_viz.rules import paths

ROOT = paths.PROJECT_DIR
CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps trying hosts this closed network refuses.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
STARTUP_TIMEOUT_SECONDS = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_healthy(url: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
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
    raise TimeoutError(f"streamlit did not answer {url}/_stcore/health within {STARTUP_TIMEOUT_SECONDS} s")


def stop_server(server: subprocess.Popen) -> None:
    """Ask the server to end, and kill it if it has not within 10 s: a test or bench never leaves one behind."""
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


@dataclass(frozen=True)
class AppServer:
    url: str
    process: subprocess.Popen


@contextlib.contextmanager
def running_app(log_path: Path | None = None, *extra_flags: str) -> Iterator[AppServer]:
    """`streamlit run app.py` on a free port with optional extra `--flag value`s; always stops the server."""
    port = free_port()
    log = open(log_path, "w") if log_path else subprocess.DEVNULL
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port", str(port),
         *extra_flags],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_healthy(url, server)
        yield AppServer(url, server)
    finally:
        stop_server(server)
        if log_path:
            log.close()
