"""Which checkpoint a training step shows: one rule (lstm_viz.analysis.checkpoints.checkpoint_at, the latest
checkpoint at or before the step) on every explorer page, so a link naming a step opens the same weights on Gates
and memory, Inside the cell and the Gradient flow lab, and each page's "other cells" agree too."""
from types import SimpleNamespace

import pytest

from lstm_viz.analysis.checkpoints import LATEST, checkpoint_at, step_setting
from lstm_viz.runs.bundled import load_bundled_run
from tests import app_support
from tests.app_support import clear_caches, plotly_charts  # noqa: F401 - clear_caches is an autouse fixture

TIMEOUT = 120


def checkpoints(*steps):
    return [SimpleNamespace(step=step) for step in steps]


@pytest.mark.parametrize("step, expected", [
    (0, 0), (49, 0), (50, 50), (51, 50), (99, 50), (100, 100), (10_000, 100),  # at or before; past the end: the last
    (LATEST, 100), (None, 100),  # "pick for me": the latest
])
def test_the_latest_checkpoint_at_or_before_the_step(step, expected):
    assert checkpoint_at(checkpoints(0, 50, 100), step).step == expected


def test_a_step_before_every_checkpoint_shows_the_first_and_none_is_an_error():
    assert checkpoint_at(checkpoints(50, 100), 10).step == 50  # an imported model's only checkpoints start late
    with pytest.raises(ValueError):
        checkpoint_at([], 10)


def test_a_setting_keeps_latest_for_the_last_checkpoint_so_a_link_follows_a_growing_run():
    assert step_setting(checkpoints(0, 50, 100), 100) == LATEST
    assert step_setting(checkpoints(0, 50, 100), 75) == 50
    assert step_setting(checkpoints(0, 50, 100), LATEST) == LATEST


def gates_memory_steps(at) -> dict[str, int]:
    """{cell label: the step in its heatmap's title} of every heatmap the page drew (the main one and the others)."""
    found = {}
    for title in plotly_charts(at):
        label, _, rest = title.partition(" at step ")
        if rest:
            found[label] = int(rest.split(",")[0].split(" ")[0].split("<")[0])
    return found


def inside_cell_steps(at) -> dict[str, int]:
    """{cell label: checkpoint step} of the cell shown and of the other cells' columns."""
    found = {}
    for markdown in at.markdown:
        text = markdown.value
        if text.startswith("**") and ", checkpoint " in text:
            found[text[2:text.index("**", 2)]] = int(text.split(", checkpoint ")[1].split(" ")[0].rstrip(","))
    return found


def gradient_lab_steps(at) -> dict[str, int]:
    """{cell label: probe step} of the reach table under the "Over training" chart."""
    table = at.dataframe[0].value
    return dict(zip(table["cell"], (int(step) for step in table["probe step"])))


@pytest.mark.parametrize("arch, link_step", [("lstm", 325), ("gru", 260), ("rnn", 700)])
def test_three_pages_given_the_same_step_show_the_same_checkpoints(arch, link_step):
    trainer = load_bundled_run()
    label = trainer.runs[arch].label
    # Worked out apart from the rule's code: the bundled run checkpoints every 50 steps, so the step shown is the
    # link's rounded down to 50; an architecture that stopped earlier (its GRU, at 275) shows its last.
    assert all(c.step % 50 == 0 for c in trainer.runs["lstm"].checkpoints) and trainer.runs["gru"].checkpoints[-1].step == 275
    shown = link_step // 50 * 50
    expected = {run.label: min(shown, run.checkpoints[-1].step) for run in trainer.runs.values()}

    memory = app_support.open_page("pages/gates_memory.py", {"gm_arch": arch, "gm_step": str(link_step)},
                                   timeout=TIMEOUT)
    cell = app_support.open_page("pages/inside_cell.py", {"cell_arch": arch, "cell_checkpoint": str(link_step)},
                                 timeout=TIMEOUT)
    lab = app_support.open_page("pages/gradient_lab.py", {"glab_step": str(link_step)}, timeout=TIMEOUT)

    assert gates_memory_steps(memory) == expected
    assert cell.session_state["cell_checkpoint"] == expected[label]
    assert {other: step for other, step in inside_cell_steps(cell).items()} == \
        {other: step for other, step in expected.items() if other != label}
    assert lab.session_state["glab_step"] == shown
    assert gradient_lab_steps(lab) == {run_label: step for run_label, step in expected.items()}
