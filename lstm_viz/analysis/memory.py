"""Gates and memory: which units hold what, from a run's checkpoints. No Streamlit; every function takes arrays or
a Trainer and returns arrays, so a script can reproduce what the "Gates and memory" page shows.

- Examples: one sequence from the run's test set, or a text the user typed (tasks with `accepts_text`).
- Unit orderings shared by every heatmap: by index, clustered (average-linkage hierarchical clustering on
  correlation distance between the units' gate and state traces, SciPy's), by peak time, by forget-gate mean.
- Saturation: the fraction of gate values below 0.1 or above 0.9 on the probe batch, at every checkpoint.
- Neuron search (after LSTMVis, Strobelt et al. 2018, arXiv 1606.07461): rank units by |Pearson r| with a task
  feature over the probe sequences, or by how well they switch on inside a marked span of one example.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import torch
from scipy.cluster import hierarchy
from scipy.spatial.distance import squareform

from lstm_viz.rules.errors import ConfigError
from lstm_viz.core.model import SequenceModel
from lstm_viz.core.tasks import Task
from lstm_viz.core.traces import Trace, trace
from lstm_viz.core.trainer import Checkpoint, Trainer

LOW_SATURATION = 0.1
HIGH_SATURATION = 0.9

ORDERINGS = {
    "index": "by index",
    "clustered": "clustered by similar traces",
    "peak": "by peak time",
    "forget": "by forget-gate mean",
}
# The gate that decides how much of the old state survives a step: LSTM f_t; GRU z_t (h_t = (1-z)n + z h_{t-1}).
KEEP_GATES = ("forget_gate", "update_gate")


# ----------------------------------------------------------------------------------------------------
# examples
@dataclass(frozen=True)
class Example:
    inputs: np.ndarray  # (T, input_size) float32
    tokens: list[str] | None  # the token shown at each step, for token tasks
    unknown: tuple[int, ...]  # steps whose typed token the task does not know
    description: str
    source: str  # "test" | "probe" | "text"


def _stored_example(trainer: Trainer, inputs, targets, index: int, what: str, source: str) -> Example:
    count = len(inputs)
    if not 0 <= index < count:
        raise ConfigError(f"the {what} 1 to {count} (got {index + 1})")
    example_inputs, target = inputs[index].numpy(), targets[index].numpy()
    task = trainer.task
    return Example(inputs=example_inputs, tokens=task.input_tokens(example_inputs), unknown=(),
                   description=task.describe_example(example_inputs, target), source=source)


def test_example(trainer: Trainer, index: int) -> Example:
    """Example `index` (0-based) of the run's test set."""
    return _stored_example(trainer, trainer.test_inputs, trainer.test_targets, index, "test set has examples", "test")


def trace_example(trainer: Trainer, index: int) -> Example:
    """Probe sequence `index` (0-based) of the run: the examples the Train page traces at every checkpoint (#1...)."""
    return _stored_example(trainer, trainer.trace_inputs, trainer.trace_targets, index, "run has probe sequences",
                           "probe")


def text_example(task: Task, text: str) -> Example:
    """A text the user typed, encoded by the task (raises the task's UploadError/ConfigError with a message)."""
    if not task.accepts_text:
        raise ConfigError(f"the {task.label} task does not take typed input; pick an example from the test set")
    inputs, tokens, unknown = task.encode_text(text)
    inputs = np.asarray(inputs, dtype=np.float32)
    if inputs.ndim != 2 or inputs.shape[0] == 0:
        raise ConfigError("the text gave no input steps")
    note = f" {len(unknown)} token(s) unknown to the task." if len(unknown) else ""
    return Example(inputs=inputs, tokens=list(tokens), unknown=tuple(int(i) for i in unknown),
                   description=f"Typed input, {inputs.shape[0]} steps.{note}", source="text")


# ----------------------------------------------------------------------------------------------------
# traces at a checkpoint
def trace_at(model: SequenceModel, checkpoint: Checkpoint, inputs: np.ndarray | torch.Tensor) -> Trace:
    """Load the checkpoint into `model` (a private copy, never the training model) and trace `inputs` (B, T, D)."""
    model.load_state_dict(checkpoint.state_dict)
    return trace(model, torch.as_tensor(np.asarray(inputs, dtype=np.float32)))


def state_name(layer_arrays: Mapping[str, np.ndarray], prefer: str = "cell_state") -> str:
    """The state array to search and plot: the cell state where there is one (LSTM), else the hidden state."""
    return prefer if prefer in layer_arrays else "hidden_state"


# ----------------------------------------------------------------------------------------------------
# unit orderings
def _standardise_columns(values: np.ndarray) -> np.ndarray:
    """(N, H) -> each column minus its mean over its norm; a flat column becomes zeros."""
    values = np.asarray(values, dtype=np.float64)
    centred = values - values.mean(axis=0, keepdims=True)
    norms = np.linalg.norm(centred, axis=0)
    scale = np.where(norms > 1e-12 * max(1.0, float(np.abs(values).max(initial=0.0))), norms, np.inf)
    return centred / scale


