"""A preset is a starting point and a link stays true: once a setting departs from the preset the Preset box says
"Custom (from ...)" and the description follows the actual settings; a shared link to a finished run opens on it."""
from lstm_viz.core.architectures import ARCHITECTURES
from lstm_viz.runs.bundled import precomputed_run
from lstm_viz.runs.presets import PRESETS
from lstm_viz.ui import services, state
from tests.app_support import (  # noqa: F401 - clear_caches is an autouse fixture
    TIMEOUT,
    clear_caches,
    open_from_home,
    open_page,
    plotly_charts,
    refresh_while,
    tiny_settings,
    train_until_done,
)

BOX = "preset_box"
HEADLINE = PRESETS["vanishing-gradients"]


def infos(at) -> str:
    return "\n".join(e.value for e in at.info)


def box_text(at) -> str:
    """The text the Preset box shows: the label of its chosen option."""
    box = at.selectbox(key=BOX)
    return box.options[box.index]


def test_changing_a_setting_turns_the_preset_custom_and_picking_it_again_resets():
    at = open_from_home("pages/train.py")
    assert box_text(at) == HEADLINE.title and HEADLINE.description in infos(at)
    at.number_input(key="hidden_size").set_value(32).run()
    assert not at.exception
    assert box_text(at) == f"Custom (from {HEADLINE.title})"
    assert HEADLINE.description not in infos(at)
    assert "32 hidden units" in infos(at) and "hidden size 64 → 32" in infos(at)
    assert any(c.value.startswith("Changed from the preset: hidden size 64 → 32") for c in at.caption)
    # The description is of the settings, whatever changed: here the task too.
    at.selectbox(key="task").set_value("copy").run()
    described, _, changed = infos(at).partition("Changed from the preset:")
    assert "Copy memory, T = 20" in described and "Adding problem" not in described
    assert "task Adding problem → Copy memory" in changed
    # Picking the preset it came from sets every setting back.
    at.selectbox(key=BOX).set_value(HEADLINE.name).run()
    assert not at.exception
    assert box_text(at) == HEADLINE.title and HEADLINE.description in infos(at)
    assert at.session_state["hidden_size"] == 64 and at.session_state["task"] == "adding"
    assert at.query_params["hidden_size"] == "64" and at.query_params["preset"] == HEADLINE.name


def test_setting_a_value_back_to_the_preset_s_is_the_preset_again():
    at = open_from_home("pages/train.py")
    at.multiselect(key="archs").set_value(["lstm"]).run()
    assert box_text(at).startswith("Custom (from ")
    at.multiselect(key="archs").set_value(["rnn", "lstm"]).run()
    assert box_text(at) == HEADLINE.title


def test_a_link_that_changes_a_preset_s_setting_opens_as_custom_and_keeps_its_origin_in_the_address():
    forget = PRESETS["forget-bias"]
    at = open_page("pages/train.py", {"preset": "forget-bias", "hidden_size": "32"})
    assert box_text(at) == f"Custom (from {forget.title})"
    assert at.query_params["preset"] == "forget-bias" and at.query_params["hidden_size"] == "32"
    plain = open_page("pages/train.py", {"preset": "forget-bias"})
    assert box_text(plain) == forget.title
    assert not any(c.value.startswith("Changed from the preset") for c in plain.caption)


def test_the_forecast_preset_stays_itself_once_the_sidebar_has_filled_in_its_series():
    at = open_from_home("pages/train.py")
    at.selectbox(key=BOX).set_value("forecast-airline").run()
    at.run()  # the series controls have now written {"series": "airline", "horizon": 12} into the settings
    assert at.session_state["task_options"]["forecast"] == {"series": "airline", "horizon": 12}
    assert box_text(at) == PRESETS["forecast-airline"].title
    at.number_input(key="series_horizon").set_value(6).run()
    assert box_text(at).startswith("Custom (from Forecast airline")
    assert "series options horizon 12, series airline → horizon 6, series airline" in infos(at)


def run_curves(at) -> list[str]:
    """Names of the curves of a run in the page's charts: before Start the charts are drawn empty (their axes, the
    baseline and solved lines), so that Plotly has loaded when the first snapshot comes."""
    labels = [arch.label for arch in ARCHITECTURES.values()]
    return [trace.get("name", "") for figure in plotly_charts(at).values() for trace in figure.get("data", [])
            if any(trace.get("name", "").startswith(label) for label in labels)]


def test_a_link_to_a_shipped_run_opens_on_its_finished_view_with_replay_as_an_option():
    at = open_page("pages/train.py", {"preset": "vanishing-gradients"})
    assert services.hub().trainings_started == 0
    trainer = at.session_state["run"].trainer
    shipped = precomputed_run(PRESETS["vanishing-gradients"].config)
    assert trainer is not None and trainer.finished and trainer.step == shipped.step
    assert not at.session_state["run"].running and not at.button(key="start").disabled
    assert "Press **Start training**" not in infos(at)
    assert [s.value for s in at.success] == [f"**Result:** {trainer.verdict()}"]
    assert "LSTM solved T=100 at step 700" in at.success[0].value
    titles = list(plotly_charts(at))
    assert any("while training" in title for title in titles)
    assert any(title.startswith("Gradient reaching each time step") for title in titles)
    assert any(title.startswith("LSTM at step 700") for title in titles)
    slider = at.select_slider(key=f"checkpoint_{at.session_state['run'].run_id}_lstm")
    assert slider.options[0] == "0" and slider.value == trainer.runs["lstm"].checkpoints[-1].step
    assert any("**Finished run.**" in c.value and "shipped with the app" in c.value for c in at.caption)
    at.button(key="replay_training").click().run()
    assert not at.exception
    assert at.session_state["run"].running and services.hub().trainings_started == 0
    assert any("**Cached result, replayed.**" in c.value for c in at.caption)
    assert at.session_state["run"].trainer.step < shipped.step  # the replay starts from the beginning


def test_a_link_to_a_run_another_session_finished_opens_on_it_and_one_not_run_yet_on_start():
    first = open_from_home("pages/train.py")
    tiny_settings(first, max_steps=10)
    train_until_done(first)
    finished = first.session_state["run"].trainer
    link = {key: first.query_params[key] for key in first.query_params}
    second = open_page("pages/train.py", link)
    assert services.hub().trainings_started == 1
    shown = second.session_state["run"].trainer
    assert shown is not None and shown.step == 10 and shown.verdict() == finished.verdict()
    assert any("**Finished run.**" in c.value and "earlier session" in c.value for c in second.caption)
    # The same settings with another seed have never run: Start, no charts, nothing trained.
    untrained = open_page("pages/train.py", {**link, "seed": "5"})
    assert untrained.session_state["run"].trainer is None and not run_curves(untrained)
    assert "Press **Start training**" in infos(untrained) and services.hub().trainings_started == 1


def test_in_presenter_mode_a_link_to_a_shipped_run_waits_for_start_to_tell_the_demo():
    at = open_page("pages/train.py", {"preset": "vanishing-gradients", "presenter": "1"})
    assert at.session_state["run"].trainer is None and not run_curves(at)
