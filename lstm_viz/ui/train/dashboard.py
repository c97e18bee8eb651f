"""The Train page's run view. Training happens elsewhere (a background thread of lstm_viz.runs.background, under the
server's scheduler); this view only draws snapshots of it: a fragment that redraws the curves every 0.5 s (slower on
a busy server, every 2 s while the run waits for a training slot), and a slower one for the network's insides."""
from __future__ import annotations

import logging
import math

import streamlit as st

from lstm_viz.runs import narrative
from lstm_viz.runs.bundled import precomputed_record
from lstm_viz.rules.errors import LstmVizError
from lstm_viz.io.model_upload import IMPORTED_STATUS
from lstm_viz.runs.scheduler import format_wait
from lstm_viz.runs.speed import timing_sentence
from lstm_viz.core.trainer import Trainer
from lstm_viz.ui import boundary, charts, presenter, services, session_run, state
from lstm_viz.ui.train import figures as views
from lstm_viz.ui.train import insides

log = logging.getLogger(__name__)

# The heatmaps change only when a checkpoint arrives (every probe_every steps), so they refresh less often.
INTERNALS_REFRESH_SECONDS = 2.0
# A run waiting for a training slot only shows its place and estimated wait: it polls this often, not at the charts'
# rate. In a class of ten distinct seeds, eight sessions wait while two train, and their refreshes at 1 s took CPU from
# the two trainings (bench/load.py --scenario distinct). Once admitted, the page reruns at the charts' rate.
QUEUED_REFRESH_SECONDS = 2.0
# Set in the session while the insides wait for the first refresh after Start (see live_panel).
INTERNALS_OWED_KEY = "internals_owed"
STATUS_BADGES = {
    "training": ("blue", "training"),
    "solved": ("green", "solved"),
    "diverged": ("red", "diverged"),
    "plateaued": ("orange", "plateaued"),
    "baseline": ("gray", "stopped at the baseline"),
    "budget": ("gray", "budget used"),
    "stopped": ("gray", "stopped"),
    IMPORTED_STATUS: ("violet", "imported"),
}


def start_stop_buttons() -> None:
    running = session_run.is_running()
    left, right, _ = st.columns([3, 2, 7] if presenter.on() else [1, 1, 4])
    left.button("▶ Start training", type="primary", key="start",
                on_click=_start_presenting if presenter.on() else state.start_training, disabled=running,
                width="stretch")
    right.button("■ Stop", key="stop", on_click=session_run.stop, disabled=not running, width="stretch")
    if st.session_state.get("error") and session_run.current_trainer() is None:
        st.error(st.session_state["error"])


def live_panel() -> None:
    running = session_run.is_running()
    scale = services.refresh_scale() if running else 1.0
    # The rerun of a Start click waits here for the run's first snapshot (while the run's models are built, it has
    # drawn the sidebar and the buttons), draws the training charts, and leaves the network's insides to the first
    # refresh after it: sent together, the browser drew the heatmaps in the same pass as the step-0 test metric, and
    # showed nothing for 1-2 s longer on a busy machine. That refresh comes at the quiet server's rate even on a busy
    # one, and reruns the page: one extra run per Start.
    first_draw = bool(st.session_state.pop(session_run.FIRST_DRAW_KEY, False)) and running and session_run.wait_for_first_snapshot()
    st.session_state.pop(INTERNALS_OWED_KEY, None)  # this run draws them
    joined = session_run.subscription() if running else None
    queued = joined is not None and joined.queue_position is not None
    if scale > 1:
        st.caption(f":material/speed: This server is busy ({services.hub().active_viewers()} sessions are watching a "
                   f"run), so the charts refresh every {state.REFRESH_SECONDS * scale:.1f} s instead of "
                   f"{state.REFRESH_SECONDS:g} s; training goes on at full speed.")

    training_interval = (QUEUED_REFRESH_SECONDS if queued else state.REFRESH_SECONDS if first_draw
                         else state.REFRESH_SECONDS * scale)

    @boundary.fragment(run_every=training_interval if running else None)
    def training_fragment() -> None:
        _draw_training(running, scale, joined, queued)

    training_fragment()
    if first_draw:
        st.session_state[INTERNALS_OWED_KEY] = True  # after the training charts of this run, not before them

    @boundary.fragment(run_every=INTERNALS_REFRESH_SECONDS * scale if running and not queued else None)
    def internals_fragment() -> None:
        _draw_internals()

    internals_fragment()