def correlation_distance(profiles: np.ndarray) -> np.ndarray:
    """(H, N) unit profiles -> (H, H) 1 - Pearson r. A flat unit is at distance 1 from others, 0 from other flat ones."""
    profiles = np.asarray(profiles, dtype=np.float64)
    z = _standardise_columns(profiles.T)  # (N, H)
    flat = ~np.any(z != 0.0, axis=0)
    distance = 1.0 - z.T @ z
    distance[flat, :] = 1.0
    distance[:, flat] = 1.0
    distance[np.ix_(flat, flat)] = 0.0
    np.fill_diagonal(distance, 0.0)
    return np.clip(distance, 0.0, 2.0)


def cluster_order(profiles: np.ndarray) -> np.ndarray:
    """Leaf order of average-linkage (UPGMA) clustering of the rows of `profiles` (H, N) on correlation distance.

    SciPy builds the tree; the order of its leaves is read here so that at every merge the cluster holding the lower
    unit index comes first, whatever SciPy numbers its clusters: the same units in the same place for every run.
    Identical units (distance 0) merge before anything else, so they end up side by side.
    """
    profiles = np.asarray(profiles, dtype=np.float64)
    count = profiles.shape[0]
    if count <= 2:
        return np.arange(count)
    distance = correlation_distance(profiles)
    # The upper triangle as SciPy's condensed form; the matrix is symmetric up to rounding, which checks would refuse.
    tree = hierarchy.linkage(squareform(distance, checks=False), method="average")
    members: list[list[int]] = [[unit] for unit in range(count)]
    for first, second in tree[:, :2].astype(int):
        left, right = members[first], members[second]
        members.append(left + right if min(left) < min(right) else right + left)
    return np.asarray(members[-1], dtype=int)


def unit_profiles(arrays: Mapping[str, np.ndarray]) -> np.ndarray:
    """(H, N): each unit's traces of every array (T, H) or (B, T, H), each standardised per unit and concatenated,
    so a gate in [0, 1] weighs as much as a cell state reaching 10."""
    columns = []
    for values in arrays.values():
        values = np.asarray(values, dtype=np.float64)
        columns.append(_standardise_columns(values.reshape(-1, values.shape[-1])))
    return np.concatenate(columns, axis=0).T


def peak_time_order(state: np.ndarray) -> np.ndarray:
    """Units (T, H) ordered by the step of their largest |value|; ties by index."""
    peaks = np.argmax(np.abs(np.asarray(state, dtype=np.float64)), axis=0)
    return np.argsort(peaks, kind="stable")


def keep_gate_order(keep_gate: np.ndarray) -> np.ndarray:
    """Units (T, H) ordered by their mean forget (or GRU update) gate, highest (longest memory) first; ties by index."""
    means = np.asarray(keep_gate, dtype=np.float64).mean(axis=0)
    return np.argsort(-means, kind="stable")


def keep_gate_name(layer_arrays: Mapping[str, np.ndarray]) -> str | None:
    return next((name for name in KEEP_GATES if name in layer_arrays), None)


def unit_order(method: str, layer_arrays: Mapping[str, np.ndarray]) -> np.ndarray:
    """A permutation of the units for one example's arrays {name: (T, H)}.

    "forget" on an architecture without a keep gate (the vanilla RNN) falls back to the index order."""
    hidden = next(iter(layer_arrays.values())).shape[-1]
    if method == "index":
        return np.arange(hidden)
    if method == "clustered":
        return cluster_order(unit_profiles(layer_arrays))
    if method == "peak":
        return peak_time_order(layer_arrays[state_name(layer_arrays)])
    if method == "forget":
        gate = keep_gate_name(layer_arrays)
        return keep_gate_order(layer_arrays[gate]) if gate else np.arange(hidden)
    raise ConfigError(f"unknown unit ordering {method!r}; known: {', '.join(ORDERINGS)}")


# ----------------------------------------------------------------------------------------------------
# saturation over training
@dataclass
class SaturationHistory:
    steps: list[int]
    gates: tuple[str, ...]
    low: np.ndarray  # (checkpoints, gates) fraction of values < LOW_SATURATION
    high: np.ndarray  # (checkpoints, gates) fraction of values > HIGH_SATURATION


def saturation_fractions(values: np.ndarray) -> tuple[float, float]:
    """Fractions of `values` below LOW_SATURATION and above HIGH_SATURATION."""
    values = np.asarray(values)
    return float(np.mean(values < LOW_SATURATION)), float(np.mean(values > HIGH_SATURATION))


