"""The Transformer presets train to their verdict and say what they do: each is trained here with its own settings
and the steps its description quotes are the steps measured."""
import pytest

from lstm_viz.core.trainer import Trainer
from lstm_viz.runs.presets import PRESETS, preset_config
from tests.app_support import open_page
from tests.engine_support import one_torch_thread  # noqa: F401


def trained(name: str) -> Trainer:
    trainer = Trainer(preset_config(name))
    while not trainer.finished:
        trainer.train_step()
    return trainer


@pytest.mark.parametrize("name, solved, stuck", [
    ("lstm-vs-transformer", {"transformer": "the Transformer solves at step", "lstm": "the LSTM at about"}, ()),
    ("four-architectures", {"transformer": "Transformer solves at step", "gru": "the GRU at step",
                            "lstm": "the LSTM at step"}, ("rnn",)),
])
def test_a_transformer_preset_reaches_the_verdict_its_description_gives(name, solved, stuck):
    trainer = trained(name)
    description = PRESETS[name].description
    assert "transformer" in trainer.config.archs and trainer.finished
    for arch, words in solved.items():
        run = trainer.runs[arch]
        assert run.status == "solved", f"{name}: the {arch} ended {run.status}"
        assert f"{words} {run.solved_step}" in description
        assert run.last_metric <= trainer.solved_threshold
    for arch in stuck:
        assert trainer.runs[arch].status == "baseline" and "stays on the" in description
    assert "solved T=" in trainer.verdict()


def test_the_train_page_offers_the_transformer_presets_and_a_link_opens_one():
    at = open_page("pages/train.py", {"preset": "lstm-vs-transformer"})
    assert not at.exception
    box = at.selectbox(key="preset_box")
    assert {PRESETS["lstm-vs-transformer"].title, PRESETS["four-architectures"].title} <= set(box.options)
    assert at.session_state["archs"] == ["lstm", "transformer"]
    assert PRESETS["lstm-vs-transformer"].description in "\n".join(info.value for info in at.info)
