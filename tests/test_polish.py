"""Labels, headers and captions that must match the data they describe (issue 11's chart and page polish), and presenter
mode's figure enlargement checked on the figure JSON (the browser test measures the drawn text)."""
import json

import numpy as np
import pytest
import torch

from lstm_viz.figures import training as figures, gradient as gradient_figures, memory as memory_figures
from lstm_viz.analysis import memory
from lstm_viz.runs import narrative
from lstm_viz.runs.bundled import EXPLORER_RUN, FORECAST_RUN, load_bundled_run
from lstm_viz.runs.shared_runs import Replay, replay_snapshot
from lstm_viz.core.tasks import TASKS
from lstm_viz.core.trainer import MEASURED_GFLOP_PER_SECOND
from lstm_viz.ui import presenter
from lstm_viz.ui.train import figures as views
from lstm_viz.ui.train.controls import step_time_text
from tests import app_support
from tests.app_support import clear_caches  # noqa: F401

HEADLINE = "preset-vanishing-gradients"


@pytest.fixture(scope="module")
def explorer_run():
    return load_bundled_run(EXPLORER_RUN)


def _font_sizes(node, inherited=None, path=""):
    """Every (path, size) of a text-bearing font in a figure's JSON, hover labels aside."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("hoverlabel", "template"):  # read up close; a template's font is under layout.font
                continue
            if key.endswith("font") and isinstance(value, dict):
                yield f"{path}.{key}", value.get("size", inherited)
            else:
                yield from _font_sizes(value, inherited, f"{path}.{key}")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _font_sizes(item, inherited, f"{path}[{index}]")


def _figures_of_every_kind(run):
    lstm = run.runs["lstm"]
    checkpoint = lstm.checkpoints[-1]
    arrays = {"input_gate": np.random.default_rng(0).random((100, 12)),
              "cell_state": np.random.default_rng(1).normal(size=(100, 12))}
    channels = run.task.input_channels(run.trace_inputs[0].numpy())
    norms = checkpoint.gradient_flow.grad_norm_per_step[0]
    return {
        "heatmaps": figures.gate_heatmaps(arrays, channels, title="LSTM"),
        "ordered heatmaps": memory_figures.ordered_heatmaps(arrays, list(range(12)), channels),
        "trajectories": figures.cell_state_trajectories(arrays["cell_state"], channels, subtitle="6 units"),
        "gradient": figures.gradient_flow([figures.GradientCurve("lstm", "LSTM", norms, norms)], subtitle="x"),
        "distance": gradient_figures.gradient_vs_distance([gradient_figures.FlowCurve("lstm", "LSTM", norms, 700, norms)]),
        "forget per unit": figures.forget_gate_per_unit(np.linspace(0, 1, 12), step=700),
    }


def test_presenter_mode_raises_every_chart_text_to_the_projector_size(explorer_run):
    for name, figure in _figures_of_every_kind(explorer_run).items():
        enlarged = json.loads(presenter.enlarge(figure).to_json())
        base = enlarged["layout"]["font"]["size"]
        sizes = list(_font_sizes(enlarged, base))
        small = [(path, size) for path, size in sizes if size is not None and size < presenter.MIN_CHART_FONT_PX]
        assert not small, f"{name}: {small}"
        assert base >= presenter.MIN_CHART_FONT_PX
        # Streamlit's chart theme sets tick and legend fonts unless the figure does: every axis says its size.
        for key, axis in enlarged["layout"].items():
            if key.startswith(("xaxis", "yaxis")):
                assert axis["tickfont"]["size"] >= presenter.MIN_CHART_FONT_PX, (name, key)
        for text in [enlarged["layout"].get("title", {}).get("text", "")]:
            for size in presenter._FONT_SIZE_IN_HTML.findall(text):
                assert float(size) >= presenter.MIN_CHART_FONT_PX, (name, text)
        subtitle = enlarged["layout"].get("title", {}).get("subtitle")
        if subtitle:  # plotly.js draws a subtitle without a size smaller than the base font: it must say its size
            assert subtitle["font"]["size"] >= presenter.MIN_CHART_FONT_PX, name
        assert json.loads(figure.to_json())["layout"] != enlarged["layout"]  # a copy: the original stays as it was


def test_the_loss_chart_names_its_guides_in_the_legend_not_over_the_curves():
    recorded = load_bundled_run(HEADLINE)
    figure = views._build_loss_figure(recorded)
    assert not figure.layout.annotations
    names = {trace.name for trace in figure.data}
    assert f"{recorded.task.baseline_name} ({recorded.baseline:.3g})" in names
    # Title and task on two lines, so neither runs past a half-width chart.
    assert figure.layout.title.text == f"Test {recorded.task.metric_name} while training"
    assert figure.layout.title.subtitle.text == f"{recorded.task.label}, T = {recorded.config.length}"


def test_the_gradient_chart_has_an_initialisation_line_only_when_there_is_one():
    recorded = load_bundled_run(HEADLINE)
    names = [trace.name for trace in views._build_gradient_figure(recorded, 0).data]
    assert [name for name in names if name.endswith("at initialisation")] == ["RNN (tanh) at initialisation",
                                                                            "LSTM at initialisation"]
    first = replay_snapshot(recorded, 0)  # one checkpoint: the "initialisation" would be the same line twice
    assert all(len(run.checkpoints) == 1 for run in first.runs.values())
    assert not [t.name for t in views._build_gradient_figure(first, 0).data if "initialisation" in t.name]
    imported = replay_snapshot(recorded, recorded.step)
    for run in imported.runs.values():
        run.status = views.IMPORTED_STATUS
    assert not [t.name for t in views._build_gradient_figure(imported, 0).data if "initialisation" in t.name]


def test_the_orange_dotted_lines_are_promised_only_where_they_are_drawn(explorer_run):
    channels = explorer_run.task.input_channels(explorer_run.trace_inputs[0].numpy())
    heatmaps = figures.gate_heatmaps({"input_gate": np.zeros((100, 4))}, channels)
    dotted = [shape for shape in heatmaps.layout.shapes if shape.line.dash == "dot"]
    assert views.marks_task_steps(explorer_run, 0) and len(dotted) == int(np.asarray(channels["marker"]).sum()) == 2
    copy_task = TASKS["copy"]
    inputs, _ = copy_task.generate(1, 20, torch.Generator().manual_seed(0))
    copy_channels = copy_task.input_channels(inputs[0].numpy())
    assert figures.event_steps(copy_channels).size == 0
    assert not figures.gate_heatmaps({"input_gate": np.zeros((inputs.shape[1], 4))}, copy_channels).layout.shapes


@pytest.mark.parametrize("gflop", [0.0004, 0.02, 0.8, 7.0, 60.0])
def test_the_step_time_is_never_shown_as_zero_seconds(gflop):
    text = step_time_text(gflop)
    seconds = gflop / MEASURED_GFLOP_PER_SECOND
    assert "0.00 s" not in text
    if seconds >= 1:
        assert text == f"{seconds:.1f} s"
    elif seconds * 1000 >= 1:
        assert text == f"{round(seconds * 1000)} ms"
    else:
        assert text == "under 1 ms"


def test_a_solved_verdict_also_gives_the_final_value_the_metrics_show():
    run = load_bundled_run(FORECAST_RUN)  # forecasting trains on after beating the baseline
    verdict = run.verdict()
    for arch_run in run.runs.values():
        if arch_run.solved_step is not None and arch_run.eval_steps[-1] != arch_run.solved_step:
            assert f"{arch_run.last_metric:.3f} at the end" in verdict


def test_gradient_lab_and_train_page_put_the_output_at_the_right(explorer_run):
    norms = explorer_run.runs["lstm"].checkpoints[-1].gradient_flow.grad_norm_per_step[0]
    lab = gradient_figures.distance_lines([gradient_figures.Line("LSTM", norms, "#000")], title="t", y_title="y")
    assert lab.layout.xaxis.autorange == "reversed" and "at the right" in lab.layout.xaxis.title.text
    train = figures.gradient_flow([figures.GradientCurve("lstm", "LSTM", norms)])
    assert train.layout.xaxis.autorange in (None, True) and "at the right" in train.layout.xaxis.title.text
    assert "h_T" not in train.layout.yaxis.title.text and "<sub>T</sub>" in train.layout.yaxis.title.text


def test_heatmap_titles_use_html_subscripts_and_units_are_legibly_labelled():
    arrays = {name: np.random.default_rng(0).random((30, 64)) for name in ("input_gate", "forget_gate")}
    figure = memory_figures.ordered_heatmaps(arrays, list(range(64)), {"value": np.zeros(30)})
    titles = [annotation.text for annotation in figure.layout.annotations]
    assert "input gate i<sub>t</sub>" in titles and not [t for t in titles if "ₜ" in t]
    axis = figure.layout.yaxis2
    assert axis.tickfont.size >= 11
    assert len(axis.tickvals) >= 32  # every second unit of 64 at least


def test_a_replay_holds_where_the_presenter_stops_it_and_plays_on_when_asked():
    recorded = load_bundled_run(HEADLINE)
    starts = narrative.stage_starts(recorded)
    # A run that ends the moment the LSTM solves (its verdict known) goes from stage 3 straight to the last stage,
    # whose verdict tells the solve; one that trains on shows "solved" as a stage of its own.
    solved_before_the_end = recorded.runs["lstm"].solved_step < recorded.step
    stages = [2, 3, 4, 5] if solved_before_the_end else [2, 3, 5]
    assert sorted(starts) == stages and starts[5] == recorded.step
    # Each start really is where the narrative changes: one step earlier it still tells the stage before.
    for index in stages[1:]:
        assert narrative.headline_stage(replay_snapshot(recorded, starts[index])).index == index
        assert narrative.headline_stage(replay_snapshot(recorded, starts[index] - 1)).index < index
    replay = Replay(recorded, seconds=0.0)  # no waiting: the clock has already run out
    replay.play_until(starts[3] - 1)
    assert replay.step == starts[3] - 1 and replay.alive
    replay.play_until(starts[stages[2]] - 1, start_at=starts[3])
    assert replay.step == starts[stages[2]] - 1
    replay.play_until(None)
    assert replay.step == recorded.step and not replay.alive


def test_gates_and_memory_offers_the_probe_sequences_and_says_where_a_cell_stopped(clear_caches, explorer_run):
    at = app_support.open_page("pages/gates_memory.py", timeout=90)
    lstm = explorer_run.runs["lstm"]
    captions = " ".join(c.value for c in at.caption)
    if lstm.checkpoints[-1].step < explorer_run.step:
        assert (f"LSTM stopped at step {lstm.checkpoints[-1].step:,} ({lstm.status}); the run went on to step "
                f"{explorer_run.step:,}.") in captions
    at.radio(key="gm_source").set_value("probe").run(timeout=90)
    at.session_state["gm_probe"] = 3
    at.run(timeout=90)
    expected = explorer_run.task.describe_example(explorer_run.trace_inputs[2].numpy(),
                                                  explorer_run.trace_targets[2].numpy())
    assert expected in app_support.shown(" ".join(c.value for c in at.caption))
    example = memory.trace_example(explorer_run, 2)
    np.testing.assert_array_equal(example.inputs, explorer_run.trace_inputs[2].numpy())
    assert not at.exception