def saturation_over_training(model: SequenceModel, checkpoints: Sequence[Checkpoint], inputs: torch.Tensor,
                             layer: int = 0) -> SaturationHistory:
    """For every checkpoint, each sigmoid gate's saturated fractions over the probe batch `inputs` (B, T, D)."""
    gates = tuple(model.architecture.gate_names)
    low = np.zeros((len(checkpoints), len(gates)))
    high = np.zeros((len(checkpoints), len(gates)))
    for row, checkpoint in enumerate(checkpoints):
        arrays = trace_at(model, checkpoint, inputs).layers[layer]
        for column, gate in enumerate(gates):
            low[row, column], high[row, column] = saturation_fractions(arrays[gate])
    return SaturationHistory(steps=[c.step for c in checkpoints], gates=gates, low=low, high=high)


# ----------------------------------------------------------------------------------------------------
# neuron search
def feature_matrix(task: Task, inputs: np.ndarray, name: str) -> np.ndarray:
    """(B, T) values of task feature `name` for every sequence of `inputs` (B, T, D)."""
    rows = []
    for sequence in np.asarray(inputs):
        features = task.features(sequence)
        if name not in features:
            raise ConfigError(f"the {task.label} task has no feature {name!r}; it has: {', '.join(features) or 'none'}")
        rows.append(np.asarray(features[name], dtype=np.float64))
    return np.stack(rows)


def feature_correlations(states: np.ndarray, feature: np.ndarray) -> np.ndarray:
    """Pearson r (H,) of each unit's state (B, T, H) with `feature` (B, T), pooled over every step of every sequence.

    A flat unit scores 0; a flat feature raises ConfigError (nothing can track a constant)."""
    states = np.asarray(states, dtype=np.float64)
    flat_states = states.reshape(-1, states.shape[-1])
    flat_feature = np.asarray(feature, dtype=np.float64).reshape(-1)
    if flat_feature.shape[0] != flat_states.shape[0]:
        raise ConfigError("the feature and the states cover different steps")
    z_feature = _standardise_columns(flat_feature[:, None])[:, 0]
    if not np.any(z_feature):
        raise ConfigError("this feature is constant on these sequences, so no unit can be said to track it")
    return np.clip(_standardise_columns(flat_states).T @ z_feature, -1.0, 1.0)


SPAN_METHODS = {
    "contrast": "mean inside − mean outside",
    "match": "LSTMVis on/off match",
}


def span_mask(steps: int, start: int, end: int) -> np.ndarray:
    """Boolean (steps,) true on start..end inclusive; the span must leave at least one step outside."""
    if not 0 <= start <= end < steps:
        raise ConfigError(f"the span must lie within steps 0 to {steps - 1} (got {start} to {end})")
    mask = np.zeros(steps, dtype=bool)
    mask[start : end + 1] = True
    if mask.all():
        raise ConfigError("the span covers every step; leave some steps outside it to compare against")
    return mask


def span_contrast(state: np.ndarray, start: int, end: int) -> np.ndarray:
    """(H,) mean value inside the span minus mean value outside it, for one example's state (T, H)."""
    state = np.asarray(state, dtype=np.float64)
    mask = span_mask(state.shape[0], start, end)
    return state[mask].mean(axis=0) - state[~mask].mean(axis=0)


def span_match(state: np.ndarray, start: int, end: int, threshold: float) -> np.ndarray:
    """(H,) LSTMVis's match as a signed Jaccard index: a unit is "on" where its value exceeds `threshold`
    (or, for the sign -1, lies below -threshold); the score is |on ∩ span| / |on ∪ span| for the better sign,
    times that sign. 1 means on exactly inside the span and off everywhere else."""
    state = np.asarray(state, dtype=np.float64)
    mask = span_mask(state.shape[0], start, end)[:, None]
    scores = []
    for sign in (1.0, -1.0):
        on = sign * state > threshold
        union = np.logical_or(on, mask).sum(axis=0)
        scores.append(np.logical_and(on, mask).sum(axis=0) / union)
    positive, negative = scores
    return np.where(positive >= negative, positive, -negative)


def top_units(scores: np.ndarray, count: int) -> np.ndarray:
    """The `count` units with the largest |score|, best first; ties by index."""
    scores = np.nan_to_num(np.asarray(scores, dtype=np.float64))
    return np.argsort(-np.abs(scores), kind="stable")[:count]


def most_active_units(state: np.ndarray, count: int) -> np.ndarray:
    """The `count` units of one example's state (T, H) whose value varies most over it (std over time), most active
    first; units that vary equally keep their index order (the lower index first), so the choice repeats."""
    return np.argsort(-np.asarray(state, dtype=np.float64).std(axis=0), kind="stable")[:count]


def memory_units(keep_gate: np.ndarray, count: int) -> np.ndarray:
    """The `count` units of one example's forget (or GRU update) gate (T, H) with the highest mean: the ones that
    hold their state. Ties by index, as in keep_gate_order."""
    return keep_gate_order(keep_gate)[:count]
