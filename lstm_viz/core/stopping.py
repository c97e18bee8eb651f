"""When a run's verdict is known: the rules that end a cell, and a whole run, before its step budget.

A comparison is decided once every gated cell (GRU, LSTM) has solved, plateaued or diverged, and the plain RNN has
trained at least as long and still sits at the no-memory baseline: training on would only repeat what the charts
already show. `RunConfig.train_to_budget` turns these rules off.

The functions take test metrics in evaluation order (the first one at initialisation, lower is better) and import
nothing but `math`, so the exported standalone script (lstm_viz.io.standalone) embeds this very source and stops
exactly where the app stops. A metric's place is measured on the way from the no-memory baseline (1) to the best
possible value, the task's floor (0): for a language model the floor is far above 0.
"""
import math

# Below this position a cell has left the baseline: a tenth of the way to the floor (the verdict's "stayed at the
# baseline" band ends there too).
LEFT_BASELINE = 0.9
# Progress is a new best test metric by at least this share of the way from the baseline to the floor: test metrics
# are noisy (256 test sequences give about 9%), and a new low by less is noise.
PROGRESS = 0.01
# "Still at the baseline" is judged on the last few evaluations: 4 x 25 = 100 steps at the default eval_every.
RECENT_EVALUATIONS = 4
# A cell that has learned (its test metric at least half-way from the baseline to the floor) has plateaued after this
# many evaluations without progress: 500 steps at the default eval_every. A cell on or just below the baseline
# never plateaus: the LSTM's jump off it can come late (step 1775 at T = 200), after hundreds of steps at 0.9 of it.
PLATEAU_EVALUATIONS = 20
LEARNED = 0.5


def position(metric, baseline, floor):
    """1 at the baseline, 0 at the floor, above 1 worse than the baseline."""
    return (metric - floor) / (baseline - floor)


def made_progress(metrics, evaluations, baseline, floor):
    """The best of the last `evaluations` metrics beats every earlier one by PROGRESS of the way to the floor.
    True while there are too few evaluations to say it stopped improving."""
    if len(metrics) <= evaluations:
        return True
    recent, before = min(metrics[-evaluations:]), min(metrics[:-evaluations])
    return recent < before - PROGRESS * (baseline - floor)


def has_plateaued(metrics, baseline, floor):
    """Learned (the median of the last PLATEAU_EVALUATIONS metrics at least half-way to the floor, so one lucky
    evaluation does not count), and no progress in those evaluations."""
    if len(metrics) <= PLATEAU_EVALUATIONS:
        return False
    recent = sorted(metrics[-PLATEAU_EVALUATIONS:])
    middle = len(recent) // 2
    median = (recent[middle - 1] + recent[middle]) / 2 if len(recent) % 2 == 0 else recent[middle]
    return (position(median, baseline, floor) <= LEARNED
            and not made_progress(metrics, PLATEAU_EVALUATIONS, baseline, floor))


def sits_at_baseline(metrics, baseline, floor):
    """Each of the last RECENT_EVALUATIONS metrics (after the initial one) is at the baseline or worse, and they
    bring no progress: the cell neither left the baseline nor is still coming down towards it."""
    if len(metrics) <= RECENT_EVALUATIONS or not all(math.isfinite(m) for m in metrics[-RECENT_EVALUATIONS:]):
        return False
    return (all(position(m, baseline, floor) >= LEFT_BASELINE for m in metrics[-RECENT_EVALUATIONS:])
            and not made_progress(metrics, RECENT_EVALUATIONS, baseline, floor))


def plain_cells_to_stop(cells, baseline, floor):
    """Names of the plain cells whose part of the verdict is known now, with the gated cell(s) that decided it.

    `cells` maps a name to a dict: "gated" (bool), "active" (still training), "steps" (steps trained) and
    "metrics" (test metrics so far).
    Returns ([names to stop], [names of the gated cells that ended last]); nothing while a gated cell trains, and
    nothing in a run without gated cells: an RNN alone has no comparison to wait for, only its own solve, plateau,
    divergence or budget."""
    gated = {name: cell for name, cell in cells.items() if cell["gated"]}
    if not gated or any(cell["active"] for cell in gated.values()):
        return [], []
    last = max(cell["steps"] for cell in gated.values())
    deciders = [name for name, cell in gated.items() if cell["steps"] == last]
    stop = [name for name, cell in cells.items()
            if not cell["gated"] and cell["active"] and cell["steps"] >= last
            and sits_at_baseline(cell["metrics"], baseline, floor)]
    return stop, deciders