def _draw_internals() -> None:
    trainer = session_run.current_trainer()
    if trainer is not None and st.session_state.get(INTERNALS_OWED_KEY):
        insides.pending(trainer)
    elif trainer is not None:
        try:
            insides.draw(trainer)
        except Exception as exc:  # noqa: BLE001 - a drawing bug must not take the page down
            log.exception("drawing the internals failed")
            st.error(f"Could not draw the network's internals: {type(exc).__name__}: {exc}")


def _draw_training(running: bool, scale: float, joined, queued: bool) -> None:
    """One refresh of the training part of the live panel: the narrative, the status and the charts (or the empty
    and waiting states before the run exists); asks for a full rerun when the run was admitted, ended, or the
    refresh intervals must be set anew."""
    trainer = session_run.current_trainer()
    _narrative(trainer)
    # The same slots whether a run exists or not, so the charts keep their place in the page's element tree and
    # the first run's charts replace the empty ones drawn before Start. Drawn at another place, the browser kept
    # the empty ones (hidden) in front of them until the click's rerun ended, then built the new ones once more:
    # the first chart came about a second later, and blinked out for as long again on a busy machine.
    above, (left, right) = st.container(), _chart_slots()
    if trainer is None:
        if session_run.poll():
            st.rerun()
        if queued and (joined.queue_position is None or not joined.alive):
            st.rerun()  # admitted (or gone): a full run draws the run and sets the charts' refresh rate
        with above:
            if session_run.is_running():
                _waiting_state()
            else:
                _empty_state()
        _empty_charts(left, right)
        return
    if queued:
        st.rerun()  # the run left the queue since the last full run: draw it at the charts' rate
    ended = session_run.poll()
    try:
        with above:
            _status(trainer)
        _charts(trainer, left, right)
    except Exception as exc:  # noqa: BLE001 - a drawing bug must not take the page down
        log.exception("drawing the training charts failed")
        st.error(f"Could not draw the training charts: {type(exc).__name__}: {exc}")
    if ended:
        st.rerun()  # a full run redraws with the timer off, so the fragment stops ticking
    if running and st.session_state.pop(INTERNALS_OWED_KEY, False):
        st.rerun()  # the first refresh after Start: a full run draws the insides and sets the usual intervals
    if running and not ended and max(now := services.refresh_scale(), scale) / min(now, scale) > 1.25:
        st.rerun()  # sessions came or went: a full run sets the refresh intervals anew


def _empty_state() -> None:
    title, description = state.settings_title_and_description()
    # The shipped run's timing is only the settings' when they are still the preset's.
    record = None if state.preset_departures() else precomputed_record(st.session_state["preset"])
    st.info(
        f"**{title}.** {description}" + (f" {timing_sentence(record)}" if record else "") + "\n\n"
        "Press **Start training** to watch the networks learn: the loss curves, how much gradient reaches each "
        "time step, and every gate of the LSTM update live."
    )


def _narrative(trainer: Trainer | None) -> None:
    """Presenter mode: where the headline demo stands, in a banner that stays at the top with the run's numbers,
    a Next step button, and the page scrolled to the chart the step talks about."""
    if not presenter.on() or not narrative.tells_headline(trainer):
        return
    if trainer is None and not narrative.tells_headline_settings(st.session_state.get("task"),
                                                                  st.session_state.get("archs", ())):
        return  # the story of the RNN and the LSTM would be told over a run without them
    stage = narrative.headline_stage(trainer)
    with st.container(key=presenter.BANNER_KEY):
        text, button = st.columns([6, 1], vertical_alignment="center")
        text.info(f"**{stage.label}.** {stage.banner or stage.text}", icon=":material/co_present:")
        help_text, disabled = _next_step_button(trainer, stage)
        button.button("Next step ▶", key="presenter_next", on_click=_next_step, disabled=disabled,
                      help=help_text, width="stretch", type="primary" if trainer is not None else "secondary")
        if stage.chart is not None:
            presenter.scroll_to(stage.chart, f"{st.session_state.get('run_id', 0)}-{stage.index}")
    if stage.banner:
        with st.expander("What to say at this step"):
            st.markdown(stage.text)


