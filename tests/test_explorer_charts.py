"""Every chart of the explorer pages goes through charts.show: its camera button saves a PNG named after what it
shows, and presenter mode enlarges it (larger type, taller), as on the Train page."""
import json

import pytest

from lstm_viz.ui import charts as charts_module
from lstm_viz.ui import presenter
from tests.app_support import clear_caches, open_page  # noqa: F401 - clear_caches is an autouse fixture

# (page, a PNG file name one of its charts must have, shown with the bundled runs and the default settings).
PAGES = [
    ("pages/inside_cell.py", "lstm_cell_unit"),
    ("pages/gates_memory.py", "lstm_gates_and_states_step700"),
    ("pages/gradient_lab.py", "gradient_per_step_back_probe700"),
    ("pages/length_sweep.py", "length_sweep_adding"),
    ("pages/try_it.py", "lstm_class_probabilities"),
    ("pages/forecast.py", "anomalies_lstm_seed0"),
]


def chart_specs(at) -> list[tuple[dict, dict]]:
    """(figure, plotly config) of every chart on the page."""
    return [(json.loads(e.proto.spec), json.loads(e.proto.config)) for e in at.get("plotly_chart")]


@pytest.mark.parametrize("page, expected_name", PAGES, ids=[page for page, _ in PAGES])
def test_explorer_charts_have_png_names_and_grow_in_presenter_mode(page, expected_name):
    at = open_page(page, {"presenter": "1"})
    charts = chart_specs(at)
    assert charts, "the page drew no chart"
    names = [config["toImageButtonOptions"]["filename"] for _, config in charts]
    assert any(name.startswith(expected_name) for name in names), names
    assert all(config["toImageButtonOptions"]["scale"] == 2 and not config["displaylogo"] for _, config in charts)
    for figure, _ in charts:
        assert figure["layout"]["font"]["size"] == presenter.CHART_FONT_SIZE
    presenting = [figure["layout"].get("height") for figure, _ in charts]
    # The Train page's charts zip holds the session run's Train charts only, not what this page drew.
    remembered = at.session_state[charts_module.SHOWN_FIGURES_KEY] if charts_module.SHOWN_FIGURES_KEY in at.session_state else {}
    assert not any(stem in names for per_run in remembered.values() for stem, _ in per_run.values())

    at.toggle(key="presenter").set_value(False).run()
    assert not at.exception
    normal = chart_specs(at)
    assert len(normal) == len(charts)
    for (figure, _), tall in zip(normal, presenting):
        assert figure["layout"].get("font", {}).get("size") != presenter.CHART_FONT_SIZE
        assert tall > (figure["layout"].get("height") or 450)  # plotly.js draws 450 px when no height is set
