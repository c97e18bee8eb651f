"""A classroom against one server: N real sessions on loopback at once.

Each session is a student following the teacher's link to the Train page, pressing Start and watching the run
to its verdict. Two clients:

  ws       (default) Streamlit's own websocket protocol, as the browser speaks it: the page's script runs, the
           Start click (a button trigger), and every timed refresh of the live fragments (the server asks for them
           with AutoRerun; the client sends them back on time, as a browser does). A response is the time from sending
           a run to the server's ScriptFinished for it. Nothing is rendered, so the two cores measure the server.
  browser  headless Chromium pages (a response: from a navigation or click to the expected element on screen).
           On a 2-core machine the browser's chart rendering competes with the server for the same cores.

Reported per N: how many sessions completed (reached the verdict), response p50 / p95 over every run the sessions
made, the page open and the Start click separately, and the server's memory: resident set size (RSS) after a
warm-up session, its peak with N sessions, and (peak - warm) / N per session.

Scenarios:
  preset    the headline preset from its link (/train?preset=vanishing-gradients): shipped precomputed, replayed;
  live      the same link with max_steps=300 and a seed of its own: not precomputed, so the first session starts a real
            training and every other session watches that same training (the shared cache), none trains its own.
  distinct  the classroom where every student picks a seed: N sessions on the headline preset, each with its own seed,
            full budget, so N real trainings compete for the server's slots. Reported besides: each session's verdict
            time (from the moment all of them opened the link) and the last one; the floor measured in the same run,
            N x (a bare fused LSTM loop of 700 steps, B64 T100 H64, one thread, in a process of its own) / cores; and
            last verdict / floor (target <= 1.5 at N = 10 and 20, with UI p95 < 1 s).

    python bench/load.py                      # N = 1, 10, 20, the preset and live scenarios, websocket clients
    python bench/load.py --sessions 20 --scenario live --client browser --port 8620
    python bench/load.py --scenario distinct --sessions 10 20

The load average before each round says how busy the machine was.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import websockets  # noqa: E402
from playwright.async_api import async_playwright, expect  # noqa: E402
from streamlit.proto.BackMsg_pb2 import BackMsg  # noqa: E402
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg  # noqa: E402

from lstm_viz.ui.serve import CHROMIUM, CHROMIUM_ARGS, stop_server, wait_until_healthy  # noqa: E402

# Each scenario gives session `index` of a round of `sessions` its link's query string. Each round of "live" uses its
# own seed, so that it is not served by the previous round's cached run; "distinct" gives every session a seed of its
# own, never the preset's (shipped precomputed) seed 0, nor one of another round.
SCENARIOS = {
    "preset": lambda sessions, index: "preset=vanishing-gradients",
    "live": lambda sessions, index: f"preset=vanishing-gradients&max_steps=300&seed={10 + sessions}",
    "distinct": lambda sessions, index: f"preset=vanishing-gradients&seed={1000 * sessions + index + 1}",
}
DEFAULT_SCENARIOS = ["preset", "live"]
CORES = psutil.cpu_count()
RUN_TIMEOUT_SECONDS = 600  # per session; --timeout changes it (a distinct round of 20 needs longer)
FLOOR_STEPS = 700  # the LSTM of the headline preset solves at about step 700
SETTLED = '[data-test-script-state="notRunning"]'


@dataclass
class SessionResult:
    completed: bool = False
    responses: list[float] = field(default_factory=list)  # seconds, one per navigation or click
    opened: float | None = None  # seconds from the navigation to the page settled
    answered: float | None = None  # seconds from the click on Start to the first chart (or the queue's message)
    by_kind: dict[str, list[float]] = field(default_factory=dict)  # ws client: responses per refresh interval
    dropped: int = 0  # ws client: refreshes of a fragment that a full run replaced (the server never answers those)
    verdict_at: float | None = None  # perf_counter time the verdict reached the client
    capped: bool = False  # the run ended at the server's wall-time cap (LSTM_VIZ_RUN_SECONDS), not by its own rules
    error: str = ""


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


async def settled(page, locator, timeout_ms: float) -> None:
    await expect(locator).to_be_visible(timeout=timeout_ms)
    await expect(page.locator(SETTLED)).to_be_attached(timeout=timeout_ms)


async def student(browser, url: str, result: SessionResult, started: asyncio.Event) -> None:
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    try:
        await started.wait()
        began = time.perf_counter()
        await page.goto(url)
        start = page.locator(".st-key-start button")
        await settled(page, start, 120_000)
        result.opened = time.perf_counter() - began
        result.responses.append(result.opened)
        await expect(start).to_be_enabled(timeout=120_000)
        began = time.perf_counter()
        await start.click()
        # The click's answer: the run's first chart, or the queue's message.
        answer = page.locator(".st-key-loss_chart .stPlotlyChart").filter(visible=True).first.or_(
            page.get_by_text("Waiting for a free training slot").first)
        await expect(answer).to_be_visible(timeout=120_000)
        result.answered = time.perf_counter() - began
        result.responses.append(result.answered)
        await expect(page.get_by_text("Result:").filter(visible=True).first).to_be_visible(
            timeout=RUN_TIMEOUT_SECONDS * 1000)
        result.verdict_at = time.perf_counter()
        result.completed = True
    except Exception as error:  # noqa: BLE001 - a failed session is counted, not fatal
        result.error = f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"
    finally:
        await context.close()


class StreamlitClient:
    """One browser tab's conversation with the server, without the browser: send runs, read ForwardMsgs."""

    def __init__(self, base_url: str, result: SessionResult):
        self.url = base_url.replace("http://", "ws://") + "/_stcore/stream"
        self.result = result
        self.query_string = ""
        self.page_hash = ""
        self.buttons: dict[str, str] = {}  # user key -> widget id
        self.verdict = False
        self.timers: dict[str, float] = {}  # fragment id -> refresh interval (s), as AutoRerun asks
        self.announced: dict[str, float] = {}  # fragment id -> when its AutoRerun last arrived
        self.pending: dict[str, float] = {}  # fragment id ("" for a full run) -> when its run was sent
        self.run_started = 0.0  # when the server last said a run began

    async def run(self, query_string: str, page: str, started: asyncio.Event, deadline: float) -> None:
        async with websockets.connect(self.url, subprotocols=["streamlit"], max_size=2**28,
                                      compression="deflate") as socket:
            self.socket = socket
            reader = asyncio.create_task(self._read())
            try:
                await started.wait()
                self.query_string = query_string
                self.result.opened = await self._rerun(page_name=page)
                if "start" not in self.buttons:
                    raise RuntimeError("no Start button on the page")
                self.result.answered = await self._rerun(trigger=self.buttons["start"])
                loop = asyncio.get_running_loop()
                next_tick = {fragment: loop.time() + interval for fragment, interval in self.timers.items()}
                while not self.verdict:
                    if loop.time() > deadline:
                        raise TimeoutError("no verdict before the deadline")
                    for fragment, interval in list(self.timers.items()):
                        due = next_tick.setdefault(fragment, loop.time() + interval)
                        if loop.time() >= due and fragment not in self.pending:
                            next_tick[fragment] = loop.time() + interval
                            await self._send(fragment=fragment)
                    await asyncio.sleep(0.05)
                self.result.completed = True
            finally:
                reader.cancel()

    async def _send(self, fragment: str = "", trigger: str | None = None, page_name: str = "") -> None:
        message = BackMsg()
        state = message.rerun_script
        state.query_string = self.query_string
        # Opening a page by its name (as a browser does from the address), then staying on the page that ran.
        state.page_script_hash = "" if page_name else self.page_hash
        state.page_name = page_name
        if fragment:
            state.fragment_id = fragment
            state.is_auto_rerun = True
        if trigger is not None:
            widget = state.widget_states.widgets.add()
            widget.id = trigger
            widget.trigger_value = True
        self.pending[fragment] = time.perf_counter()
        await self.socket.send(message.SerializeToString())

    async def _rerun(self, **kwargs) -> float:
        """A full run of the page; its response time."""
        began = time.perf_counter()
        await self._send(**kwargs)
        while "" in self.pending:
            await asyncio.sleep(0.01)
        return time.perf_counter() - began

    async def _read(self) -> None:
        async for frame in self.socket:
            if isinstance(frame, str):
                continue
            message = ForwardMsg()
            message.ParseFromString(frame)
            kind = message.WhichOneof("type")
            if kind == "navigation":  # the page that is running (new_session names app.py's hash)
                self.page_hash = message.navigation.page_script_hash
            elif kind == "page_info_changed":
                self.query_string = message.page_info_changed.query_string
            elif kind == "auto_rerun":
                self.timers[message.auto_rerun.fragment_id] = message.auto_rerun.interval
                self.announced[message.auto_rerun.fragment_id] = time.perf_counter()
            elif kind == "stop_auto_rerun":
                self.timers.clear()
            elif kind == "delta" and message.delta.WhichOneof("type") == "new_element":
                element = message.delta.new_element
                if element.WhichOneof("type") == "button" and "-" in element.button.id:
                    self.buttons[element.button.id.rsplit("-", 1)[1]] = element.button.id
                elif element.WhichOneof("type") == "alert" and "Time limit reached" in element.alert.body:
                    self.result.capped = True
                elif element.WhichOneof("type") == "alert" and "Result:" in element.alert.body:
                    if not self.verdict:
                        self.result.verdict_at = time.perf_counter()
                    self.verdict = True
            elif kind == "session_status_changed" and message.session_status_changed.script_is_running:
                self.run_started = time.perf_counter()
            elif kind == "script_finished":
                status = ForwardMsg.ScriptFinishedStatus.Name(message.script_finished)
                if status == "FINISHED_EARLY_FOR_RERUN":
                    continue  # the same run goes on (st.rerun, a page switch)
                now = time.perf_counter()
                if status == "FINISHED_SUCCESSFULLY":
                    # A full run answers the fragment runs queued before it (Streamlit replaces them by it), and
                    # drops the fragments it did not draw again (their ids change when the page's layout above them
                    # does): as a browser does, stop refreshing those; the server ignores runs of a vanished fragment.
                    done = [key for key, sent in self.pending.items() if not key or sent <= self.run_started]
                    gone = [key for key in self.timers if self.announced.get(key, 0.0) < self.run_started]
                    for key in gone:
                        del self.timers[key]
                        if key in self.pending and key not in done:
                            del self.pending[key]
                            self.result.dropped += 1
                else:
                    # Streamlit runs every fragment queued before a run starts in that one run, then says so once.
                    done = [key for key, sent in self.pending.items() if key and sent <= self.run_started]
                for fragment in done:
                    seconds = now - self.pending.pop(fragment)
                    self.result.responses.append(seconds)
                    kind = f"refresh every {self.timers[fragment]:g} s" if fragment in self.timers else "full run"
                    self.result.by_kind.setdefault(kind if fragment else "full run", []).append(seconds)


