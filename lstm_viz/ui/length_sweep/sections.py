"""The Length sweep page's widgets and live panel (the thread and settings live in sweep_state)."""
from __future__ import annotations

import logging

import streamlit as st

from lstm_viz.core.architectures import ARCHITECTURES
from lstm_viz.core.model import HIDDEN_SIZE_RANGE
from lstm_viz.runs.sweep import (
    POINT_CACHE, MAX_SEEDS, STEPS_PER_POINT_RANGE, SavedSweep, SweepConfig, SweepRow, SweepSnapshot, format_duration,
    load_precomputed_sweep, load_published_results, result_table,
)
from lstm_viz.runs.scheduler import format_wait
from lstm_viz.figures.sweep import figure_for_sweep
from lstm_viz.core.tasks import TASKS
from lstm_viz.core.trainer import BATCH_SIZE_RANGE, LEARNING_RATE_RANGE
from lstm_viz.ui import boundary, charts
from lstm_viz.ui.length_sweep import sweep_state

log = logging.getLogger(__name__)


@st.cache_data(show_spinner=False)
def _precomputed() -> SavedSweep:
    return load_precomputed_sweep()


@st.cache_data(show_spinner=False)
def _published():
    return load_published_results()


def settings_sidebar() -> None:
    disabled = sweep_state.is_running()
    with st.sidebar:
        st.header("Sweep settings")
        if disabled:
            st.caption("Stop the sweep to change the settings.")
        st.selectbox("Task", sweep_state.sweep_tasks(), key="sweep_task", format_func=lambda name: TASKS[name].label,
                     on_change=sweep_state.on_task_change, disabled=disabled)
        st.multiselect(
            "Sequence lengths T", sweep_state.length_choices(st.session_state["sweep_task"]), key="sweep_lengths",
            disabled=disabled, help="Each architecture trains once per length (and seed), from scratch.",
        )
        st.multiselect("Architectures", list(ARCHITECTURES), key="sweep_archs", disabled=disabled,
                       format_func=lambda name: ARCHITECTURES[name].label)
        left, right = st.columns(2)
        left.number_input("Steps per point", min_value=STEPS_PER_POINT_RANGE[0], max_value=STEPS_PER_POINT_RANGE[1], step=100, key="sweep_steps",
                          disabled=disabled,
                          help="The training budget of every point; a point stops early when it solves the task.")
        right.number_input("Seeds", min_value=1, max_value=MAX_SEEDS, step=1, key="sweep_seeds", disabled=disabled,
                           help="Seeds 0, 1, ...: each point is trained once per seed; the chart shows the mean "
                                "and every seed.")
        left.number_input("Hidden size", min_value=HIDDEN_SIZE_RANGE[0], max_value=HIDDEN_SIZE_RANGE[1], step=8, key="sweep_hidden", disabled=disabled)
        right.number_input("Batch size", min_value=BATCH_SIZE_RANGE[0], max_value=BATCH_SIZE_RANGE[1], step=16, key="sweep_batch", disabled=disabled)
        st.number_input("Learning rate (Adam)", min_value=LEARNING_RATE_RANGE[0], max_value=LEARNING_RATE_RANGE[1], step=1e-3, format="%.4g",
                        key="sweep_lr", disabled=disabled, help="Gradient clipping at 1, as on the Train page.")


def start_stop() -> None:
    running = sweep_state.is_running()
    config = sweep_state.config_from_settings()
    problem = None
    try:
        config.validate()
    except Exception as exc:  # noqa: BLE001 - shown as a hint; Start reports it properly
        problem = str(exc)
    left, right, info = st.columns([1, 1, 4])
    left.button("▶ Start sweep", type="primary", key="sweep_start", on_click=sweep_state.start_sweep,
                disabled=running, width="stretch")
    right.button("■ Stop", key="sweep_stop", on_click=sweep_state.stop_sweep, disabled=not running, width="stretch")
    if problem is not None:
        info.warning(f"Check the sweep settings: {problem}")
    else:
        points = config.points()
        cached = sum(POINT_CACHE.get(config.run_config(point)) is not None for point in points)
        seconds = config.estimated_seconds(POINT_CACHE)
        text = (f"{len(points)} points ({len(config.lengths)} lengths × {len(config.archs)} architectures × "
                f"{len(config.seeds)} seed{'s' if len(config.seeds) > 1 else ''}), up to {config.steps_per_point:,} "
                "steps each")
        if cached == len(points):
            text += ": all already computed on this server, so Start shows them at once."
        else:
            text += (f": at most about **{format_duration(seconds)}** of training on a quiet 2-core machine, less "
                     "where a point solves early, several times more while other sessions train.")
            if cached:
                text += (f" {cached} of them {'is' if cached == 1 else 'are'} already computed on this server "
                         "and cost nothing.")
        info.caption(text)
    if sweep_state.handle().error:
        st.error(sweep_state.handle().error)