def _next_step_button(trainer: Trainer | None, stage: narrative.Stage) -> tuple[str, bool]:
    """(help, disabled) of the Next step button at `stage`."""
    if trainer is None:
        return "Starts the run: the same as Start training.", session_run.is_running()
    if stage.index >= narrative.STAGE_COUNT:
        return "This is the last step.", True
    joined = session_run.subscription()
    if joined is None or joined.replay is None or not joined.alive:
        return "This run trains live: the narrative moves on when the run does.", True
    return "Plays the recorded run on to the end of the next step, and shows its chart.", False


def _play_next_stage(current: int | None = None) -> None:
    """A replayed run jumps to the start of the stage after the one it shows and plays it, holding at its last step
    for the presenter to talk it through; the last stage plays to the end. Before the first stage: from step 0."""
    joined = session_run.subscription()
    if joined is None or joined.replay is None:
        return
    recorded = joined.replay.trainer
    starts = narrative.stage_starts(recorded)
    if current is None:
        current = narrative.headline_stage(session_run.current_trainer()).index
    later = sorted(index for index in starts if index > current)
    if not later:
        return
    after = [starts[index] for index in later[1:]]
    joined.play_until(after[0] - 1 if after else None, start_at=starts[later[0]])


def _start_presenting() -> None:
    """Start in presenter mode: a replayed run holds at the end of the first step it shows."""
    state.start_training()
    _play_next_stage(current=1)


def _next_step() -> None:
    if session_run.current_trainer() is None:
        _start_presenting()
    else:
        _play_next_stage()


def _chart_slots():
    """Where the two training charts go: side by side, or one per row in presenter mode (each large enough to read
    from the back of a room)."""
    return (st.container(), st.container()) if presenter.on() else st.columns(2)


def _empty_charts(left, right) -> None:
    """Where the charts will be, before there is a run: it also has the browser load Plotly before Start."""
    try:
        config = state.config_from_settings()
        loss, gradient = views.empty_charts(config)
    except (LstmVizError, KeyError, ValueError):  # settings Start would refuse with a message: no charts yet
        return
    with left:
        charts.show(loss, "loss_chart", in_zip=False)
    with right:
        charts.show(gradient, "gradient_chart", in_zip=False)


def _waiting_state() -> None:
    """The run waits for a training slot (or is building its model): where it stands, and that it will start."""
    joined = session_run.subscription()
    position = joined.queue_position if joined is not None else None
    server = services.hub().status()
    if position is not None:
        wait = joined.estimated_wait()
        estimate = f" Estimated wait: about {format_wait(wait)}, from how fast this server's jobs run." if wait else ""
        st.info(
            f"**Waiting for a free training slot: position {position} of {server['waiting']}.** This server runs "
            f"at most {server['max_trainings']} jobs at once (trainings, sweeps, lab runs) so that every run keeps its "
            "speed; yours starts automatically when a slot frees up, taking turns fairly between sessions."
            f"{estimate} Runs other sessions already trained (same settings and seed) are shown at once without "
            "queueing.",
            icon=":material/hourglass_top:",
        )
    elif joined is not None and joined.worker is not None and joined.worker.placement != "this server":
        st.info("Starting the run on the Ray cluster: a worker builds the models and measures their initial state "
                "(a worker's first run also loads PyTorch, a few seconds)…", icon=":material/hourglass_top:")
    else:
        st.info("Preparing the run: building the models and measuring their initial state…",
                icon=":material/hourglass_top:")