async def ws_student(base_url: str, query_string: str, result: SessionResult, started: asyncio.Event) -> None:
    try:
        await StreamlitClient(base_url, result).run(query_string, "train", started,
                                                    asyncio.get_running_loop().time() + RUN_TIMEOUT_SECONDS)
    except Exception as error:  # noqa: BLE001 - a failed session is counted, not fatal
        result.error = f"{type(error).__name__}: {str(error).splitlines()[0][:200] if str(error) else ''}"


class MemorySampler:
    """The server's RSS every 0.2 s while a round runs; keeps the peak."""

    def __init__(self, process: psutil.Process):
        self.process, self.peak, self._stop = process, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, self.process.memory_info().rss)
            except psutil.NoSuchProcess:
                return
            time.sleep(0.2)

    def __enter__(self) -> "MemorySampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def cpu_seconds(processes) -> float:
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def chromium_processes() -> list[psutil.Process]:
    return [p for p in psutil.process_iter(["name"]) if "chrom" in (p.info["name"] or "")]


def bare_lstm_loop_seconds(steps: int = FLOOR_STEPS) -> float:
    """A bare fused LSTM training loop of the headline preset's model (B64 T100 H64, Adam, clipping), one torch
    thread, in a process of its own: what one run's verdict costs at the least (bench/run.py's bare loop)."""
    code = ("import sys, torch; sys.path.insert(0, '.'); torch.set_num_threads(1)\n"
            "from bench.run import bare_loop_seconds_per_step\n"
            "from lstm_viz.runs.presets import preset_config\n"
            f"print(bare_loop_seconds_per_step(preset_config('vanishing-gradients'), 'lstm', {steps}) * {steps})")
    output = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return float(output.stdout.strip().splitlines()[-1])


