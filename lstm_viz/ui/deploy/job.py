"""Deploy small's compression job: which model (a shipped run or the session's), and its compression run as one job
of the server's scheduler with a progress bar and an honest time left, its result kept per server.

The result depends on the model, the cell and the fine-tune only (latencies are measured afresh, but a classroom
asking for the shipped adding LSTM needs one measurement, not thirty), so it is memoised by the run's identity.
"""
from __future__ import annotations

import copy
import tempfile
from dataclasses import dataclass
from pathlib import Path

import streamlit as st
import torch

from lstm_viz.compression.deployable import RECURRENT_CELLS
from lstm_viz.compression.gate_shift import GateShift, gate_shift
from lstm_viz.compression.latency import Timing
from lstm_viz.compression.report import compress_model, fine_tune_for, rows_json
from lstm_viz.compression.variants import variant_count
from lstm_viz.io.export import checkpoint_model
from lstm_viz.runs.bundled import EXPLORER_RUN, SENTIMENT_RUN, load_bundled_run
from lstm_viz.runs.scheduler import describe_wait, wait_for
from lstm_viz.ui import memo, services, session_run
from lstm_viz.ui.memo import SharedMemo

SOURCE_LABELS = {EXPLORER_RUN: "Shipped: adding problem, T = 100", SENTIMENT_RUN: "Shipped: sentiment of reviews",
                 "session": "Your run (Train page)"}
# The page's timing: fewer repeats than the CLI's 50, so a compression takes seconds; the method is shown with it.
PAGE_TIMING = Timing(repeats=30, warmup=3, streaming_repeats=3)
GATE_EXAMPLES = 16  # test sequences whose gates the histograms count
RESULTS_KEPT = 16  # per server: a result holds its variant files (tens of kB to a few MB)


@dataclass(frozen=True)
class Compressed:
    rows: list[dict]
    files: dict[str, bytes]  # file name -> the variant's file, for the download buttons
    shift: GateShift
    method: str
    label: str  # which model, in words


@st.cache_resource
def _results() -> SharedMemo:
    return SharedMemo(RESULTS_KEPT)


def explored(source: str) -> session_run.ExploredRun | None:
    """The run `source` names; None for "session" when the session has no run."""
    if source == "session":
        trainer = session_run.current_trainer()
        return None if trainer is None else session_run.session_explored(trainer)
    return session_run.ExploredRun(trainer=load_bundled_run(source), source="bundled", run_key=f"bundled:{source}")


def compressible_archs(run: session_run.ExploredRun) -> list[str]:
    return [arch for arch in run.trainer.runs if arch in RECURRENT_CELLS]


def _result_key(run: session_run.ExploredRun, arch: str, steps: int) -> tuple:
    checkpoint = run.trainer.runs[arch].checkpoints[-1].step
    return memo.run_identity(run), arch, checkpoint, steps


def finished_result(run: session_run.ExploredRun, arch: str, steps: int) -> Compressed | None:
    return _results().get(_result_key(run, arch, steps))


def _compute(run: session_run.ExploredRun, arch: str, steps: int, ticket) -> Compressed | None:
    trainer, arch_run = run.trainer, run.trainer.runs[arch]
    # A private copy of the latest checkpoint's weights: the live model may belong to a training thread.
    if run.source == "session":
        model = checkpoint_model(arch_run.model, arch_run.checkpoints[-1])
    else:
        model = copy.deepcopy(arch_run.model)  # the shipped run is shared by every session
    with tempfile.TemporaryDirectory(prefix="lstm-viz-compress-") as folder:
        rows = compress_model(model, trainer.task, trainer.test_inputs, trainer.test_targets, Path(folder),
                              fine_tune=fine_tune_for(trainer.config, steps), timing=PAGE_TIMING,
                              progress=lambda done, total, what: ticket.progress(done), should_stop=ticket.should_stop)
        if ticket.should_stop() or len(rows) < variant_count(fine_tune_for(trainer.config, steps)):
            return None
        files = {row.file: (Path(folder) / row.file).read_bytes() for row in rows}
    shift = gate_shift(model, trainer.test_inputs[:GATE_EXAMPLES])
    config = trainer.config
    label = f"{arch_run.label}, {trainer.task.label}, T = {config.length}, hidden size {config.hidden_size}"
    return Compressed(rows_json(rows), files, shift, PAGE_TIMING.method(), label)


def compress(run: session_run.ExploredRun, arch: str, steps: int) -> Compressed | None:
    """Run the compression as a job of the server's scheduler, showing its place in the queue, then its progress
    and the time left measured from the variants done so far. None if it was stopped."""
    key = _result_key(run, arch, steps)
    total = variant_count(fine_tune_for(run.trainer.config, steps))
    threads = services.hub().torch_threads

    def work(ticket):
        torch.set_num_threads(threads)  # as every job of the scheduler: its torch threads (one by default)
        return _compute(run, arch, steps, ticket)

    job = services.scheduler().spawn(work, owner=services.session_owner(),
                                     kind="compress", units=total, key=("compress", *key), label="compression")
    bar = st.empty()

    def show(view) -> None:
        ticket = view.ticket
        waiting = describe_wait(ticket)
        if waiting:
            bar.info(f"Waiting for the server: {waiting}.", icon=":material/hourglass_top:")
            return
        done = int(ticket.done_units)
        clock = ticket.scheduler.clock
        elapsed = clock() - (ticket.started_at or clock())
        left = f", about {elapsed / done * (total - done):.0f} s left" if done else ""
        bar.progress(done / total, text=f"Making and measuring variant {min(done + 1, total)} of {total}{left}")

    try:
        result = wait_for(job, show)
    finally:
        bar.empty()
    if result is not None:
        _results().put(key, result)
    return result