def _source_note(trainer: Trainer) -> None:
    """Say where the numbers come from when this session did not train them itself."""
    joined = session_run.subscription()
    cluster = joined is not None and joined.worker is not None and joined.worker.placement != "this server"
    if joined is None or joined.source == "trained":
        if cluster:
            verb = "Training" if joined.alive else "Trained"
            st.caption(f":material/hub: {verb} on {joined.worker.placement}, one CPU and one torch thread; another "
                       "replica of this app asking for the same run watches this training instead of repeating it.")
        return
    if joined.source == "shared-live":
        watchers = joined.watchers
        others = f" ({watchers} sessions are watching it)" if watchers > 1 and joined.alive else ""
        who = "Another session of this app (on any replica)" if cluster else "Another session on this server"
        st.caption(f":material/group: **Shared live run.** {who} is training exactly these "
                   f"settings with the same seed, so you are watching that training{others} instead of starting a "
                   "second, identical one.")
        return
    earlier = ("this server or another replica sharing its run store" if services.hub().store is not None
               else "this server")
    where = (f"computed once on {earlier} by an earlier session" if joined.source == "cached"
             else "precomputed with exactly these settings and seed, and shipped with the app")
    left, right = st.columns([4, 1])
    if joined.opened_finished:
        left.caption(
            f":material/history: **Finished run.** This run was {where}: the same settings and seed give the same "
            f"run, so it is shown finished (training took {joined.replay.trainer.elapsed:.0f} s at "
            f"{joined.replay.trainer.steps_per_second:.0f} steps/s). **Replay training** plays its recorded history "
            f"back in about {services.hub().replay_seconds:.0f} s, as it happened."
        )
        right.button("Replay training", key="replay_training", icon=":material/replay:", on_click=state.replay_run,
                     width="stretch")
        return
    if presenter.on():  # one line: the room needs the charts, the presenter knows where the run comes from
        left.caption(f":material/history: **Replayed run**, {where}: every number is the recorded one.")
    else:
        left.caption(
            f":material/history: **Cached result, replayed.** This run was {where}: the same settings and seed give "
            f"the same run, so it is not trained again. Its recorded history plays back in about "
            f"{services.hub().replay_seconds:.0f} s; every number is the recorded one (training took "
            f"{joined.replay.trainer.elapsed:.0f} s at {joined.replay.trainer.steps_per_second:.0f} steps/s)."
        )
    if joined.alive:
        right.button("Skip to end", key="skip_replay", on_click=session_run.skip_replay, width="stretch")


def _status(trainer: Trainer) -> None:
    config = trainer.config
    if st.session_state.get("error"):
        st.error(st.session_state["error"])
    _source_note(trainer)
    fraction = min(1.0, trainer.step / config.max_steps)
    st.progress(fraction, text=f"step {trainer.step:,} of {config.max_steps:,}")
    imported = [run for run in trainer.runs.values() if run.status == IMPORTED_STATUS]
    if imported:
        st.info(f"Showing an imported model: {imported[0].status_detail}. **Start training** trains the settings "
                "on the left instead.")
    columns = st.columns(3 + len(trainer.runs))
    columns[0].metric("Steps per second", "—" if imported else f"{trainer.steps_per_second:.1f}",
                      help="Training steps per second of training time, all architectures together.")
    columns[1].metric("Training time", "—" if imported else f"{trainer.elapsed:.1f} s",
                      help="Time spent training, not waiting between page refreshes.")
    columns[2].metric("No-memory baseline", f"{trainer.baseline:.3f}", help=trainer.task.baseline_description)
    metric_name = trainer.task.metric_name
    for column, run in zip(columns[3:], trainer.runs.values()):
        colour, word = STATUS_BADGES.get(run.status, ("gray", run.status))
        value = run.last_metric
        shown = f"{value:.4f}" if value is not None and math.isfinite(value) else "—"
        column.metric(f"{run.label}: test {metric_name}", shown, help=run.status_detail or None)
        column.markdown(f":{colour}-badge[{word}]")
    if trainer.stop_reason and trainer.stop_reason.startswith("stopped: this server limits a run"):
        st.warning(f"**Time limit reached.** This {trainer.stop_reason.removeprefix('stopped: this ')}, so that a "
                   "shared server stays available to everyone. Lower the step budget, the length or the model size; "
                   "whoever runs the server can raise the limit with LSTM_VIZ_RUN_SECONDS.")
    for run in trainer.runs.values():
        if run.status == "diverged":
            st.warning(f"**{run.label} diverged.** {run.status_detail}.")
    if trainer.finished:
        verdict = trainer.verdict()
        if any(run.status == "solved" for run in trainer.runs.values()):
            st.success(f"**Result:** {verdict}")
        else:
            st.info(f"**Result:** {verdict}")


def _charts(trainer: Trainer, left, right) -> None:
    with left:
        charts.show(views.loss_figure(trainer), "loss_chart", name="test_metric_while_training")
    with right:
        charts.show(views.gradient_figure(trainer), "gradient_chart", name="gradient_per_time_step")
