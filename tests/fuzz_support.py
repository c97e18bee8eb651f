"""Generated hostile inputs for the fuzz tests (tests/test_fuzz_inputs.py) and bench/fuzz.py, which runs the same
generators at ten times the count: model files (structured edits of a real export's safetensors header and
metadata) and URL values (random types, huge numbers, NaN, unicode, nesting) for every key of every page.

Each generator is a hypothesis strategy; `run_model_file_cases` and `run_url_cases` draw a fixed, derandomised
sequence of `count` cases, check each ends in the project's own error or a valid result, and time it. Model files
run in a fresh process (`python -m tests.fuzz_support model-files N`): each import's Python allocations are traced
(tracemalloc) and the rise of the process's peak RSS during it is taken (resource.getrusage; it covers torch and
safetensors too). Times are CPU times with the garbage collector paused: waiting for a core on a shared machine,
or collecting the generator's own heap, is not an input's cost.
"""
from __future__ import annotations

import gc
import json
import math
import resource
import struct
import sys
import time
import tracemalloc
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

MODEL_MEMORY_BOUND_MB = 100  # issue 10: any crafted file costs < 100 MB and < 1 s before it is refused
MODEL_TIME_BOUND_S = 1.0


@dataclass
class FuzzReport:
    kind: str
    cases: int = 0
    accepted: int = 0
    refused: int = 0
    failures: list[str] = field(default_factory=list)  # cases that ended in anything but our error or a valid result
    slowest_seconds: float = 0.0
    slowest_case: str = ""
    peak_rss_delta_mb: float = 0.0  # model files: the largest rise of the process's peak RSS during one import
    rss_case: str = ""  # the case that raised it
    rss_growth_mb: float = 0.0  # the peak RSS above the warm baseline after every case (the generator's data included)
    peak_python_mb: float = 0.0  # the largest Python allocation peak (tracemalloc) of one case's import
    hungriest_case: str = ""
    slow_cases: list[str] = field(default_factory=list)  # cases over the report's slow threshold
    baseline_seconds: float = 0.0  # the unedited file (model files), measured in the same run

    def to_dict(self) -> dict:
        return {key: value for key, value in self.__dict__.items() if not key.startswith("_")}


def _describe(value, limit: int = 160) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit - 20]}...({len(text):,} chars)"


# ---------------------------------------------------------------------------------------------------------------
# values a hostile editor types into a JSON field or a URL
NASTY_NUMBERS = [0, 1, -1, -3, 6.0, 1.5, 1e8, 10**8, 2**31, 2**63, 2**70, 10**400, -(2**70), 1e308, 1e-310,
                 math.nan, math.inf, -math.inf, True, False]
NASTY_TEXTS = ["", " ", "[]", "{}", "null", "NaN", "Infinity", "-0", "0x10", "1_000", "１２", "٣", "\u202e", "\x00",
               "<script>alert(1)</script>", "**bold** $x^2$", "lstm", "adding", "F32"]


def long_text():
    """Texts of up to 6,000 repeated characters or pieces (built lazily, so failure reports stay short)."""
    return st.builds(lambda piece, n: piece * n, st.sampled_from(["a", "💥", "[", "{", '{"a":', ",", "9", " ", "é"]),
                     st.integers(min_value=1, max_value=6000))


def _nested(depth: int):
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


def nasty_value():
    return st.one_of(
        st.sampled_from(NASTY_NUMBERS),
        st.sampled_from(NASTY_TEXTS),
        long_text(),
        st.integers(min_value=-2**80, max_value=2**80),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=24),
        st.none(),
        st.lists(st.integers(min_value=-5, max_value=5), max_size=3),
        st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
        st.integers(min_value=0, max_value=60).map(_nested),
    )


# ---------------------------------------------------------------------------------------------------------------
# model files
def base_export() -> tuple[dict, bytes]:
    """A real export (lstm_viz.io.export.model_bytes) of a small trained-shape LSTM with its run config, split into
    its header (a dict) and its tensor bytes."""
    from lstm_viz.io.export import model_bytes
    from lstm_viz.core.model import build_model
    from lstm_viz.core.trainer import RunConfig

    config = RunConfig(task="adding", length=20, archs=("lstm",), hidden_size=6, max_steps=10, eval_size=32,
                       probe_size=4, trace_examples=2, seed=3)
    model = build_model(config.model_config("lstm"), seed=config.seed)
    data = model_bytes(model, config, steps_trained=10)
    length = int.from_bytes(data[:8], "little")
    return json.loads(data[8:8 + length]), data[8 + length:]