def live_panel() -> None:
    running = sweep_state.is_running()

    @boundary.fragment(run_every=sweep_state.REFRESH_SECONDS if running else None)
    def sweep_fragment() -> None:
        current = sweep_state.snapshot()
        ended = sweep_state.poll()
        try:
            if current is None:
                _precomputed_view()
            else:
                _session_view(current)
        except Exception as exc:  # noqa: BLE001 - a drawing bug must not take the page down
            log.exception("drawing the sweep failed")
            st.error(f"Could not draw the sweep: {type(exc).__name__}: {exc}")
        if ended:
            st.rerun()  # a full run redraws with the timer off and Start enabled again

    sweep_fragment()
    _published_table()


def _precomputed_view() -> None:
    saved = _precomputed()
    config, info = saved.config, saved.info
    st.info(
        f"**Precomputed sweep**, shipped with the app (generated {info.get('generated', '?')} by "
        f"`{info.get('script', 'scripts/precompute_sweep.py')}`, {info.get('wall_seconds', '?')} s on "
        f"{info.get('machine', '?')}): "
        f"{_settings_text(config)}. Press **Start sweep** to run your own; finished points appear as they arrive."
    )
    _chart_and_table(config, list(saved.rows), key="precomputed")


def _session_view(snap: SweepSnapshot) -> None:
    config = snap.config
    if snap.status == "running":
        current = snap.current
        if current is None:
            text = f"starting: {snap.point_count} points"
        elif snap.queue_position is not None:
            text = (f"point {current.point_index + 1} of {snap.point_count}: {current.point.label}: waiting for a "
                    f"free slot on this server (it runs every session's jobs in turn), position "
                    f"{snap.queue_position} in the queue"
                    + (f", about {format_wait(snap.queue_wait)} to wait" if snap.queue_wait is not None else ""))
        elif current.waiting:
            text = (f"point {current.point_index + 1} of {snap.point_count}: {current.point.label}: another session "
                    "is training this point; its result will be used")
        elif current.row is None:
            text = (f"point {current.point_index + 1} of {snap.point_count}: {current.point.label}, "
                    f"step {current.step:,} of {current.max_steps:,}")
        else:
            text = f"point {current.point_index + 1} of {snap.point_count} done: {current.point.label}"
        text += (f" · {format_duration(snap.elapsed)} so far, at most about "
                 f"{format_duration(snap.remaining_seconds())} left")
        st.progress(snap.fraction, text=text)
    elif snap.status == "finished":
        st.progress(1.0, text=f"all {snap.point_count} points done in {format_duration(snap.elapsed)}")
    elif snap.status == "stopped":
        st.progress(snap.fraction, text=f"stopped: {snap.finished_count} of {snap.point_count} points finished "
                                        f"({format_duration(snap.elapsed)}); an unfinished point is never kept")
    else:
        st.error(f"The sweep stopped because of an unexpected error: {snap.error}. The finished points are shown; "
                 "try other settings or start again.")
    st.caption(f"Your sweep: {_settings_text(config)}.")
    _chart_and_table(config, list(snap.rows), key="session")


