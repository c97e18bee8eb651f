"""Deploy small's sections: the model picker, the Compress button, then the trade-off chart, the table, the gates
under int8 and the downloads. Numbers from lstm_viz.compression (through job.py), figures from
lstm_viz.figures.compression."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from lstm_viz.figures import compression as figures
from lstm_viz.rules.errors import LstmVizError
from lstm_viz.ui import charts, page_url, session_run
from lstm_viz.ui.deploy import job
from lstm_viz.ui.page_schemas import DEPLOY_FINE_TUNE_STEPS, DEPLOY_SOURCES

COMPRESS_ASKED = "_deploy_compress_asked"
TABLE_COLUMNS = {
    "variant": "variant", "bytes": "bytes", "size_ratio": "x float32 size", "metric": "metric",
    "metric_change": "metric change", "max_abs_diff": "max |diff|", "latency_ms_p50": "p50 ms",
    "latency_ms_p95": "p95 ms", "streaming_ms_per_step_p50": "step p50 ms", "streaming_ms_per_step_p95": "step p95 ms",
    "zero_fraction": "zeros",
}


def pick_model() -> tuple[session_run.ExploredRun, str, int] | None:
    """The Model radio, the Cell control and the fine-tune; None (with a message) when nothing can be compressed."""
    ss = st.session_state
    sources = [source for source in DEPLOY_SOURCES if source != "session" or session_run.current_trainer() is not None]
    page_url.fit("deploy_source", sources, sources[0])
    st.radio("Model", sources, key="deploy_source", format_func=job.SOURCE_LABELS.get, horizontal=True)
    run = job.explored(ss["deploy_source"])
    archs = job.compressible_archs(run)
    if not archs:
        st.warning("This run has no RNN, GRU or LSTM: Deploy small compresses recurrent cells only (a Transformer's "
                   "attention layers are not ones these quantisation tools handle). Pick a shipped model.")
        return None
    page_url.fit("deploy_arch", archs, "lstm" if "lstm" in archs else archs[0])
    left, right = st.columns([2, 1])
    left.segmented_control("Cell", archs, key="deploy_arch", format_func=lambda arch: run.trainer.runs[arch].label)
    right.selectbox("Fine-tune of the pruned models (steps)", DEPLOY_FINE_TUNE_STEPS, key="deploy_fine_tune",
                    help="Adam at a tenth of the run's learning rate on fresh batches; the pruned weights stay 0")
    return run, ss["deploy_arch"] or archs[0], ss["deploy_fine_tune"]


def result_for(run: session_run.ExploredRun, arch: str, steps: int) -> job.Compressed | None:
    """The server's finished result for this model, or the one the Compress button makes now."""
    found = job.finished_result(run, arch, steps)
    # A callback, not `if st.button(...)`: its flag survives the rerun init_session may make.
    st.button("Compress and measure", type="primary", icon=":material/compress:", key="deploy_compress",
              on_click=lambda: st.session_state.update({COMPRESS_ASKED: True}),
              help="Makes every variant and measures it on this server's CPU: a few seconds")
    if st.session_state.pop(COMPRESS_ASKED, False):
        try:
            made = job.compress(run, arch, steps)
        except LstmVizError as error:
            st.error(str(error))
        else:
            if made is None:
                st.warning("The compression was stopped before every variant was measured (the server's time "
                           "limit per job, or it was cancelled). Try fewer fine-tune steps.")
            found = made or found
    if found is None:
        st.info("Press **Compress and measure** to make the variants of this model and measure each on its test set.")
    return found


def tradeoff(result: job.Compressed) -> None:
    st.subheader("Size, metric and latency")
    charts.show(figures.tradeoff_figure(result.rows, title=f"Every variant: {result.label}"), "deploy_tradeoff",
                name="deploy_small_tradeoff", in_zip=False)
    st.caption(f"Latency on this server's CPU: {result.method} Size: the variant's file on disk. Metric: the task's "
               "own, on the test set the run was evaluated on (lower is better).")


