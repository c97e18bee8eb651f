"""The measurements the benches ship for the pages (assets/measurements/): the cost of a training step against the
sequence length (bench/transformer_cost.py) and length generalisation (bench/length_generalisation.py); read,
checked for the fields the pages use, and the crossovers computed from the measured points, not stored beside them.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from lstm_viz.rules import paths
from lstm_viz.rules.errors import LstmVizError

MEASUREMENTS_DIR = paths.ASSETS_DIR / "measurements"
COST_PATH = MEASUREMENTS_DIR / "cost_vs_length.json"
LENGTH_GENERALISATION_PATH = MEASUREMENTS_DIR / "length_generalisation.json"

COST_POINT_FIELDS = ("arch", "length", "seconds_per_step", "cpu_seconds_per_step", "peak_rss_mb", "parameters")
COST_FIELDS = ("settings", "machine", "load_average_before", "load_average_after", "busy_core", "lengths", "archs",
               "points")
GENERALISATION_ROW_FIELDS = ("task", "variant", "train_length", "factor", "length", "metric", "baseline", "floor",
                             "relative", "steps_trained", "status")
GENERALISATION_FIELDS = ("machine", "load_average_before", "load_average_after", "setups", "rows")


def _read(path: Path, fields: Sequence[str], row_key: str, row_fields: Sequence[str]) -> dict:
    try:
        payload = json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise LstmVizError(f"could not read the measurements in {Path(path).name}: {error}") from None
    missing = [name for name in fields if name not in payload]
    for row in payload.get(row_key, []):
        missing += [f"{row_key}[].{name}" for name in row_fields if name not in row]
    if missing:
        raise LstmVizError(f"{Path(path).name} lacks {', '.join(sorted(set(missing)))}")
    return payload


def load_cost(path: Path = COST_PATH) -> dict:
    return _read(path, COST_FIELDS, "points", COST_POINT_FIELDS)


def load_length_generalisation(path: Path = LENGTH_GENERALISATION_PATH) -> dict:
    return _read(path, GENERALISATION_FIELDS, "rows", GENERALISATION_ROW_FIELDS)


def series(cost: dict, arch: str, quantity: str) -> tuple[list[int], list[float]]:
    """(lengths, values) of one architecture's measured points, by length."""
    points = sorted((point for point in cost["points"] if point["arch"] == arch), key=lambda point: point["length"])
    return [point["length"] for point in points], [point[quantity] for point in points]


def ratio_to(cost: dict, arch: str, reference: str, quantity: str) -> dict[int, float]:
    """{length: arch's value / reference's value} where both were measured."""
    lengths, values = series(cost, arch, quantity)
    reference_values = dict(zip(*series(cost, reference, quantity)))
    return {length: value / reference_values[length] for length, value in zip(lengths, values)
            if reference_values.get(length)}


@dataclass(frozen=True)
class Crossover:
    """From where on `arch` costs more than `reference` as T grows: `below` is the longest measured length where it
    cost no more, `above` the next one, `length` the T between them where the ratio is 1 (interpolated on log-log
    axes). It costs more at every measured length: `below` and `length` None. At the longest it costs no more:
    `above` and `length` None."""
    arch: str
    reference: str
    quantity: str
    below: int | None
    above: int | None
    length: float | None


def crossover(cost: dict, arch: str, reference: str, quantity: str) -> Crossover:
    """A short sequence can cost a Transformer more than a recurrence (more operations per position) and a middle
    one less (its positions run in parallel, the recurrence's in turn), so the crossover is where it becomes the
    dearer for good: after the last measured length where it was not."""
    ratios = sorted(ratio_to(cost, arch, reference, quantity).items())
    cheaper = [index for index, (_, ratio) in enumerate(ratios) if ratio <= 1]
    if not cheaper:
        return Crossover(arch, reference, quantity, None, ratios[0][0] if ratios else None, None)
    last = cheaper[-1]
    if last == len(ratios) - 1:
        return Crossover(arch, reference, quantity, ratios[last][0], None, None)
    (low_length, low_ratio), (high_length, high_ratio) = ratios[last], ratios[last + 1]
    # log ratio is about linear in log T between two measured points: where it crosses 0.
    weight = -math.log(low_ratio) / (math.log(high_ratio) - math.log(low_ratio))
    at = math.exp(math.log(low_length) + weight * (math.log(high_length) - math.log(low_length)))
    return Crossover(arch, reference, quantity, low_length, high_length, at)


@dataclass(frozen=True)
class QuadraticFit:
    """value ~ constant + linear T + quadratic T^2, fitted to one architecture's measured points; `balance` is the T
    where the quadratic term equals the linear one (linear / quadratic), None when the fit has no positive T^2
    term or no positive T term."""
    arch: str
    quantity: str
    constant: float
    linear: float
    quadratic: float

    @property
    def balance(self) -> float | None:
        if self.quadratic <= 0 or self.linear <= 0:
            return None
        return self.linear / self.quadratic

    def __call__(self, length: float) -> float:
        return self.constant + self.linear * length + self.quadratic * length * length


def quadratic_fit(cost: dict, arch: str, quantity: str) -> QuadraticFit:
    """Least squares on the relative error (each point weighted by 1 / its value), so T = 25 counts as much as
    T = 1000 although its time is a hundred times smaller."""
    import numpy as np

    lengths, values = series(cost, arch, quantity)
    if len(lengths) < 3:
        raise LstmVizError(f"a quadratic fit needs 3 measured lengths of the {arch}; there are {len(lengths)}")
    length_array = np.asarray(lengths, dtype=np.float64)
    value_array = np.asarray(values, dtype=np.float64)
    design = np.stack([np.ones_like(length_array), length_array, length_array ** 2], axis=1) / value_array[:, None]
    (constant, linear, quadratic), *_ = np.linalg.lstsq(design, np.ones_like(value_array), rcond=None)
    return QuadraticFit(arch, quantity, float(constant), float(linear), float(quadratic))


def counted_balance(arch: str, hidden_size: int, layer_input: int) -> float | None:
    """The T where the T^2 part of one layer's counted operations (the registry's multiply-add count) equals its T
    part: for the Transformer, the scores and weighted sum over T x T pairs against the projections and feed-forward
    block per position. None for a count with no T^2 part (a recurrence)."""
    from lstm_viz.core.architectures import get_architecture

    count = get_architecture(arch).layer_multiply_adds
    one, two = count(1, layer_input, hidden_size, 0), count(2, layer_input, hidden_size, 0)
    quadratic = (two - 2 * one) / 2  # count(T) = linear T + quadratic T^2
    linear = one - quadratic
    return linear / quadratic if quadratic > 0 else None


def rows_by_task(result: dict) -> dict[str, list[dict]]:
    """The length-generalisation rows per task, in the order measured."""
    tasks: dict[str, list[dict]] = {}
    for row in result["rows"]:
        tasks.setdefault(row["task"], []).append(row)
    return tasks
