"""The Train page's "Inside the cells" panel. It shows a Transformer's attention map of the shown example, from the
checkpoint shown, per head: its weights are those of the engine's trace of that checkpoint's weights (itself tested
against softmax(QK^T / sqrt(d) + mask) by hand in tests/test_engine_transformer.py), not the figure's own numbers."""
from __future__ import annotations

import numpy as np
import torch

from lstm_viz.core.model import build_model
from lstm_viz.core.traces import trace
from tests import app_support
from tests.app_support import clear_caches, tiny_settings, train_until_done  # noqa: F401
from tests.test_page_transformer import array, chart_starting, charts

TIMEOUT = 120


def traced(trainer, step: int, example: int) -> list[np.ndarray]:
    """Per layer (heads, T, T): the checkpoint's weights loaded into a fresh model and traced on the example."""
    model = build_model(trainer.config.model_config("transformer"), seed=0)
    checkpoint = next(c for c in trainer.runs["transformer"].checkpoints if c.step == step)
    model.load_state_dict(checkpoint.state_dict)
    return [weights[0] for weights in trace(model, trainer.trace_inputs[example:example + 1]).attention]


def test_the_train_page_shows_the_transformers_attention_per_head_and_checkpoint():
    at = app_support.open_page("pages/train.py", timeout=TIMEOUT)
    tiny_settings(at, max_steps=10)
    at.multiselect(key="archs").set_value(["lstm", "transformer"]).run()
    train_until_done(at)
    run = at.session_state["run"]
    run_id, trainer = run.run_id, run.subscription.snapshot()
    # The LSTM is shown first; its panel has no attention map.
    assert not [title for title in charts(at) if "attention" in title]
    at.segmented_control(key=f"internals_arch_{run_id}").set_value("transformer").run()
    at.segmented_control(key=f"example_{run_id}").set_value(1).run()
    assert not at.exception
    steps = [c.step for c in trainer.runs["transformer"].checkpoints]
    last = steps[-1]
    figure = chart_starting(at, f"Transformer attention at step {last}")
    assert figure["layout"]["title"]["subtitle"]["text"] == "example 2, layer 1 of 1, head 1 of 2"
    weights = array(figure["data"][0]["z"])
    expected = traced(trainer, last, 1)[0]
    lower = np.tril_indices(expected.shape[-1])
    np.testing.assert_allclose(weights[lower], expected[0][lower], atol=1e-6)
    assert np.isnan(weights[np.triu_indices(expected.shape[-1], k=1)]).all()  # the causal mask is blank
    assert figure["layout"]["xaxis"]["title"]["text"].startswith("key position")
    assert not any("has no forget gate" in c.value for c in at.caption)

    at.segmented_control(key=f"attention_head_{run_id}").set_value(1).run()
    second = chart_starting(at, f"Transformer attention at step {last}")
    assert second["layout"]["title"]["subtitle"]["text"] == "example 2, layer 1 of 1, head 2 of 2"
    head2 = array(second["data"][0]["z"])
    np.testing.assert_allclose(head2[lower], expected[1][lower], atol=1e-6)

    # An earlier checkpoint on the slider: the map is that checkpoint's.
    at.select_slider(key=f"checkpoint_{run_id}_transformer").set_value(steps[0]).run()
    assert not at.exception
    early = array(chart_starting(at, f"Transformer attention at step {steps[0]}")["data"][0]["z"])
    np.testing.assert_allclose(early[lower], traced(trainer, steps[0], 1)[0][1][lower], atol=1e-6)
    assert not np.allclose(early[lower], head2[lower], atol=1e-4)  # training changed it: a real refresh


def test_the_charts_over_training_span_the_step_budget_until_a_second_checkpoint_arrives():
    from lstm_viz.core.trainer import RunConfig, Trainer
    from lstm_viz.ui.train import figures as views

    trainer = Trainer(RunConfig(task="adding", length=12, archs=("lstm", "transformer"), hidden_size=8, max_steps=40,
                                batch_size=8, eval_every=10, probe_every=10, eval_size=16, probe_size=6))
    assert [len(run.checkpoints) for run in trainer.runs.values()] == [1, 1]  # step 0 only
    assert tuple(views.reach_figure(trainer).layout.xaxis.range) == (0, 40)  # not Plotly's -1 … 1 around step 0
    over_training, _ = views.forget_figures(trainer, "lstm", 0, 0)
    assert tuple(over_training.layout.xaxis.range) == (0, 40)
    while len(trainer.runs["lstm"].checkpoints) < 2:
        trainer.train_step()
    assert views.reach_figure(trainer).layout.xaxis.range is None  # then Plotly fits the checkpoints


def test_the_empty_gradient_chart_says_what_comes_after_start_on_two_lines():
    from lstm_viz.runs.presets import preset_config
    from lstm_viz.ui.train import figures as views

    _, gradient = views.empty_charts(preset_config("lstm-vs-transformer"))
    text = gradient.layout.annotations[0].text
    assert "<br>" in text and all(len(line) <= 60 for line in text.split("<br>"))


def test_the_short_charts_axis_titles_are_on_two_lines_so_presenter_mode_does_not_cut_them():
    import re

    from lstm_viz.figures import training

    reach = training.gradient_reach({"lstm": ("LSTM", [0, 50], [1e-9, 1e-3])}, distance=50)
    per_unit = training.forget_gate_per_unit(np.linspace(0.2, 0.9, 8), step=50)
    # The reach chart's plot is about 165 px tall in presenter mode: its y title fits in 12 characters a line.
    for figure, longest in ((reach, 12), (per_unit, 24)):
        lines = figure.layout.yaxis.title.text.split("<br>")
        visible = [re.sub(r"<[^>]+>", "", line) for line in lines]
        assert len(lines) == 2 and max(len(line) for line in visible) <= longest, visible


def test_the_gradient_reach_title_is_short_enough_for_a_half_width_column():
    from lstm_viz.figures import training

    reach = training.gradient_reach({"lstm": ("LSTM", [0, 50], [1e-9, 1e-3])}, distance=50)
    assert reach.layout.title.text == "Gradient reaching 50 steps back"
    assert reach.layout.title.subtitle.text.startswith("over training: ‖∂L/∂h<sub>T−50</sub>‖")