VARIANT_NOTES = (
    "**int8 (onnxruntime)** is the maintained int8 path: onnxruntime's dynamic quantisation of the exported ONNX "
    "graph, with an int8 LSTM op of its own (for a GRU or an RNN only the matrix products become int8). "
    "**int8 (torch dynamic, deprecated)** is PyTorch's `torch.ao.quantization.quantize_dynamic`, deprecated for "
    "torchao, whose own int8 covers linear layers only; it is kept as the int8 that runs in PyTorch itself. "
    "**float16 / bfloat16** also compute in that type: PyTorch's CPU kernels have no fast half-precision path on "
    "most CPUs, so they are smaller but not faster here. **Pruned** files store only the nonzero weights and a bit "
    "mask; they run dense, so the zeros save bytes, not time."
)


def table(result: job.Compressed) -> None:
    frame = pd.DataFrame(result.rows)[list(TABLE_COLUMNS)].rename(columns=TABLE_COLUMNS)
    # Every row in view: 35 px per row as Streamlit draws them, plus the header.
    st.dataframe(frame, hide_index=True, width="stretch", height=35 * (len(frame) + 1) + 3, key="deploy_table",
                 column_config={
                     "bytes": st.column_config.NumberColumn(format="localized"),
                     "x float32 size": st.column_config.NumberColumn(format="%.3f"),
                     "metric": st.column_config.NumberColumn(format="%.4g"),
                     "metric change": st.column_config.NumberColumn(format="percent"),
                     "max |diff|": st.column_config.NumberColumn(format="%.1e"),
                     **{column: st.column_config.NumberColumn(format="%.3f") for column in
                        ("p50 ms", "p95 ms", "step p50 ms", "step p95 ms")},
                     "zeros": st.column_config.NumberColumn(format="percent"),
                 })
    st.caption("Zeros: counted for the pruned variants only. The step columns time one step of streaming "
               "inference, the state carried (the ONNX graphs take the state as inputs).")
    st.markdown(VARIANT_NOTES)
    variants_by_note: dict[str, list[str]] = {}
    for row in result.rows:
        for note in row["notes"]:
            variants_by_note.setdefault(note, []).append(row["variant"])
    st.caption(" · ".join(f"**{', '.join(variants) if len(variants) < 3 else 'every pruned variant'}**: {note}"
                          for note, variants in variants_by_note.items()))


def gates(result: job.Compressed) -> None:
    shift = result.shift
    st.subheader("How far the gates move under int8")
    if not shift.recurrent_quantised:
        st.info("PyTorch has no int8 kernel for the tanh RNN, so its recurrent weights stay float32 and its "
                "pre-activations do not move; only the readout is int8.")
    moved = ", ".join(f"{name.replace('_', ' ')} {value:.3f}" for name, value in shift.largest_shift().items())
    st.caption(f"Recomputed from the int8 weights dequantised (PyTorch's dynamic int8, per-tensor scales), on "
               f"{job.GATE_EXAMPLES} test sequences. Largest move: {moved}. Only the weights' rounding is here; the "
               "int8 rounding of each step's input at run time is in the table's max |diff|.")
    charts.show(figures.gate_histograms_figure(shift, title="Gate values with float32 and with int8 weights"),
                "deploy_gates", name="deploy_small_gates", in_zip=False)
    charts.show(figures.state_figure(shift, title="One test sequence: the state, float32 against int8 weights"),
                "deploy_state", name="deploy_small_state", in_zip=False)


def downloads(result: job.Compressed) -> None:
    st.subheader("Download the variants")
    st.caption("safetensors files hold no code (int8 ones: int8 weights with their scale and zero point; pruned "
               "ones: the nonzero weights and a bit mask); the .onnx files run in onnxruntime.")
    columns = st.columns(3)
    for index, row in enumerate(result.rows):
        data = result.files[row["file"]]
        columns[index % 3].download_button(f"{row['variant']} ({len(data) / 1024:.1f} kB)", data, file_name=row["file"],
                                           mime="application/octet-stream", key=f"deploy_download_{index}",
                                           icon=":material/download:", on_click="ignore", help=row["file"],
                                           width="stretch")
