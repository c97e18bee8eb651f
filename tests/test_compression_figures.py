"""Deploy small's figures (lstm_viz/figures/compression.py) from constructed data: labelled axes with units, one
point per variant in each panel, histograms that count every value, the state's largest difference per step."""
import numpy as np

from lstm_viz.compression.gate_shift import GateShift
from lstm_viz.figures import compression as figures


def row(variant: str, size: int, metric: float, latency: float) -> dict:
    return {"variant": variant, "bytes": size, "size_ratio": size / 4000, "metric": metric, "metric_name": "MSE",
            "max_abs_diff": 0.01, "latency_ms_p50": latency, "latency_ms_p95": latency * 1.2}


ROWS = [row("float32", 4000, 0.01, 0.2), row("int8 (onnxruntime)", 1100, 0.0102, 0.1),
        row("pruned 80%", 900, 0.05, 0.2), row("pruned 80% + fine-tune 50 steps", 900, 0.011, 0.2)]


def test_the_tradeoff_chart_has_a_point_per_variant_in_each_panel_and_axes_with_units():
    figure = figures.tradeoff_figure(ROWS, title="t").to_plotly_json()
    points = figure["data"]
    assert len(points) == 2 * len(ROWS)
    assert sorted(trace["x"][0] for trace in points) == sorted([size / 1024 for size in (4000, 1100, 900, 900)] * 2)
    layout = figure["layout"]
    assert layout["xaxis"]["title"]["text"] == layout["xaxis2"]["title"]["text"] == "file size (kB)"
    assert layout["yaxis2"]["title"]["text"] == "latency p50 (ms)"
    assert layout["yaxis"]["type"] == "log" and "MSE" in layout["yaxis"]["title"]["text"]
    # One legend entry per kind: pruned with and without a fine-tune are told apart.
    legend = {trace["name"] for trace in points if trace.get("showlegend")}
    assert legend == {"float32", "int8 (onnxruntime)", "pruned", "pruned + fine-tune"}
    # The targets: 0.3x the float32 size in both panels, the float32 metric + 5% in the first.
    lines = [shape for shape in layout["shapes"]]
    assert sorted(shape["x0"] for shape in lines if shape["x0"] == shape["x1"]) == [4000 / 1024 * 0.3] * 2
    assert [shape["y0"] for shape in lines if shape["y0"] == shape["y1"]] == [0.01 * 1.05]


def test_a_metric_of_zero_keeps_the_metric_axis_linear():
    rows = [row("float32", 4000, 0.0, 0.2), row("float16 weights", 2000, 0.0, 0.3)]
    assert figures.tradeoff_figure(rows, title="t").to_plotly_json()["layout"]["yaxis"]["type"] == "linear"


def shift() -> GateShift:
    generator = np.random.default_rng(0)
    before = {"input_gate": generator.uniform(0, 1, 500).astype(np.float32),
              "candidate": generator.uniform(-1, 1, 500).astype(np.float32)}
    after = {name: values + generator.normal(0, 0.01, values.size).astype(np.float32)
             for name, values in before.items()}
    after["input_gate"] = np.clip(after["input_gate"], 0, 1)
    state = generator.normal(0, 1, (30, 5)).astype(np.float32)
    return GateShift("lstm", ("input_gate", "candidate"), before, after, "cell_state", state,
                     state + generator.normal(0, 0.1, state.shape).astype(np.float32), True)


def test_the_gate_histograms_count_every_value_and_the_shift_is_after_minus_before():
    data = shift()
    traces = figures.gate_histograms_figure(data, title="g").data
    assert len(traces) == 3 * len(data.gates)  # float32, int8, shift per gate
    for trace in traces:
        assert abs(sum(trace.y) - 1.0) < 1e-9  # shares of all 500 values (none outside the bins)
    shifts = [trace for trace in traces if trace.type == "bar"]
    reach = max(abs(shifts[0].x[0]), abs(shifts[0].x[-1]))
    assert reach <= np.abs(data.after["input_gate"] - data.before["input_gate"]).max()


def test_the_state_figure_draws_three_units_both_ways_and_the_largest_difference_per_step():
    data = shift()
    traces = figures.state_figure(data, title="s").data
    assert len(traces) == 2 * 3 + 1
    expected = np.abs(data.state_after - data.state_before).max(axis=1)
    assert np.allclose(traces[-1].y, expected)
    largest_units = set(np.argsort(-np.abs(data.state_before).max(axis=0))[:3])
    assert {int(trace.name.split()[1].rstrip(",")) for trace in traces[:-1]} == largest_units


def test_a_level_s_pruned_and_fine_tuned_labels_sit_above_and_below_their_shared_size_and_are_never_clipped():
    labelled = [trace for trace in figures.tradeoff_figure(ROWS, title="t").to_plotly_json()["data"]
                if trace.get("text") and trace["text"][0]]
    sides = {(trace["name"], trace["textposition"]) for trace in labelled}
    assert sides == {("pruned", "top center"), ("pruned + fine-tune", "bottom center")}
    assert all(trace["text"] == ["80%"] and trace["textfont"]["size"] >= 13 and trace["cliponaxis"] is False
               for trace in labelled)
