"""The Forecast and anomalies page: the session's forecaster if it trained one, else the bundled airline run."""
from __future__ import annotations

import copy
import logging

import pandas as pd
import streamlit as st

from lstm_viz.analysis.anomaly import DROPOUT_LENGTH, SHIFT_LENGTH, SHIFT_SIZE, SPIKE_SIZE, detect_anomalies
from lstm_viz.runs.bundled import FORECAST_RUN, load_bundled_run
from lstm_viz.rules.errors import LstmVizError
from lstm_viz.analysis.forecasting import evaluate_forecasts
from lstm_viz.figures.series import anomaly_figure, forecast_figure
from lstm_viz.core.trainer import SEED_RANGE, Trainer
from lstm_viz.ui import charts, page_url, session_run

log = logging.getLogger(__name__)


def _explored() -> session_run.ExploredRun:
    trainer = session_run.current_trainer()
    if trainer is not None and trainer.config.task == "forecast":
        return session_run.session_explored(trainer)
    return session_run.ExploredRun(trainer=load_bundled_run(FORECAST_RUN), source="bundled", run_key=f"bundled:{FORECAST_RUN}")


def _models(explored: session_run.ExploredRun) -> dict:
    """method -> (label, a private model holding the run's latest checkpoint)."""
    models = {}
    for arch, run in explored.trainer.runs.items():
        if explored.source == "session":
            model = copy.deepcopy(session_run.trace_model(arch))  # the trace copy may hold any checkpoint: use our own
        else:
            model = explored.model(arch)
        model.load_state_dict(run.checkpoints[-1].state_dict)
        models[arch] = (run.label, model)
    return models


def forecast_page() -> None:
    explored = _explored()
    trainer: Trainer = explored.trainer
    config = trainer.config
    if explored.source == "bundled":
        st.info(
            "Showing the **bundled run**: airline passengers, RNN and LSTM trained on 1949-1956 (400 steps, seed 0). "
            "Train a *Forecast a time series* run on the Train page (preset *Forecast airline passengers a year "
            "ahead*, or any series or your own CSV) to see yours here."
        )
    elif session_run.is_running():
        st.caption(f"Your run is training (step {trainer.step}); this page shows its latest checkpoint. Reload to update.")
    try:
        models = _models(explored)
        _forecast_section(trainer, models)
        _anomaly_section(trainer, models)
    except LstmVizError as error:
        st.error(str(error))
    except Exception as error:  # noqa: BLE001 - a drawing bug must not take the page down
        log.exception("the forecast page failed")
        st.error(f"Could not draw this page: {type(error).__name__}: {error}")
    st.caption(f"Run: {config.task_options or 'airline (default)'}; input window {config.length}, "
               f"{', '.join(run.label for run in trainer.runs.values())}, hidden size {config.hidden_size}, "
               f"step {trainer.step}, {trainer.elapsed:.1f} s of training.")


def _forecast_section(trainer: Trainer, models: dict) -> None:
    task, length = trainer.task, trainer.config.length
    evaluation = evaluate_forecasts(task, length, models)
    st.subheader("Multi-step forecast on the held-out test part")
    charts.show(forecast_figure(evaluation), "forecast_chart", name=f"forecast_{evaluation.horizon}_steps_test_part",
                in_zip=False)
    errors = evaluation.errors()
    naive_mae = errors["naive"][0]
    table = pd.DataFrame(
        [(evaluation.labels[name], mae, rmse, mae / naive_mae) for name, (mae, rmse) in errors.items()],
        columns=["forecast", f"MAE ({evaluation.unit})", f"RMSE ({evaluation.unit})", "MAE / naive MAE"],
    )
    st.dataframe(table, hide_index=True, width="stretch", key="forecast_errors",
                 column_config={c: st.column_config.NumberColumn(format="%.3f" if "/" in c else "%.2f")
                                for c in table.columns[1:]})
    st.caption(
        f"Errors over all {len(evaluation.origins)} forecast origins of the test part "
        f"({evaluation.times[evaluation.val_end]} to {evaluation.times[-1]}) and every step of the {evaluation.horizon}-step "
        "horizon, in the series' units. The chart draws the forecasts from origins one horizon apart (dotted lines). "
        "The scaler saw only the training part; the models read the last "
        f"{length} values as changes from the last one and forecast all {evaluation.horizon} steps at once."
    )


def _anomaly_section(trainer: Trainer, models: dict) -> None:
    task, length = trainer.task, trainer.config.length
    st.subheader("Anomaly detection with the forecaster")
    st.markdown(
        f"Anomalies are injected into the test part: **spikes** (±{SPIKE_SIZE:g} standard deviations of the training "
        f"part's one-step changes), **level shifts** ({SHIFT_LENGTH} values moved by ±{SHIFT_SIZE:g} of them) and "
        f"**dropouts** ({DROPOUT_LENGTH} values reading zero). Each value's score is the forecaster's one-step error; "
        "the threshold is the largest score on the clean validation part."
    )
    methods = [*models, "naive"]
    labels = {**{name: label for name, (label, _) in models.items()}, "naive": "naive (last value)"}
    page_url.fit("forecast_detector", methods, methods[-2] if len(methods) > 1 else methods[0])
    left, right, _ = st.columns([1, 2, 2])
    seed = left.number_input(f"Injection seed ({SEED_RANGE[0]}–{SEED_RANGE[1]:,})", min_value=SEED_RANGE[0],
                             max_value=SEED_RANGE[1], step=1, key="forecast_anomaly_seed",
                             help="Where the anomalies go and their signs; the same seed, the same anomalies.")
    detector = right.segmented_control("Detector shown", methods, key="forecast_detector", format_func=labels.get,
                                       help="Whose flags and scores the chart shows; the table lists all.")
    report = detect_anomalies(task, length, models, int(seed))
    series = task.series
    shown = detector or methods[0]
    charts.show(anomaly_figure(report, series.times, series.unit, shown, series.train_end, series.val_end),
                "anomaly_chart", name=f"anomalies_{shown}_seed{int(seed)}", in_zip=False)
    labelled = int(report.test_labels.sum())
    table = pd.DataFrame(
        [(d.label, d.threshold, int(d.flags.sum()), d.precision, d.recall, d.f1) for d in report.detections.values()],
        columns=["detector", "threshold", "flagged", "precision", "recall", "F1"],
    )
    st.dataframe(table, hide_index=True, width="stretch", key="anomaly_scores",
                 column_config={c: st.column_config.NumberColumn(format="%.3f")
                                for c in ("threshold", "precision", "recall", "F1")})
    kinds = ", ".join(f"{item.kind} at {series.times[item.start]}" for item in report.injected.injections)
    st.caption(f"{labelled} of {len(report.test_labels)} test values are anomalous ({kinds}). Precision, recall and "
                  "F1 count values. A level shift is easy to catch where it starts and ends, hard in between: the "
                  "forecaster's window fills with shifted values.")