async def one_round(browser, base_url: str, scenario: str, sessions: int, server: psutil.Process) -> dict:
    queries = [SCENARIOS[scenario](sessions, index) for index in range(sessions)]
    floor_loop = bare_lstm_loop_seconds() if scenario == "distinct" else None
    results = [SessionResult() for _ in range(sessions)]
    started = asyncio.Event()
    load = os.getloadavg()[0]
    clients = lambda: chromium_processes() if browser is not None else [psutil.Process()]  # noqa: E731
    browsers_before = clients()
    server_cpu, browser_cpu = cpu_seconds([server]), cpu_seconds(browsers_before)
    began = time.perf_counter()
    with MemorySampler(server) as memory:
        tasks = [asyncio.create_task(student(browser, f"{base_url}/train?{query}", result, started)
                                     if browser is not None else ws_student(base_url, query, result, started))
                 for query, result in zip(queries, results)]
        await asyncio.sleep(0.5)  # every context open before anyone navigates: they arrive together
        opened = time.perf_counter()
        started.set()
        await asyncio.gather(*tasks)
    wall = time.perf_counter() - began
    load_after = os.getloadavg()[0]
    verdicts = sorted(r.verdict_at - opened for r in results if r.verdict_at is not None)
    responses = [r for result in results for r in result.responses]
    return {
        "scenario": scenario, "sessions": sessions,
        "completed": sum(result.completed for result in results),
        "p50": percentile(responses, 0.5), "p95": percentile(responses, 0.95),
        "open_p50": percentile([r.opened for r in results if r.opened is not None], 0.5),
        "click_p50": percentile([r.answered for r in results if r.answered is not None], 0.5),
        "by_kind": {kind: (percentile(values, 0.5), percentile(values, 0.95), len(values)) for kind in
                    sorted({k for r in results for k in r.by_kind})
                    for values in [[v for r in results for v in r.by_kind.get(kind, [])]]},
        "peak_rss": memory.peak, "wall": wall, "load_before": load,
        "server_cpu": cpu_seconds([server]) - server_cpu,
        "browser_cpu": cpu_seconds(clients()) - browser_cpu,
        "errors": sorted({result.error for result in results if result.error}),
        "dropped": sum(result.dropped for result in results),
        "verdicts": verdicts, "load_after": load_after, "floor_loop": floor_loop,
        "capped": sum(result.capped for result in results),
        "floor": floor_loop * sessions / CORES if floor_loop is not None else None,
    }


