"""A standalone PyTorch script that reproduces a run outside the app: same data generator, seed, model, training loop.

The script imports only torch and math. It embeds the task's generator (Task.standalone_source), builds the same
fused nn.RNN / nn.GRU / nn.LSTM + Linear readout with the same seeded initialisation as lstm_viz.core.model.build_model,
draws every training batch from one torch.Generator seeded like the Trainer's, and follows the Trainer's schedule:
one batch per step shared by every architecture still training, gradient clipping, an evaluation on the same test
set every `eval_every` steps and at the budget, stopping an architecture when it solves the task (or plateaus, or
diverges), and ending the run when its verdict is known (lstm_viz.core.stopping, whose source it embeds). It prints each architecture's final test metric; tests/test_engine_exports.py checks it equals the app's.

Gradient probes and checkpoints are left out: they never change training. Dropout (only with 2+ layers) draws from
torch's global generator, which neither the app nor the script seeds, so such runs do not repeat exactly.
"""
from __future__ import annotations

import inspect
import json

from lstm_viz.core import stopping
from lstm_viz.rules.errors import ConfigError
from lstm_viz.core.trainer import OPTIMIZERS, PROBE_SEED_OFFSET, TEST_SEED_OFFSET, RunConfig

TEMPLATE = '''#!/usr/bin/env python3
"""Reproduce an LSTM Explorer run in plain PyTorch: {title}.

Run: python {file_name}      (needs only PyTorch; the app used torch {torch_version})
The app reported these final test {metric_name} values for this run:
{expected}
This script draws the same data from the same seeds, builds the same models with the same initial weights and
trains them with the same loop, so on the same PyTorch version it prints the same numbers.{left_out}
"""
import math

import torch
from torch import nn

CONFIG = {config}

TEST_SEED_OFFSET = {test_seed_offset}  # the test set's generator is seeded with seed + this
PROBE_SEED_OFFSET = {probe_seed_offset}  # (the app's probe examples; not needed to train)
METRIC_NAME = {metric_name!r}
READOUT = {readout!r}  # "last": one prediction from the final hidden state; "every": one per step
INPUT_SIZE, OUTPUT_SIZE = {input_size}, {output_size}
FUSED = {fused}
OPTIMIZERS = {optimizers}

# ----- the task: {task_label} -----
{task_source}
# ----- when the verdict is known: the app's own rules (lstm_viz/core/stopping.py) -----
{stopping_source}
FLOOR = {floor!r}  # the task's best possible metric
GATED = {gated!r}  # architectures with gates; the others wait for them before stopping at the baseline


# ----- the model: PyTorch's fused recurrent module and a linear readout -----
class SequenceModel(nn.Module):
    def __init__(self, arch):
        super().__init__()
        hidden, layers = CONFIG["hidden_size"], CONFIG["num_layers"]
        self.recurrent = FUSED[arch](INPUT_SIZE, hidden, num_layers=layers,
                                     dropout=CONFIG["dropout"] if layers > 1 else 0.0, batch_first=True)
        self.readout = nn.Linear(hidden, OUTPUT_SIZE)
        if arch == "lstm" and CONFIG["forget_bias"]:
            with torch.no_grad():  # PyTorch's LSTM gate order is input, forget, candidate, output
                for layer in range(layers):
                    getattr(self.recurrent, f"bias_ih_l{{layer}}")[hidden:2 * hidden] += CONFIG["forget_bias"]

    def forward(self, inputs):
        hidden, _ = self.recurrent(inputs)  # (batch, steps, hidden)
        return self.readout(hidden[:, -1] if READOUT == "last" else hidden)


def build_model(arch, seed):
    """Every architecture starts from torch.manual_seed(seed), whatever ran before."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return SequenceModel(arch)


@torch.no_grad()
def evaluate(model, inputs, targets):
    model.eval()
    outputs = torch.cat([model(chunk) for chunk in inputs.split(256)])
    model.train()
    return float(per_example_loss(outputs, targets).mean())


def main():
    torch.set_num_threads(1)  # as the app trains: one thread per run
    seed, length = CONFIG["seed"], CONFIG["length"]
    data_generator = torch.Generator().manual_seed(seed)
    test_inputs, test_targets = generate(CONFIG["eval_size"], length,
                                         torch.Generator().manual_seed(seed + TEST_SEED_OFFSET))
    threshold = solved_threshold(length)
    max_norm = CONFIG["clip_grad_norm"] if CONFIG["clip_grad_norm"] is not None else math.inf
    runs = {{}}
    for arch in CONFIG["archs"]:
        model = build_model(arch, seed)
        runs[arch] = {{"model": model, "optimizer": OPTIMIZERS[CONFIG["optimizer"]](model.parameters(), lr=CONFIG["learning_rate"]),
                      "status": "training", "detail": "", "metric": None, "best": math.inf, "since_best": 0,
                      "metrics": [], "steps": 0}}

    def record(arch, step):
        run = runs[arch]
        metric = run["metric"] = evaluate(run["model"], test_inputs, test_targets)
        run["metrics"].append(metric)
        if not math.isfinite(metric):
            run["status"], run["detail"] = "diverged", f"test {{METRIC_NAME}} became NaN at step {{step}}"
            return
        if metric < run["best"] * 0.99:
            run["best"], run["since_best"] = metric, 0
        else:
            run["since_best"] += 1
        if run["status"] == "training" and step > 0 and metric <= threshold and CONFIG["stop_when_solved"]:
            run["status"], run["detail"] = "solved", f"solved at step {{step}}"
        patience = CONFIG["patience"]
        if run["status"] == "training" and patience is not None and run["since_best"] > patience:
            run["status"], run["detail"] = "plateaued", f"no improvement in {{patience}} evaluations (step {{step}})"
        elif (run["status"] == "training" and patience is None and not CONFIG["train_to_budget"]
              and has_plateaued(run["metrics"], baseline(length), FLOOR)):
            run["status"], run["detail"] = "plateaued", f"no progress lately (step {{step}})"

    for arch in runs:
        record(arch, 0)
    step = 0
    while any(run["status"] == "training" for run in runs.values()):
        inputs, targets = generate(CONFIG["batch_size"], length, data_generator)  # one batch for every architecture
        step += 1
        for arch, run in runs.items():
            if run["status"] != "training":
                continue
            model, optimizer = run["model"], run["optimizer"]
            run["steps"] = step
            model.train()
            # Subnormal floats as 0 while training, as the app does: a vanishing gradient passes through them, and
            # each costs the CPU about a hundred normal operations. Off again for the evaluations.
            torch.set_flush_denormal(True)
            optimizer.zero_grad(set_to_none=True)
            loss = per_example_loss(model(inputs), targets).mean()
            if not math.isfinite(loss.item()):
                run["status"], run["detail"] = "diverged", f"loss became non-finite at step {{step}}"
                torch.set_flush_denormal(False)
                continue
            loss.backward()
            norm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm))
            if math.isfinite(norm):
                optimizer.step()
            else:
                run["status"], run["detail"] = "diverged", f"gradient norm became non-finite at step {{step}}"
            torch.set_flush_denormal(False)
        if step % CONFIG["eval_every"] == 0 or step >= CONFIG["max_steps"]:
            for arch, run in runs.items():
                if run["status"] == "training":
                    record(arch, step)
                    print(f"step {{step:>6}}  {{arch}}: test {{METRIC_NAME}} {{run['metric']:.6f}}", flush=True)
            if not CONFIG["train_to_budget"]:
                cells = {{arch: {{"gated": arch in GATED, "active": run["status"] == "training", "steps": run["steps"],
                                "metrics": run["metrics"]}} for arch, run in runs.items()}}
                for arch in plain_cells_to_stop(cells, baseline(length), FLOOR)[0]:
                    runs[arch]["status"], runs[arch]["detail"] = "baseline", f"still at the baseline at step {{step}}"
        if step >= CONFIG["max_steps"]:
            for run in runs.values():
                if run["status"] == "training":
                    run["status"], run["detail"] = "budget", f"step budget of {{CONFIG['max_steps']}} used"
    print(f"no-memory baseline: {{baseline(length):.6f}}")
    for arch, run in runs.items():
        print(f"final test {{METRIC_NAME}} {{arch}}: {{run['metric']!r}} ({{run['detail']}})")


if __name__ == "__main__":
    main()
'''