def assemble(header: dict | str | bytes, body: bytes) -> bytes:
    raw = header if isinstance(header, bytes) else (header if isinstance(header, str) else
                                                     json.dumps(header, allow_nan=True)).encode("utf-8", "surrogatepass")
    return struct.pack("<Q", len(raw)) + raw + body


MODEL_FIELDS = ("arch", "input_size", "output_size", "hidden_size", "num_layers", "dropout", "forget_bias", "readout")
RUN_FIELDS = ("task", "task_options", "length", "archs", "hidden_size", "num_layers", "dropout", "forget_bias",
              "optimizer", "learning_rate", "batch_size", "clip_grad_norm", "seed", "max_steps", "eval_every",
              "eval_size", "probe_every", "probe_size", "trace_examples", "stop_when_solved", "patience",
              "max_checkpoints", "max_step_gflop")


def edit():
    """One edit of a file: (what, where, value). Applied by apply_edits."""
    return st.one_of(
        st.tuples(st.just("model_config"), st.sampled_from(MODEL_FIELDS + ("unknown",)), nasty_value()),
        st.tuples(st.just("run_config"), st.sampled_from(RUN_FIELDS + ("unknown",)), nasty_value()),
        st.tuples(st.just("config_text"), st.sampled_from(("model_config", "run_config", "steps_trained", "format")),
                  st.one_of(st.sampled_from(NASTY_TEXTS), st.text(max_size=40), long_text(),
                            st.integers(0, 100_000).map(lambda n: "[" * n),
                            st.integers(0, 100_000).map(lambda n: '{"a":' * n + "1" + "}" * n))),
        st.tuples(st.just("metadata"), st.sampled_from(("__metadata__", "format", "model_config", "x")), nasty_value()),
        st.tuples(st.just("tensor"), st.sampled_from(("shape", "dtype", "data_offsets", "drop", "rename", "add")),
                  nasty_value()),
        # The F1 attack made consistent: a size edited in both configs and in the weights' shapes.
        st.tuples(st.just("resize"), st.sampled_from(("input_size", "hidden_size", "output_size", "num_layers")),
                  st.sampled_from([0, 2, 7, 513, 10**5, 10**8, 2**40])),
        st.tuples(st.just("sizes"), st.sampled_from(("eval_size", "probe_size", "trace_examples", "length", "seed",
                                                     "batch_size", "max_checkpoints")),
                  st.sampled_from([0, 1, 5, 2048, 2049, 20_000, 100_000, 10**9, 2**31, 2**70, -1])),
        st.tuples(st.just("raw"), st.sampled_from(("length", "truncate", "flip", "header_text")),
                  st.integers(min_value=0, max_value=2**64 - 1)),
    )


def _set_config(metadata: dict, key: str, field_name: str, value) -> None:
    try:
        values = json.loads(metadata[key])
    except (KeyError, ValueError, TypeError, RecursionError):  # an earlier edit replaced it by junk: nothing to edit
        return
    if isinstance(values, dict):
        values[field_name] = value
        metadata[key] = json.dumps(values, allow_nan=True)