def start_server(port: int, log_path: Path, max_trainings: int | None = None,
                 run_seconds: float | None = None) -> subprocess.Popen:
    log = open(log_path, "w")
    env = dict(os.environ)
    if max_trainings is not None:
        env["LSTM_VIZ_MAX_TRAININGS"] = str(max_trainings)
    if run_seconds is not None:
        env["LSTM_VIZ_RUN_SECONDS"] = str(run_seconds)
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port", str(port),
         "--server.disconnectedSessionTTL", "2"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env,
    )
    wait_until_healthy(f"http://127.0.0.1:{port}", server)
    return server


async def main_async(args) -> None:
    base_url = f"http://127.0.0.1:{args.port}"
    global RUN_TIMEOUT_SECONDS
    RUN_TIMEOUT_SECONDS = args.timeout
    server = start_server(args.port, Path(args.log), args.max_trainings, args.run_seconds)
    try:
        process = psutil.Process(server.pid)
        idle = process.memory_info().rss
        async with async_playwright() as playwright:
            browser = None
            if args.client == "browser":
                browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            # Warm-up: one session imports torch and reads the shipped runs; then it leaves.
            await one_round(browser, base_url, "preset", 1, process)
            await asyncio.sleep(5)
            warm = process.memory_info().rss
            print(f"{args.client} clients; server RSS: {idle / 2**20:.0f} MB at start, {warm / 2**20:.0f} MB after a "
                  f"warm-up session ({CORES} CPUs; LSTM_VIZ_MAX_TRAININGS="
                  f"{args.max_trainings or os.environ.get('LSTM_VIZ_MAX_TRAININGS', 'default')})")
            client_column = "Chromium CPU" if args.client == "browser" else "client CPU"
            print("| scenario | N | completed | response p50 | response p95 | server RSS peak | per session "
                  f"| wall | server CPU | {client_column} | load avg before |")
            print("|---|---|---|---|---|---|---|---|---|---|---|")
            for scenario in args.scenario:
                for sessions in args.sessions:
                    row = await one_round(browser, base_url, scenario, sessions, process)
                    per_session = (row["peak_rss"] - warm) / sessions / 2**20
                    print(f"| {scenario} | {sessions} | {row['completed']}/{sessions} | {row['p50']:.2f} s "
                          f"| {row['p95']:.2f} s | {row['peak_rss'] / 2**20:.0f} MB | {per_session:.1f} MB "
                          f"| {row['wall']:.0f} s | {row['server_cpu']:.0f} s | {row['browser_cpu']:.0f} s "
                          f"| {row['load_before']:.1f} |", flush=True)
                    print(f"    page open p50 {row['open_p50']:.2f} s, Start to first chart p50 "
                          f"{row['click_p50']:.2f} s; " + "; ".join(
                              f"{kind}: p50 {p50:.2f} s, p95 {p95:.2f} s ({count} runs)"
                              for kind, (p50, p95, count) in row["by_kind"].items())
                          + (f"; {row['dropped']} refreshes of fragments a full run replaced, unanswered"
                             if row["dropped"] else ""))
                    if row["floor"] is not None:
                        last = row["verdicts"][-1] if len(row["verdicts"]) == sessions else float("nan")
                        print(f"    verdicts (s from opening the link): {', '.join(f'{v:.0f}' for v in row['verdicts'])}"
                              f"; last {last:.0f} s. Floor: {sessions} x {row['floor_loop']:.1f} s (bare fused LSTM "
                              f"loop, {FLOOR_STEPS} steps, one thread) / {CORES} cores = {row['floor']:.0f} s. "
                              f"Last verdict / floor = {last / row['floor']:.2f} (target <= 1.5); UI p95 "
                              f"{row['p95']:.2f} s (target < 1 s); load average {row['load_before']:.1f} before, "
                              f"{row['load_after']:.1f} after"
                              + (f". {row['capped']} run(s) ended at the server's wall-time cap (LSTM_VIZ_RUN_SECONDS), "
                                 "not at their verdict: those verdict times are the cap's" if row["capped"] else ""),
                              flush=True)
                    for error in row["errors"]:
                        print(f"    error: {error}")
                    await asyncio.sleep(5)  # the round's sessions disconnect and are released
            if browser is not None:
                await browser.close()
    finally:
        stop_server(server)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 10, 20])
    parser.add_argument("--scenario", choices=list(SCENARIOS), nargs="+", default=DEFAULT_SCENARIOS)
    parser.add_argument("--port", type=int, default=8620)
    parser.add_argument("--client", choices=("ws", "browser"), default="ws")
    parser.add_argument("--log", default=str(ROOT / "bench" / "load_server.log"))
    parser.add_argument("--timeout", type=float, default=RUN_TIMEOUT_SECONDS,
                        help="seconds a session may wait for its verdict (a distinct round of 20: give it 1800)")
    parser.add_argument("--max-trainings", type=int, default=None,
                        help="the server's LSTM_VIZ_MAX_TRAININGS (default: the environment's, else 2)")
    parser.add_argument("--run-seconds", type=float, default=None,
                        help="the server's LSTM_VIZ_RUN_SECONDS, the wall-time cap per job (default: the "
                             "environment's, else 600); raise it on a loaded machine, or capped runs end the round")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