def standalone_available(config: RunConfig) -> bool:
    return (config.make_task().standalone_source() is not None and not config.task_options
            and bool(scripted_archs(config)))


def scripted_archs(config: RunConfig) -> tuple[str, ...]:
    """The architectures the script trains: the recurrent ones. It builds PyTorch's fused recurrent modules only;
    a Transformer in the run is left out, which changes nothing for the others (every cell trains on its own, on
    the same batches, and only the gated cells decide when a plain one stops)."""
    from lstm_viz.core.architectures import ARCHITECTURES

    return tuple(arch for arch in config.archs if ARCHITECTURES[arch].recurrent)


def left_out_note(config: RunConfig) -> str:
    """The script's sentence about the architectures of the run it does not train ('' when none)."""
    from lstm_viz.core.architectures import ARCHITECTURES

    left_out = [ARCHITECTURES[arch].label for arch in config.archs if arch not in scripted_archs(config)]
    if not left_out:
        return ""
    return (f"\nLeft out: the {' and '.join(left_out)}, which this script does not build (it builds PyTorch's fused "
            "recurrent modules only);\nthe other cells' numbers are the same without it: each trains on its own, "
            "on the same batches.")


def standalone_script(config: RunConfig, expected: dict[str, float | None] | None = None,
                      file_name: str = "reproduce_run.py") -> str:
    """The script's text for `config`; `expected` (arch -> final metric the app reported) goes into its docstring."""
    import torch

    config.validate()  # the script embeds these values: the same checks as every other way in
    task = config.make_task()
    source = task.standalone_source()
    if source is None or config.task_options:
        raise ConfigError(f"a standalone script is available for the adding and copy tasks, not for {task.label}")
    fields = ("task", "length", "archs", "hidden_size", "num_layers", "dropout", "forget_bias", "optimizer",
              "learning_rate", "batch_size", "clip_grad_norm", "seed", "max_steps", "eval_every", "eval_size",
              "stop_when_solved", "patience", "train_to_budget")
    values = {name: getattr(config, name) for name in fields}
    values["archs"] = list(scripted_archs(config))
    if not values["archs"]:
        raise ConfigError("the standalone script trains the recurrent cells (RNN, GRU, LSTM); this run has none of "
                          "them. Add one on the Train page, or export the Transformer's model file instead")
    expected = {arch: value for arch, value in (expected or {}).items() if arch in values["archs"]} or None
    # JSON is valid Python for these values except null/true/false; repr keeps Python's spelling.
    config_text = "{\n" + "".join(f"    {json.dumps(name)}: {value!r},\n" for name, value in values.items()) + "}"
    from lstm_viz.core.architectures import ARCHITECTURES

    fused = "{" + ", ".join(f'"{arch}": nn.{ARCHITECTURES[arch].fused_class.__name__}' for arch in values["archs"]) + "}"
    optimizers = "{" + ", ".join(f'"{name}": torch.optim.{cls.__name__}' for name, cls in OPTIMIZERS.items()) + "}"
    if expected:
        expected_text = "\n".join(
            f"  {arch}: {value!r}" if value is not None else f"  {arch}: (not evaluated)" for arch, value in expected.items()
        )
    else:
        expected_text = "  (not recorded)"
    title = f"{task.label}, T = {config.length}, {', '.join(values['archs'])}, H = {config.hidden_size}, seed {config.seed}"
    return TEMPLATE.format(
        title=title,
        file_name=file_name,
        torch_version=torch.__version__,
        metric_name=task.metric_name,
        expected=expected_text,
        config=config_text,
        test_seed_offset=TEST_SEED_OFFSET,
        probe_seed_offset=PROBE_SEED_OFFSET,
        readout=task.readout,
        input_size=task.input_size,
        output_size=task.output_size,
        fused=fused,
        optimizers=optimizers,
        task_label=task.label,
        task_source=source.strip("\n") + "\n",
        stopping_source=inspect.getsource(stopping).split('"""', 2)[2].strip("\n") + "\n",  # without its docstring
        floor=task.metric_floor(config.length),
        gated=sorted(arch for arch in values["archs"] if ARCHITECTURES[arch].gate_names),
        left_out=left_out_note(config),
    )
