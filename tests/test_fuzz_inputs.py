"""Fuzzing every way a hostile input gets in (issue 10): crafted model files and URL values.

Each case must end in the project's own error (LstmVizError) or a valid result, never another exception; crafted
model files must stay under the memory bound. Counts per CI run: 1,500 model files, 1,500 URL values through the
parser every page uses, and per page, through AppTest, four links with every key at an edge of its range and two random links. bench/fuzz.py
runs the same generators at 30,000 inputs and reports the slowest and most memory-hungry case.
"""
import json
import os
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from lstm_viz.ui import url_rules, url_state
from tests.app_support import APP, TIMEOUT, clear_caches  # noqa: F401 - clear_caches is an autouse fixture
from tests.fuzz_support import MODEL_MEMORY_BOUND_MB, ROOT, run_url_cases, url_text

MODEL_FILE_CASES = 1500
URL_VALUE_CASES = 1500
LINKS_PER_PAGE = int(os.environ.get("LSTM_VIZ_FUZZ_LINKS", 2))  # random links per page; bench/fuzz.py raises it
PAGES = ("pages/home.py", "pages/train.py", "pages/try_it.py", "pages/forecast.py", "pages/gates_memory.py",
         "pages/gradient_lab.py", "pages/inside_cell.py", "pages/length_sweep.py", "pages/import_model.py")


def test_crafted_model_files_end_in_our_error_and_stay_under_the_memory_bound():
    # A fresh process: its peak RSS above the warm baseline is what the crafted files cost (and the generator).
    result = subprocess.run([sys.executable, "-W", "ignore", "-m", "tests.fuzz_support", "model-files",
                             str(MODEL_FILE_CASES)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.splitlines()[-1])
    assert report["cases"] == MODEL_FILE_CASES
    assert report["failures"] == []
    assert report["accepted"] > 0 and report["refused"] > 0  # the edits reach both endings
    assert report["peak_rss_delta_mb"] < MODEL_MEMORY_BOUND_MB, report["rss_case"]
    assert report["peak_python_mb"] < MODEL_MEMORY_BOUND_MB, report["hungriest_case"]


@pytest.fixture(scope="module")
def page_keys() -> dict:
    """{page: (its URL defaults, its own rules)}, as each page declares them on its first run."""
    from streamlit.testing.v1 import AppTest

    for page in PAGES:
        at = AppTest.from_file(APP, default_timeout=TIMEOUT)
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
    return {page: (url_state.PAGE_DEFAULTS[page], url_state.PAGE_RULES[page]) for page in url_state.PAGE_DEFAULTS}


def test_every_url_key_of_every_page_has_a_rule(page_keys):
    # A flag needs no rule: reading it as 1/0/true/false is its whole check.
    unruled = [(page, key) for page, (defaults, rules) in page_keys.items() for key, default in defaults.items()
               if key not in rules and key not in url_rules.RULES and not isinstance(default, bool)]
    assert unruled == []
    assert set(page_keys) >= {"train", "try_it", "forecast", "gates_memory", "gradient_lab", "length_sweep"}


def test_url_values_for_every_key_are_parsed_or_refused(page_keys):
    report = run_url_cases(page_keys, URL_VALUE_CASES)
    assert report.cases == URL_VALUE_CASES
    assert report.failures == []
    assert report.accepted > 0 and report.refused > 0


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
}
EDGE_LINKS = 4  # every key at its range's low end, high end, just below, just above


def _page_of(path: str) -> str:
    return {"pages/inside_cell.py": next((p for p in url_state.PAGE_DEFAULTS if "cell_mode" in p), "")}.get(
        path, path.removeprefix("pages/").removesuffix(".py"))


def _open_clean(path: str, query: dict) -> None:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in query.items():
        at.query_params[key] = value
    at.switch_page(path).run()
    assert not at.exception, (path, {k: v[:80] for k, v in query.items()}, at.exception)


@pytest.mark.parametrize("path", [p for p in PAGES if p not in ("pages/home.py", "pages/import_model.py")])
def test_links_at_the_edges_and_random_links_open_every_page_cleanly(page_keys, path):
    defaults, rules = page_keys[_page_of(path)]
    edges = {key: list(getattr(rules.get(key) or url_rules.RULES.get(key), "edges", list)()) for key in defaults}
    for link in range(EDGE_LINKS):
        query = {key: values[link % len(values)] for key, values in edges.items() if values}
        query.update({key: modes[link % len(modes)] for key, modes in MODES.items() if key in defaults})
        _open_clean(path, query)

    links = st.fixed_dictionaries({key: st.one_of(st.sampled_from(MODES[key]), url_text()) if key in MODES
                                   else st.one_of(url_text(), PLAUSIBLE) for key in sorted(defaults)})

    @settings(max_examples=LINKS_PER_PAGE, derandomize=True, database=None, deadline=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(links)
    def open_link(query):
        _open_clean(path, query)

    open_link()
