"""What the Length sweep page shows beside the Transformer: the published cells the app does not train keep a colour
of their own (the Transformer took the reddish purple they had), and the length-generalisation table's baseline row
says that its brackets hold the floor, not a ratio as in the rows above it."""
import json

from lstm_viz.figures.style import ARCH_COLOURS
from lstm_viz.runs import measurements
from tests import app_support


def test_published_cells_the_app_does_not_train_are_in_no_architectures_colour():
    at = app_support.open_page("pages/length_sweep.py", timeout=120)
    assert not at.exception
    figures = [json.loads(element.proto.spec) for element in at.get("plotly_chart")]
    strip = [trace for figure in figures for trace in figure["data"]
             if trace.get("legendgroup") == "published" and trace.get("y") and not trace.get("showlegend", True)]
    irnn = {colour for trace in strip for row, colour in zip(trace["y"], trace["marker"]["color"]) if "IRNN" in row}
    assert irnn, "the published strip shows the IRNN results"
    assert not irnn & {colour.upper() for colour in ARCH_COLOURS.values()}


def test_the_baseline_row_says_its_brackets_hold_the_best_possible_value():
    at = app_support.open_page("pages/length_sweep.py", timeout=120)
    result = measurements.load_length_generalisation()
    floors = {(row["task"], f"{row['factor']}T = {row['length']}"): row["floor"] for row in result["rows"]}
    tables = [frame.value for frame in at.dataframe if "trained" in frame.value.columns]
    assert tables
    for table, task in zip(tables, measurements.rows_by_task(result)):
        last = table.iloc[-1]
        assert last["architecture"] == "no-memory baseline (in brackets: the best possible)"
        for column in (c for c in table.columns if "T = " in c):
            assert last[column].endswith(f"({floors[(task, column)]:.4f})")


def test_the_cost_sentences_name_the_cells_the_transformer_always_costs_more_than_once():
    from lstm_viz.ui.length_sweep.measured import crossover_phrases

    def crossover(reference, below, above, length):
        return measurements.Crossover("transformer", reference, "peak_rss_mb", below, above, length)

    phrases = crossover_phrases([crossover("rnn", None, None, None), crossover("gru", None, None, None),
                                 crossover("lstm", 25, 50, 35.0)])
    assert phrases == ["than the RNN (tanh) and the GRU at every measured T",
                       "than the LSTM from T ≈ 35 on (between 25 and 50)"]
    at = app_support.open_page("pages/length_sweep.py", timeout=120)
    shown = " ".join(m.value for m in at.markdown)
    assert shown.count("at every measured T") <= 2  # once per quantity at most, CPU time and memory
