"""The generated description of a custom run and its list of changes from the preset name the Transformer's own
knobs (heads, positions) while a Transformer is picked, and only then."""
from dataclasses import replace

from lstm_viz.runs.presets import departures, describe_config, preset_config
from tests.app_support import open_page


def test_a_run_with_a_transformer_is_described_with_its_heads_and_positions():
    config = preset_config("lstm-vs-transformer", heads=4, positions="learned")
    text = describe_config(config)
    assert "the Transformer with 4 attention heads and learned positions" in text
    assert "forget-gate bias 0 at initialisation" in text  # the LSTM beside it still has a forget gate
    one_head = describe_config(replace(config, heads=1, archs=("transformer",)))
    assert "1 attention head and learned positions" in one_head and "heads" not in one_head
    assert "forget-gate bias" not in one_head  # no LSTM, no forget gate to speak of


def test_a_recurrent_run_says_nothing_of_heads_or_positions_even_if_they_were_changed():
    config = preset_config("vanishing-gradients", heads=4, positions="learned")
    text = describe_config(config)
    assert "head" not in text and "positions" not in text
    assert departures(config, "vanishing-gradients") == []  # a recurrent run does not depend on them


def test_the_changes_from_a_transformer_preset_list_heads_and_positions():
    config = preset_config("lstm-vs-transformer", heads=4, positions="learned")
    assert departures(config, "lstm-vs-transformer") == ["attention heads 2 → 4", "positions sinusoidal → learned"]
    # Once the Transformer is dropped its knobs no longer matter: only the architectures changed.
    assert departures(replace(config, archs=("lstm",)), "lstm-vs-transformer") == [
        "architectures LSTM, Transformer → LSTM"]


def test_the_train_page_describes_a_changed_transformer_run_with_its_heads():
    at = open_page("pages/train.py", {"preset": "lstm-vs-transformer", "heads": "4"})
    assert not at.exception
    shown = "\n".join(element.value for element in [*at.info, *at.caption, *at.markdown])
    assert "the Transformer with 4 attention heads and sinusoidal positions" in shown
    assert "attention heads 2 → 4" in shown
