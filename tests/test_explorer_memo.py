"""The explorer pages' figures and traces are built once per server for every session exploring the same run
(lstm_viz.ui.memo.explorer_memo), keyed by the run's identity: a second session opening the same view of the shipped
run builds nothing, and a different run never gets another's values."""
from types import SimpleNamespace

from lstm_viz.figures import memory as memory_figures
from lstm_viz.runs.bundled import load_bundled_run
from lstm_viz.ui.inside_cell import traces as cell_traces
from lstm_viz.ui import memo, session_run
from tests import app_support
from tests.app_support import clear_caches, plotly_charts  # noqa: F401 - clear_caches is an autouse fixture

TIMEOUT = 120


def counting(monkeypatch, target, name: str) -> list:
    calls = []
    original = getattr(target, name)

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(target, name, counted)
    return calls


def test_two_sessions_of_gates_and_memory_build_its_heatmaps_once(monkeypatch):
    calls = counting(monkeypatch, memory_figures, "ordered_heatmaps")
    first = app_support.open_page("pages/gates_memory.py", timeout=TIMEOUT)
    built = len(calls)
    assert built == len(load_bundled_run().runs)  # the LSTM's, and the other two cells' for comparison
    # A new AppTest is a new session: its session state (where the old per-session memo lived) starts empty.
    second = app_support.open_page("pages/gates_memory.py", timeout=TIMEOUT)
    assert len(calls) == built
    assert plotly_charts(second).keys() == plotly_charts(first).keys()
    second.selectbox(key="gm_order").set_value("index").run()  # another view: built, once
    assert len(calls) == built + len(load_bundled_run().runs)


def test_two_sessions_of_inside_the_cell_trace_each_checkpoint_once(monkeypatch):
    calls = counting(monkeypatch, cell_traces, "trace")
    first = app_support.open_page("pages/inside_cell.py", timeout=TIMEOUT)
    built = len(calls)
    assert built == len(load_bundled_run().runs)  # the cell shown and the two others, at their checkpoints
    second = app_support.open_page("pages/inside_cell.py", timeout=TIMEOUT)
    assert len(calls) == built
    assert [l.value for l in second.latex] == [l.value for l in first.latex]


class QueuedTraining:
    """Stands for the session's training waiting for a slot: compared and hashed by identity, weakly referenceable."""


def test_the_shipped_run_is_keyed_by_itself_even_while_the_session_waits_for_its_own(monkeypatch):
    """A session whose run waits for a training slot explores the shipped run meanwhile: its values must not be
    filed under the waiting run, which would show them for that run's checkpoints once it trains."""
    bundled = session_run.ExploredRun(trainer=load_bundled_run(), source="bundled", run_key="bundled:x")
    monkeypatch.setattr(session_run, "subscription", lambda: None)
    idle = memo.run_identity(bundled)
    waiting = SimpleNamespace(replay=None, worker=QueuedTraining())
    monkeypatch.setattr(session_run, "subscription", lambda: waiting)
    assert memo.run_identity(bundled) == idle
    session = session_run.ExploredRun(trainer=QueuedTraining(), source="session", run_key=1)
    assert memo.run_identity(session) == memo.token_of(waiting.worker) != idle


def test_results_put_by_a_job_are_read_by_every_session_and_the_oldest_go_first():
    """The Gradient lab's what-if results: a scheduler job puts them, any session gets them; bounded."""
    store = memo.SharedMemo(2)
    assert store.get("a") is None
    store.put("a", 1)
    store.put("b", 2)
    assert store.get("a") == 1  # read: now the most recent
    store.put("c", 3)
    assert store.get("b") is None and store.get("a") == 1 and store.get("c") == 3
    assert store("c", lambda: "rebuilt") == 3  # a put value is a finished entry for the build-once memo too