def apply_edits(header: dict, body: bytes, edits: list) -> bytes:
    header = json.loads(json.dumps(header))
    metadata = header.setdefault("__metadata__", {})
    tensors = [key for key in header if key != "__metadata__"]
    raw_edits = []
    for what, where, value in edits:
        if what == "model_config" and isinstance(metadata, dict):
            _set_config(metadata, "model_config", where, value)
        elif what == "run_config" and isinstance(metadata, dict):
            _set_config(metadata, "run_config", where, value)
        elif what == "config_text" and isinstance(metadata, dict):
            metadata[where] = value
        elif what == "metadata":
            if where == "__metadata__":
                header["__metadata__"] = metadata = value
            elif isinstance(metadata, dict):
                metadata[where] = value
        elif what == "tensor" and [key for key in header if key != "__metadata__"]:
            tensors = [key for key in header if key != "__metadata__"]
            name = tensors[len(str(value)) % len(tensors)]
            if where == "drop":
                header.pop(name, None)
            elif where == "rename":
                header[str(value)[:80] or "?"] = header.pop(name)
            elif where == "add":
                header[f"recurrent.extra_{len(header)}"] = {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}
            elif isinstance(header[name], dict):
                header[name][where] = value
        elif what == "resize" and isinstance(metadata, dict):
            _set_config(metadata, "model_config", where, value)
            _set_config(metadata, "run_config", where, value)
            for name in tensors:
                entry = header.get(name)
                if isinstance(entry, dict) and where in ("input_size", "hidden_size") and isinstance(entry.get("shape"), list) and entry["shape"]:
                    entry["shape"] = [*entry["shape"][:-1], value]
        elif what == "sizes" and isinstance(metadata, dict):
            _set_config(metadata, "run_config", where, value)
        elif what == "raw":
            raw_edits.append((where, value))
    try:
        data = assemble(header, body)
    except (TypeError, ValueError, RecursionError):  # a value json cannot write (e.g. a surrogate): the edit is dropped
        data = assemble(json.loads(json.dumps(header, default=str, allow_nan=True)), body)
    for where, value in raw_edits:
        if where == "length":
            data = struct.pack("<Q", value) + data[8:]
        elif where == "truncate":
            data = data[: value % (len(data) + 1)]
        elif where == "flip" and data:
            position = value % len(data)
            data = data[:position] + bytes([(data[position] + 1 + value // len(data)) % 256]) + data[position + 1:]
        elif where == "header_text":
            data = assemble(b"[" * (value % 200_000), body)
    return data


def check_model_file(data: bytes) -> str:
    """'accepted' or 'refused'; raises AssertionError for any other ending (a traceback the user would see)."""
    from lstm_viz.rules.errors import LstmVizError
    from lstm_viz.io.model_upload import read_uploaded_model

    try:
        upload = read_uploaded_model(data, "fuzz.safetensors")
    except LstmVizError:
        return "refused"
    except Exception as error:  # noqa: BLE001 - what the fuzz test exists to find
        raise AssertionError(f"{type(error).__name__}: {str(error)[:200]}") from error
    upload.model.config.validate()
    upload.run_config.validate()
    return "accepted"


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def run_model_file_cases(count: int, slow_seconds: float = MODEL_TIME_BOUND_S) -> FuzzReport:
    import torch

    torch.set_num_threads(1)
    header, body = base_export()
    report = FuzzReport("model files")
    check_model_file(assemble(header, body))  # warm: imports, the first model built
    check_model_file(apply_edits(header, body, [("resize", "hidden_size", 7)]))
    timings = []
    for _ in range(20):
        started = time.thread_time()
        check_model_file(assemble(header, body))
        timings.append(time.thread_time() - started)
    report.baseline_seconds = sorted(timings)[len(timings) // 2]  # CPU time, median of 20
    baseline = _peak_rss_mb()
    report._slowest = []

    @settings(max_examples=count, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(st.lists(edit(), min_size=1, max_size=3))
    def one_case(edits):
        data = apply_edits(header, body, edits)
        peak_before = _peak_rss_mb()
        tracemalloc.start()
        gc.disable()  # a collection of the generator's heap is not the import's cost
        started = time.thread_time()  # CPU time: on a shared machine, waiting for a core is not the input's cost
        try:
            outcome = check_model_file(data)
        except AssertionError as error:
            report.failures.append(f"{error} <- {_describe(edits)}")
            outcome = "failed"
        seconds = time.thread_time() - started
        gc.enable()
        python_peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        if python_peak > report.peak_python_mb:
            report.peak_python_mb = python_peak
            report.hungriest_case = f"{outcome}, {python_peak:.1f} MB: {_describe(edits)}"
        report.cases += 1
        report.accepted += outcome == "accepted"
        report.refused += outcome == "refused"
        if seconds > report.slowest_seconds:
            report.slowest_seconds, report.slowest_case = seconds, f"{outcome} in {seconds:.3f} s: {_describe(edits)}"
        report._slowest = sorted([*report._slowest, (seconds, f"{outcome}: {_describe(edits)}", data)],
                                 key=lambda item: item[0], reverse=True)[:5]
        if seconds > slow_seconds:
            report.slow_cases.append(f"{outcome} in {seconds:.3f} s: {_describe(edits)}")
        peak = _peak_rss_mb()
        report.rss_growth_mb = peak - baseline
        if peak - peak_before > report.peak_rss_delta_mb:
            report.peak_rss_delta_mb = peak - peak_before
            report.rss_case = f"{outcome}, peak RSS +{peak - peak_before:.1f} MB: {_describe(edits)}"

    one_case()
    _retime(report, check_model_file, slow_seconds)
    return report


def _retime(report: FuzzReport, run, slow_seconds: float) -> None:
    """The five slowest inputs timed again, best of five: on a shared machine a first timing is often a pause of
    this process, not the input's cost. The slowest case and the slow cases are judged on these best times."""
    retimed = []
    for first, label, data in report._slowest:
        best = math.inf
        for _ in range(5):
            gc.disable()
            started = time.thread_time()
            try:
                run(data)
            except AssertionError:
                pass
            best = min(best, time.thread_time() - started)
            gc.enable()
        retimed.append((best, first, label))
    if retimed:
        best, first, label = max(retimed)
        report.slowest_seconds = best
        report.slowest_case = f"best of 5 {best * 1e3:.2f} ms (first timing {first * 1e3:.1f} ms): {label}"
    report.slow_cases = [f"best of 5 {best:.3f} s: {label}" for best, _, label in retimed if best > slow_seconds]
    del report._slowest


# ---------------------------------------------------------------------------------------------------------------
# URL values
def url_text():
    """What a link can carry: any text, but mostly the texts a hostile or careless editor would write."""
    json_values = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8)),
                               lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                               max_leaves=8)
    return st.one_of(
        st.sampled_from(NASTY_TEXTS),
        long_text(),
        st.text(max_size=30),
        st.integers(min_value=-2**200, max_value=2**200).map(str),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.sampled_from(["nan", "inf", "-inf", "1e999", "1" * 5000, "0", "-1", "1.0", "true", "0.0", "1e-310"]),
        json_values.map(lambda v: json.dumps(v, allow_nan=True)),
        st.integers(min_value=0, max_value=20_000).map(lambda n: "[" * n),
        st.lists(st.text(max_size=6), max_size=80).map(",".join),
    )


# Values a page accepts, at and near the edges of its ranges: where a page, not the parser, would break.
PLAUSIBLE = st.sampled_from(["-1", "0", "1", "2", "5", "999999", "1000000", "2147483647", "0.05", "3.0", "10.0",
                             "1e-06", "lstm", "gru", "rnn", "sandbox", "hand", "span", "match", "text", "feature",
                             "0.5", "3,7", "0,999,5", "copy", "brackets-rnn-lstm", "sentiment-rnn-lstm",
                             '{"forecast": {"horizon": 3}}', '{"forecast": {"series": "co2"}}', "(a [b])", "forecast"])
# Keys that choose which part of a page is drawn: each link takes one of these, so the parts behind them are reached.
MODES = {
    "try_source": ["brackets-rnn-lstm", "sentiment-rnn-lstm"], "cell_mode": ["sandbox", "trained"],
    "gm_source": ["text", "test"], "gm_search": ["span", "feature"], "gm_pick": ["hand", "feature", "active"],
    "gm_span_method": ["match", "contrast"], "gm_text": ["1,2,3", ""],
    "glab_tab": ["Clamp the forget gate", "Gradient clipping", "Why it vanishes", "Recurrent weight scale"],
    "task": ["copy", "forecast", "brackets", "sentiment"],
    "tr_task": ["dates", "eng-fra"], "tr_models": ["shipped", "session"],
}
EDGE_LINKS = 4  # every key at its range's low end, high end, just below, just above


def page_of(path: str) -> str:
    """The name of the page schema (lstm_viz.ui.page_schemas) of a page file."""
    from lstm_viz.ui import page_schemas

    return next(schema.name for schema in page_schemas.PAGES if schema.path == path)


def open_page_cleanly(path: str, query: dict) -> float:
    """Open the page with `query` in its address as a browser would; fails unless it shows no exception. Seconds."""
    from streamlit.testing.v1 import AppTest

    from tests.app_support import APP, TIMEOUT

    started = time.perf_counter()
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in query.items():
        at.query_params[key] = value
    at.switch_page(path).run()
    assert not at.exception, (path, {k: v[:80] for k, v in query.items()}, at.exception)
    return time.perf_counter() - started


def collect_page_keys() -> dict:
    """{name: its PageSchema}: every page's table, and the settings every page shares (presenter mode)."""
    from lstm_viz.ui import page_schemas

    return dict(page_schemas.SCHEMAS)


def edge_links(schema) -> list[dict]:
    """EDGE_LINKS links, each putting every key whose validator knows its edges at the same edge (low, high, below,
    above) and the mode keys at one of their modes."""
    edges = {f.key: list(getattr(f.valid, "edges", list)()) for f in schema.fields}
    links = []
    for link in range(EDGE_LINKS):
        query = {key: values[link % len(values)] for key, values in edges.items() if values}
        query.update({key: modes[link % len(modes)] for key, modes in MODES.items() if key in schema.keys})
        links.append(query)
    return links


def random_links(keys):
    """Links setting every key of a page at once: mode keys mostly to a mode, the rest to anything a URL can hold."""
    return st.fixed_dictionaries({key: st.one_of(st.sampled_from(MODES[key]), url_text()) if key in MODES
                                  else st.one_of(url_text(), PLAUSIBLE) for key in sorted(keys)})


PAGES = ("pages/home.py", "pages/train.py", "pages/try_it.py", "pages/forecast.py", "pages/gates_memory.py",
         "pages/gradient_lab.py", "pages/inside_cell.py", "pages/length_sweep.py", "pages/import_model.py",
         "pages/translate.py", "pages/gestures.py", "pages/music.py")


def check_url_value(schema, key: str, text: str) -> str:
    """One key's value through the same fields a page's every run reads; the accepted value must have its default's
    type, pass its validator, and come back unchanged from the address the page then writes."""
    from lstm_viz.ui.page_state import read_query

    values, refused = read_query(schema, {key: text})
    if key in refused:
        return "refused"
    value, default = values[key], schema.by_key[key].default
    if type(default) is not type(value) and not (isinstance(default, float) and type(value) is float):
        raise AssertionError(f"{key}={text[:60]!r} gave a {type(value).__name__}, its default is a {type(default).__name__}")
    again, refused_again = read_query(schema, {key: schema.by_key[key].text(value)})
    if key in refused_again or again[key] != value:
        raise AssertionError(f"{key}={text[:60]!r}: the address written back does not read back the same")
    return "accepted"


def run_url_cases(pages: dict, count: int, slow_seconds: float = 0.05) -> FuzzReport:
    """`pages`: {name: its PageSchema}. Each case picks a key of some page and a value for it."""
    keys = [(page, key) for page, schema in sorted(pages.items()) for key in sorted(schema.keys)]
    report = FuzzReport("URL values (engine)")

    @settings(max_examples=count, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(st.sampled_from(keys), url_text())
    def one_case(page_key, text):
        page, key = page_key
        gc.disable()
        started = time.thread_time()
        try:
            outcome = check_url_value(pages[page], key, text)
        except Exception as error:  # noqa: BLE001
            report.failures.append(f"{type(error).__name__}: {str(error)[:200]} <- {page} {key}={_describe(text)}")
            outcome = "failed"
        seconds = time.thread_time() - started
        gc.enable()
        report.cases += 1
        report.accepted += outcome == "accepted"
        report.refused += outcome == "refused"
        if seconds > report.slowest_seconds:
            report.slowest_seconds, report.slowest_case = seconds, f"{outcome} in {seconds * 1e3:.2f} ms: {key}={_describe(text)}"
        if seconds > slow_seconds:
            report.slow_cases.append(f"{outcome} in {seconds * 1e3:.1f} ms: {page} {key}={_describe(text)}")

    one_case()
    return report


def main(argv: list[str]) -> int:
    kind, count = argv[0], int(argv[1])
    if kind != "model-files":
        raise SystemExit("usage: python -m tests.fuzz_support model-files COUNT")
    print(json.dumps(run_model_file_cases(count).to_dict()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
