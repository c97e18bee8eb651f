"""The Length sweep page's measured sections: what a longer sequence costs each architecture (time, memory, the state
streaming needs) and how each generalises from its training length to 2T and 4T. Both are read from the benches'
JSON in assets/measurements/ (bench/transformer_cost.py, bench/length_generalisation.py), never measured here."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from lstm_viz.core.architectures import ARCHITECTURES
from lstm_viz.core.model import ModelConfig
from lstm_viz.core.streaming import streaming_state
from lstm_viz.core.tasks import get_task
from lstm_viz.figures.cost import cost_figure
from lstm_viz.rules.errors import LstmVizError
from lstm_viz.runs import measurements
from lstm_viz.ui import charts

VARIANT_LABELS = {"rnn": "RNN (tanh)", "gru": "GRU", "lstm": "LSTM", "transformer-sinusoidal":
                  "Transformer, sinusoidal positions", "transformer-learned": "Transformer, learned positions"}


@st.cache_data(show_spinner=False)
def _cost() -> dict | None:
    try:
        return measurements.load_cost()
    except LstmVizError:
        return None


@st.cache_data(show_spinner=False)
def _generalisation() -> dict | None:
    try:
        return measurements.load_length_generalisation()
    except LstmVizError:
        return None


def _load_text(values) -> str:
    return " / ".join(f"{value:.2f}" for value in values)


def _machine_text(result: dict) -> str:
    machine = result["machine"]
    return (f"{machine['cpu']}, {machine['cores']} cores, torch {machine['torch']}, one torch thread; load average "
            f"(1 / 5 / 15 min) {_load_text(result['load_average_before'])} before, "
            f"{_load_text(result['load_average_after'])} after")


def _crossovers(cost: dict) -> list[measurements.Crossover]:
    return [measurements.crossover(cost, "transformer", reference, quantity)
            for quantity in ("cpu_seconds_per_step", "peak_rss_mb")
            for reference in cost["archs"] if reference != "transformer"]


def _crossover_sentence(found: measurements.Crossover) -> str:
    reference = ARCHITECTURES[found.reference].label
    if found.length:
        return f"than the {reference} from T ≈ {found.length:.0f} on (between {found.below} and {found.above})"
    if found.below is None:
        return f"than the {reference} at every measured T"
    return f"than the {reference} at no measured T (up to {found.below})"


def crossover_phrases(crossovers: list[measurements.Crossover]) -> list[str]:
    """One phrase per crossover, those dearer at every measured T joined into one ("than the RNN (tanh), the GRU
    and the LSTM at every measured T") rather than said three times over."""
    always = [ARCHITECTURES[c.reference].label for c in crossovers if not c.length and c.below is None]
    phrases = [_crossover_sentence(c) for c in crossovers if c.length or c.below is not None]
    if always:
        names = [f"the {label}" for label in always]
        joined = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        phrases.insert(0, f"than {joined} at every measured T")
    return phrases


def cost_section() -> None:
    st.subheader("What a longer sequence costs: measured")
    cost = _cost()
    if cost is None:
        st.info("No cost measurement is shipped: run `python bench/transformer_cost.py`.")
        return
    crossovers = _crossovers(cost)
    fits = [measurements.quadratic_fit(cost, "transformer", quantity) for quantity in ("cpu_seconds_per_step", "peak_rss_mb")]
    settings = cost["settings"]
    counted = measurements.counted_balance("transformer", settings["hidden_size"],
                                           get_task(settings["task"]).input_size)
    st.caption(
        f"Measured {cost['started_utc'][:10]} by `bench/transformer_cost.py` on {_machine_text(cost)}"
        f"{', another process keeping one core busy' if cost['busy_core'] else ''}. Each point is the Trainer's "
        "own training step (batch, forward, backward, clipping, Adam) in a fresh process, best of "
        f"{cost['settings']['rounds']} x 3 timed rounds; memory is the peak RSS the model's training added.")
    charts.show(cost_figure(cost, crossovers, fits, counted), "cost_chart", name="cost_vs_length", in_zip=False)
    for quantity, what in (("cpu_seconds_per_step", "CPU time"), ("peak_rss_mb", "Memory")):
        found = crossover_phrases([c for c in crossovers if c.quantity == quantity])
        fit = next(fit for fit in fits if fit.quantity == quantity)
        balance = (f"its fitted T² term passes its T term at T ≈ {fit.balance:.0f}" if fit.balance
                   else "the fit finds no T² term growing faster than its T term")
        st.markdown(f"- **{what}**: the Transformer is dearer {'; '.join(found)}; {balance}.")
    lstm_fit = measurements.quadratic_fit(cost, "lstm", "cpu_seconds_per_step")
    st.caption(
        f"Counted, one layer's operations (2 x T x T x H for the scores and the weighted sum, 12 x H² per position "
        f"for the projections and the feed-forward block) balance at T ≈ {counted:.0f} (6 H). A fitted T² term is "
        "not attention's alone: memory traffic bends the recurrences' curves too (the LSTM's fit balances at T ≈ "
        f"{lstm_fit.balance:.0f}), so read the fits as a description of the measured curve, not a cause."
        if counted and lstm_fit.balance else "")
    with st.expander("Every measured point, with its ratio to the LSTM at the same T"):
        st.dataframe(_cost_table(cost), hide_index=True, width="stretch", key="cost_table")
    _streaming_table(cost)


def _cost_table(cost: dict) -> pd.DataFrame:
    time_ratio = {arch: measurements.ratio_to(cost, arch, "lstm", "cpu_seconds_per_step") for arch in cost["archs"]}
    memory_ratio = {arch: measurements.ratio_to(cost, arch, "lstm", "peak_rss_mb") for arch in cost["archs"]}
    return pd.DataFrame.from_records([{
        "architecture": ARCHITECTURES[point["arch"]].label, "T": point["length"],
        "CPU ms per step": round(point["cpu_seconds_per_step"] * 1e3, 2),
        "CPU time / LSTM": round(time_ratio[point["arch"]][point["length"]], 2),
        "wall ms per step": round(point["seconds_per_step"] * 1e3, 2),
        "peak MB added": round(point["peak_rss_mb"], 1),
        "memory / LSTM": round(memory_ratio[point["arch"]][point["length"]], 2),
        "parameters": point["parameters"],
    } for point in cost["points"]])


def _streaming_table(cost: dict) -> None:
    settings = cost["settings"]
    task = get_task(settings["task"])
    st.markdown("**The state streaming inference keeps** (one sequence, predicting one new input at a time), "
                f"counted from the configuration: H = {settings['hidden_size']}, {settings['num_layers']} layer.")
    records = []
    for arch in cost["archs"]:
        config = ModelConfig.for_task(arch, task, hidden_size=settings["hidden_size"],
                                      num_layers=settings["num_layers"], heads=settings["heads"])
        states = [streaming_state(config, length) for length in cost["lengths"]]
        records.append({"architecture": ARCHITECTURES[arch].label, "what it keeps": states[0].what.split(":")[0],
                        "grows with T": "O(T)" if states[0].grows_with_steps else "O(1)",
                        **{f"T={state.steps}": f"{state.floats:,} floats" for state in states}})
    st.dataframe(pd.DataFrame.from_records(records), hide_index=True, width="stretch", key="streaming_table")


BASELINE_ROW = "no-memory baseline (in brackets: the best possible)"


def generalisation_section() -> None:
    st.subheader("Train at T, test at 2T and 4T: measured")
    result = _generalisation()
    if result is None:
        st.info("No length-generalisation measurement is shipped: run `python bench/length_generalisation.py`.")
        return
    setups = "; ".join(f"{get_task(s['task']).label} T = {s['length']}, ≤ {s['max_steps']:,} steps, lr "
                       f"{s['learning_rate']:g} (Transformer {s['transformer_learning_rate']:g})"
                       for s in result["setups"])
    st.caption(
        f"Measured {result['started_utc'][:10]} by `bench/length_generalisation.py` on {_machine_text(result)}. "
        f"Every architecture trains on the same batches from seed {result['seed']} ({setups}; H = "
        f"{result['setups'][0]['hidden_size']}, batch {result['setups'][0]['batch_size']}, stopping when solved), "
        "then is scored by the task's own metric on fresh test sequences at each length. In brackets: (metric − "
        "floor) / (baseline − floor) at that length: 0 is the best possible, 1 no better than no memory.")
    for task_name, rows in measurements.rows_by_task(result).items():
        task = get_task(task_name)
        records: dict[str, dict] = {}
        for row in rows:
            record = records.setdefault(row["variant"], {
                "architecture": VARIANT_LABELS.get(row["variant"], row["variant"]),
                "trained": f"{row['steps_trained']:,} steps, {row['status']}"})
            column = f"{row['factor']}T = {row['length']}"
            record[column] = f"{row['metric']:.4f} ({row['relative']:.2f})"
            # Its brackets hold the floor itself (the best possible), not a ratio as in the rows above.
            baseline = records.setdefault("baseline", {"architecture": BASELINE_ROW, "trained": ""})
            baseline[column] = f"{row['baseline']:.4f} ({row['floor']:.4f})"
        records["baseline"] = records.pop("baseline")  # the last row
        st.markdown(f"**{task.label}**, trained at T = {rows[0]['train_length']}: test {task.metric_name} "
                    f"({task.metric_unit})")
        st.dataframe(pd.DataFrame.from_records(list(records.values())), hide_index=True, width="stretch",
                     key=f"generalisation_{task_name}")
