"""A length sweep's results outside the run: the result table, the saved sweeps (the precomputed default the page
shows first) and the published results the chart sets beside them."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from lstm_viz.rules import paths
from lstm_viz.runs.sweep_config import SweepConfig, SweepRow

ASSETS = paths.ASSETS_DIR
PUBLISHED_RESULTS_PATH = ASSETS / "published_results.json"
SWEEPS_DIR = ASSETS / "sweeps"


def _json_number(value: float) -> float | None:
    return value if math.isfinite(value) else None


# ----- the result table -----
TABLE_COLUMNS = ("task", "arch", "length", "seed", "final_metric", "best_metric", "baseline", "solved_step",
                 "wall_seconds")


def result_table(rows: list[SweepRow]):
    """A pandas DataFrame, one row per finished point, with the columns of TABLE_COLUMNS and a few more."""
    import pandas as pd

    columns = list(TABLE_COLUMNS) + ["steps_trained", "status", "beats_baseline", "cached"]
    records = [{**row.to_dict(), "beats_baseline": row.beats_baseline} for row in rows]
    return pd.DataFrame.from_records(records, columns=columns)


# ----- saved sweeps (the precomputed default) -----
@dataclass(frozen=True)
class SavedSweep:
    config: SweepConfig
    rows: list[SweepRow]
    info: dict = field(default_factory=dict)  # when, where, how long: shown with the chart


def save_sweep(path: Path, config: SweepConfig, rows: list[SweepRow], info: dict | None = None) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    records = []
    for row in rows:
        record = row.to_dict()
        record["final_metric"] = _json_number(row.final_metric)
        record["best_metric"] = _json_number(row.best_metric)
        records.append(record)
    payload = {"config": config.to_dict(), "info": info or {}, "rows": records}
    path.write_text(json.dumps(payload, indent=1) + "\n")
    return path


def load_sweep(path: Path) -> SavedSweep:
    payload = json.loads(Path(path).read_text())
    return SavedSweep(
        config=SweepConfig.from_dict(payload["config"]),
        rows=[SweepRow.from_dict(record) for record in payload["rows"]],
        info=payload.get("info", {}),
    )


PRECOMPUTED_SWEEPS = {"adding-default": SWEEPS_DIR / "adding-default.json"}


def load_precomputed_sweep(name: str = "adding-default") -> SavedSweep:
    return load_sweep(PRECOMPUTED_SWEEPS[name])


# ----- published results -----
@dataclass(frozen=True)
class PublishedResult:
    source: str  # key into the file's sources
    short: str  # "Arjovsky, Shah & Bengio 2016"
    citation: str  # the full reference
    url: str
    task: str
    arch: str  # "rnn", "lstm", or a cell this app does not have ("irnn")
    cell: str
    length: int
    beats_baseline: bool
    note: str
    setup: str  # hidden units, optimiser, iterations: how the published run differs from this app's


def load_published_results(path: Path = PUBLISHED_RESULTS_PATH) -> list[PublishedResult]:
    payload = json.loads(Path(path).read_text())
    sources, setups = payload["sources"], payload["setups"]
    return [
        PublishedResult(
            source=row["source"],
            short=sources[row["source"]]["short"],
            citation=sources[row["source"]]["citation"],
            url=sources[row["source"]]["url"],
            task=row["task"],
            arch=row["arch"],
            cell=row["cell"],
            length=int(row["length"]),
            beats_baseline=bool(row["beats_baseline"]),
            note=row["note"],
            setup=setups[row["setup"]],
        )
        for row in payload["results"]
    ]
