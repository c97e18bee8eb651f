"""The Train page's Download section: every artefact of the session's run, built only when its button is clicked.

Each button passes a callable to st.download_button, which Streamlit runs on click (a deferred download), so a
page refresh never pays for zips, CSVs or HTML nobody asked for. The callables use the engine only (no st.*).
"""
from __future__ import annotations

from dataclasses import replace

import streamlit as st

from lstm_viz.io import export
from lstm_viz.io.standalone import scripted_archs, standalone_available, standalone_script
from lstm_viz.core.trainer import Trainer
from lstm_viz.ui import charts, session_run


def _file_prefix(trainer: Trainer) -> str:
    config = trainer.config
    return f"lstm_explorer_{config.task}_T{config.length}_seed{config.seed}"


def download_section() -> None:
    """Called once from pages/train.py, after the charts: nothing while training, the buttons once it has ended."""
    trainer = session_run.current_trainer()
    if trainer is None:
        return
    st.subheader("Download this run")
    if session_run.is_running():
        st.caption("The downloads appear here when training ends (or when you press Stop).")
        return
    prefix = _file_prefix(trainer)
    first, second, third = st.columns(3)
    with first:
        _model_and_metrics(trainer, prefix)
    with second:
        _traces(trainer, prefix)
    with third:
        _charts_and_script(trainer, prefix)
    st.caption("PNG of any chart: the camera icon at the chart's top right (shown when the pointer is over it) "
               "saves it at twice the screen resolution.")


def _model_and_metrics(trainer: Trainer, prefix: str) -> None:
    task = trainer.task
    st.download_button(
        "Model (.safetensors + config.json)", data=lambda: export.model_zip_bytes(trainer),
        file_name=f"{prefix}_model.zip", mime="application/zip", key="download_model", on_click="ignore",
        icon=":material/neurology:", width="stretch",
        help="A zip with one .safetensors file per architecture (PyTorch's own parameter names, e.g. "
             "weight_ih_l0, plus readout.weight/bias; latest checkpoint) and config.json. Upload one of the "
             ".safetensors files on the Import a model page to explore it again.",
    )
    st.download_button(
        "Metrics (CSV)", data=lambda: export.metrics_csv_bytes(trainer), file_name=f"{prefix}_metrics.csv",
        mime="text/csv", key="download_metrics", on_click="ignore", icon=":material/table:", width="stretch",
        help=f"Per architecture and step: training loss, gradient norm before clipping, and test "
             f"{task.metric_name} where it was evaluated.",
    )


def _traces(trainer: Trainer, prefix: str) -> None:
    examples, checkpoints = trainer.config.trace_examples, max(len(r.checkpoints) for r in trainer.runs.values())
    csv_examples = export.csv_examples(trainer)
    csv_what = (f"the {examples} shown examples" if csv_examples == examples
                else f"the first {csv_examples} of the {examples} shown examples (the CSV is capped at "
                     f"{export.MAX_TRACE_CSV_ROWS:,} rows)")
    st.download_button(
        "Traces of the shown examples (CSV)", data=lambda: export.traces_csv_bytes(trainer),
        file_name=f"{prefix}_traces.csv", mime="text/csv", key="download_traces_csv", on_click="ignore",
        icon=":material/table:", width="stretch", disabled=csv_examples == 0,
        help=(f"Every gate and state of {csv_what} at each architecture's latest checkpoint, one row per "
              "(arch, checkpoint_step, example, layer, name, t, unit, value)." if csv_examples else
              "One example of this model has more trace values than a CSV should hold: use the NPZ."),
    )
    kept = sum(len(c) for c in export.npz_checkpoints(trainer, export.MAX_TRACE_NPZ_BYTES).values())
    total = sum(len(run.checkpoints) for run in trainer.runs.values())
    st.download_button(
        "Traces at every checkpoint (NPZ)" if kept == total else f"Traces at {kept} of {total} checkpoints (NPZ)",
        data=lambda: export.traces_npz_bytes(trainer),
        file_name=f"{prefix}_traces.npz", mime="application/octet-stream", key="download_traces_npz",
        on_click="ignore", icon=":material/data_array:", width="stretch",
        help=f"NumPy arrays (np.load(..., allow_pickle=False)) of the {examples} shown examples at "
             + (f"all {checkpoints} checkpoints" if kept == total else
                f"{kept} of {total} checkpoints, evenly spread (the arrays are capped at "
                f"{export.MAX_TRACE_NPZ_BYTES // 2**20} MB)")
             + ", gradient norms per step (and a Transformer's attention weights) included; array names in the "
               "README.",
    )


def _charts_and_script(trainer: Trainer, prefix: str) -> None:
    figures = charts.shown_figures()
    st.download_button(
        "Charts (interactive HTML, zip)", data=lambda: export.figures_zip_bytes(figures()),
        file_name=f"{prefix}_charts.zip", mime="application/zip", key="download_charts", on_click="ignore",
        icon=":material/bar_chart:", width="stretch", disabled=not figures(),
        help="One self-contained page per chart on screen (plotly.js inside: opens offline). For a PNG, use the "
             "camera icon at the top right of a chart (it appears when the pointer is over the chart).",
    )
    if standalone_available(trainer.config):
        expected = {arch: run.last_metric for arch, run in trainer.runs.items()}
        st.download_button(
            "Standalone PyTorch script (.py)",
            data=lambda: standalone_script(trainer.config, expected, f"{prefix}.py"),
            file_name=f"{prefix}.py", mime="text/x-python", key="download_script", on_click="ignore",
            icon=":material/code:", width="stretch",
            help="Reproduces this run outside the app with only PyTorch: the same data generator, seed, models "
                 "and training loop; it prints the same final test metric.",
        )
        if len(scripted_archs(trainer.config)) < len(trainer.config.archs):
            st.caption("The script trains this run's recurrent cells; the Transformer is left out (the script "
                       "builds PyTorch's fused recurrent modules only), which changes none of their numbers.")
    elif standalone_available(replace(trainer.config, archs=("lstm",))):
        st.caption("The standalone PyTorch script builds the recurrent cells (RNN, GRU, LSTM) only; this run "
                   "trained only the Transformer. Its model file is in the Model download.")
    else:
        st.caption("A standalone PyTorch script is available for the adding and copy tasks.")