def _settings_text(config: SweepConfig) -> str:
    task = config.make_task()
    archs = ", ".join(ARCHITECTURES[arch].label for arch in config.archs)
    seeds = ", ".join(str(seed) for seed in config.seeds)
    return (f"{task.label}, T = {', '.join(str(length) for length in config.lengths)}; {archs}; "
            f"H = {config.hidden_size}, batch {config.batch_size}, {config.optimizer.capitalize()} lr "
            f"{config.learning_rate:g}, clipping {config.clip_grad_norm:g}; up to {config.steps_per_point:,} steps per "
            f"point, stopping when solved; seed{'s' if len(config.seeds) > 1 else ''} {seeds}")


def _chart_and_table(config: SweepConfig, rows: list[SweepRow], key: str) -> None:
    figure = figure_for_sweep(config, rows, _published())
    charts.show(figure, f"sweep_chart_{key}", name=f"length_sweep_{config.task}_{key}", in_zip=False)
    if not rows:
        st.caption("No point has finished yet.")
        return
    table = result_table(rows)
    table["arch"] = [ARCHITECTURES[arch].label for arch in table["arch"]]
    # Text, so an unsolved point shows a dash rather than "None".
    table["solved_step"] = [str(row.solved_step) if row.solved_step is not None else "—" for row in rows]
    metric = rows[0].metric_name
    st.dataframe(
        table.drop(columns=["task"]), hide_index=True, width="stretch", key=f"sweep_table_{key}",
        column_config={
            "arch": "architecture",
            "length": st.column_config.NumberColumn("T"),
            "final_metric": st.column_config.NumberColumn(f"final {metric}", format="%.4f"),
            "best_metric": st.column_config.NumberColumn(f"best {metric}", format="%.4f"),
            "baseline": st.column_config.NumberColumn("baseline", format="%.4f"),
            "solved_step": st.column_config.TextColumn("solved at step"),
            "wall_seconds": st.column_config.NumberColumn("seconds", format="%.1f"),
            "steps_trained": st.column_config.NumberColumn("steps"),
            "beats_baseline": st.column_config.CheckboxColumn("below 90% of baseline"),
            "cached": st.column_config.CheckboxColumn("from cache"),
        },
    )
    _summary(rows)


def _summary(rows: list[SweepRow]) -> None:
    """One line per architecture: the lengths it solved, the lengths where it stayed on the baseline."""
    lines = []
    for arch in dict.fromkeys(row.arch for row in rows):
        arch_rows = [row for row in rows if row.arch == arch]
        solved = sorted({row.length for row in arch_rows if row.solved_step is not None})
        beaten = sorted({row.length for row in arch_rows if row.beats_baseline and row.solved_step is None})
        stuck = sorted({row.length for row in arch_rows if not row.beats_baseline})
        parts = []
        if solved:
            parts.append(f"solved T = {', '.join(map(str, solved))}")
        if beaten:
            parts.append(f"beat the baseline without solving at T = {', '.join(map(str, beaten))}")
        if stuck:
            parts.append(f"no better than the baseline at T = {', '.join(map(str, stuck))}")
        lines.append(f"- **{arch_rows[0].label}**: {'; '.join(parts)}.")
    st.markdown("\n".join(lines))


def _published_table() -> None:
    results = [r for r in _published() if r.task == st.session_state.get("sweep_task", "adding")]
    with st.expander("Published results on this chart, with their setups and citations", expanded=False):
        st.markdown(
            "The strip above the chart marks where a paper reports a cell beating the no-memory baseline (●) or "
            "not (×). These are qualitative: the papers trained bigger networks far longer (below), so they show "
            "what is possible, not what this app's small budget should reproduce. A cell this app does not train "
            "(IRNN) is drawn in pink."
        )
        if not results:
            st.caption("No published results are bundled for this task.")
            return
        import pandas as pd

        st.dataframe(pd.DataFrame.from_records([{
            "source": r.short, "cell": r.cell, "T": r.length,
            "beat the baseline": "yes" if r.beats_baseline else "no", "note": r.note, "setup": r.setup,
        } for r in results]), hide_index=True, width="stretch", key="sweep_published_table")
        for source in dict.fromkeys((r.short, r.citation, r.url) for r in results):
            st.markdown(f"- **{source[0]}**: {source[1]} [{source[2]}]({source[2]})")
