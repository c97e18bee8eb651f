"""Fuzzing every way a hostile input gets in (issue 10): crafted model files and URL values.

Each case must end in the project's own error (LstmVizError) or a valid result, never another exception; crafted
model files must stay under the memory bound. Counts per CI run: 1,500 model files, 1,500 URL values through the
fields every page reads, and per page, through AppTest, four links with every key at an edge of its range and two
random links. bench/fuzz.py runs the same generators at 30,000 inputs and reports the slowest and hungriest case.
"""
import json
import os
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, Phase, given, settings

from tests.app_support import clear_caches  # noqa: F401 - clear_caches is an autouse fixture
from tests.fuzz_support import (
    MODEL_MEMORY_BOUND_MB, PAGES, ROOT, collect_page_keys, edge_links, open_page_cleanly, page_of, random_links, run_url_cases,
)

MODEL_FILE_CASES = 1500
URL_VALUE_CASES = 1500
LINKS_PER_PAGE = int(os.environ.get("LSTM_VIZ_FUZZ_LINKS", 2))  # random links per page; bench/fuzz.py raises it


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
    """{name: its PageSchema}: every page's table of settings."""
    return collect_page_keys()


def test_every_url_key_of_every_page_has_a_rule(page_keys):
    # A flag needs no validator: reading it as 1/0/true/false is its whole check.
    unruled = [(page, f.key) for page, schema in page_keys.items() for f in schema.fields
               if f.valid is None and not isinstance(f.default, bool)]
    assert unruled == []
    assert set(page_keys) >= {"train", "try_it", "forecast", "gates_memory", "gradient_lab", "length_sweep",
                              "inside_cell"}


def test_url_values_for_every_key_are_parsed_or_refused(page_keys):
    report = run_url_cases(page_keys, URL_VALUE_CASES)
    assert report.cases == URL_VALUE_CASES
    assert report.failures == []
    assert report.accepted > 0 and report.refused > 0


@pytest.mark.parametrize("path", [p for p in PAGES if p not in ("pages/home.py", "pages/import_model.py")])
def test_links_at_the_edges_and_random_links_open_every_page_cleanly(page_keys, path):
    schema = page_keys[page_of(path)]
    for query in edge_links(schema):
        open_page_cleanly(path, query)

    @settings(max_examples=LINKS_PER_PAGE, derandomize=True, database=None, deadline=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(random_links(schema.keys))
    def open_link(query):
        open_page_cleanly(path, query)

    open_link()
