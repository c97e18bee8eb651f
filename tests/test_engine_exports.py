"""In-memory downloads (model zip, traces CSV/NPZ, metrics CSV, chart HTML) checked against the run itself and plain
PyTorch, and the standalone script run in a fresh interpreter against the Trainer's final metric."""
import io
import json
import re
import subprocess
import sys
import zipfile

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import load

from lstm_viz.io import export
from lstm_viz.rules.errors import ConfigError
from lstm_viz.io.standalone import standalone_available, standalone_script
from lstm_viz.core.traces import trace
from lstm_viz.core.trainer import RunConfig, Trainer

CONFIG = RunConfig(task="adding", length=12, archs=("rnn", "gru", "lstm"), hidden_size=6, num_layers=2,
                   batch_size=16, max_steps=20, eval_every=10, eval_size=64, probe_every=10, probe_size=4,
                   trace_examples=2)
FUSED = {"rnn": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}


def train(config: RunConfig) -> Trainer:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the app and the standalone script train
    try:
        trainer = Trainer(config)
        while not trainer.finished:
            trainer.train_step()
    finally:
        torch.set_num_threads(threads)
    return trainer


@pytest.fixture(scope="module")
def finished():
    return train(CONFIG)


def test_model_zip_loads_into_plain_pytorch_with_identical_outputs(finished):
    archive = zipfile.ZipFile(io.BytesIO(export.model_zip_bytes(finished)))
    assert sorted(archive.namelist()) == ["config.json", "gru.safetensors", "lstm.safetensors", "rnn.safetensors"]
    config = json.loads(archive.read("config.json"))
    assert config["run"]["seed"] == 0 and config["run"]["task"] == "adding"
    inputs = finished.test_inputs[:32]
    for arch, run in finished.runs.items():
        assert config["models"][arch]["hidden_size"] == 6
        state = load(archive.read(f"{arch}.safetensors"))
        assert {"weight_ih_l0", "weight_hh_l1", "bias_ih_l1", "readout.weight"} <= set(state)
        recurrent = FUSED[arch](2, 6, num_layers=2, batch_first=True)
        recurrent.load_state_dict({k: v for k, v in state.items() if not k.startswith("readout.")})
        readout = torch.nn.Linear(6, 1)
        readout.load_state_dict({"weight": state["readout.weight"], "bias": state["readout.bias"]})
        # The run ends with a checkpoint, so the live model holds the exported (latest checkpoint's) weights.
        assert run.checkpoints[-1].step == run.steps[-1]
        with torch.no_grad():
            hidden, _ = recurrent(inputs)
            assert torch.equal(readout(hidden[:, -1]), run.model.eval()(inputs))


def test_traces_csv_holds_exactly_the_trace_arrays_of_the_latest_checkpoint(finished):
    frame = pd.read_csv(io.BytesIO(export.traces_csv_bytes(finished)))
    assert list(frame.columns) == list(export.TRACE_CSV_COLUMNS)
    arrays = export.trace_arrays(finished)
    expected_rows = 0
    for arch, run in finished.runs.items():
        part = frame[frame.arch == arch]
        assert set(part.checkpoint_step) == {run.checkpoints[-1].step}
        # An independent trace of the live model (which holds the final weights).
        reference = trace(run.model.eval(), finished.trace_inputs)
        for layer, names in enumerate(reference.layers):
            for name, array in names.items():
                rows = part[(part.layer == layer) & (part.name == name)].sort_values(["example", "t", "unit"])
                values = rows.value.to_numpy(np.float64).astype(np.float32).reshape(array.shape)
                np.testing.assert_array_equal(values, array)
                np.testing.assert_array_equal(values, arrays[f"{arch}/layer{layer}/{name}"][-1])
                expected_rows += array.size
    assert len(frame) == expected_rows


def test_traces_npz_is_the_trace_arrays_and_loads_without_pickle(finished):
    with np.load(io.BytesIO(export.traces_npz_bytes(finished)), allow_pickle=False) as loaded:
        arrays = export.trace_arrays(finished)
        assert sorted(loaded.files) == sorted(arrays)
        for name, array in arrays.items():
            np.testing.assert_array_equal(loaded[name], array)
        assert loaded["lstm/layer1/forget_gate"].shape == (len(finished.runs["lstm"].checkpoints), 2, 12, 6)


def test_metrics_csv_has_every_step_and_evaluation(finished):
    frame = pd.read_csv(io.BytesIO(export.metrics_csv_bytes(finished)))
    assert list(frame.columns) == ["arch", "step", "train_loss", "grad_norm", "test_mse"]
    for arch, run in finished.runs.items():
        part = frame[frame.arch == arch].set_index("step")
        assert list(part.index) == sorted(set(run.steps) | set(run.eval_steps))
        np.testing.assert_array_equal(part.loc[run.steps, "train_loss"].to_numpy(), run.train_loss)
        np.testing.assert_array_equal(part.loc[run.steps, "grad_norm"].to_numpy(), run.grad_norm)
        np.testing.assert_array_equal(part.loc[run.eval_steps, "test_mse"].to_numpy(), run.eval_metric)
        assert np.isnan(part.loc[0, "train_loss"]) and np.isnan(part.loc[1, "test_mse"])


def test_chart_html_is_self_contained(finished):
    from lstm_viz.figures.training import LossSeries, loss_curves

    run = finished.runs["lstm"]
    figure = loss_curves([LossSeries("lstm", run.label, run.steps, run.train_loss, run.eval_steps, run.eval_metric)],
                         baseline=finished.baseline, solved_threshold=0.01, metric_name="test MSE",
                         max_steps=20, title="A unique title 7f3a")
    html = export.figure_html(figure)
    assert "A unique title 7f3a" in html and "Plotly.newPlot" in html
    assert len(html) > 1_000_000  # plotly.js is inline
    assert not re.search(r"<script[^>]*\bsrc\s*=", html, re.IGNORECASE)
    assert not re.search(r"<link[^>]*\bhref\s*=\s*[\"']?https?:", html, re.IGNORECASE)  # no external stylesheet
    assert "mathjax" not in html.lower().split("</script>")[-1]  # no MathJax loader after plotly.js
    archive = zipfile.ZipFile(io.BytesIO(export.figures_zip_bytes({"loss": figure, "again": figure})))
    assert sorted(archive.namelist()) == ["again.html", "loss.html"]
    page = archive.read("loss.html").decode()
    assert "A unique title 7f3a" in page and not re.search(r"<script[^>]*\bsrc\s*=", page, re.IGNORECASE)


def final_metrics(output: str) -> dict[str, float]:
    return {arch: float(value) for arch, value in re.findall(r"^final test .+? (\w+): (\S+) \(", output, re.MULTILINE)}


@pytest.mark.parametrize("config", [
    RunConfig(task="adding", length=10, archs=("rnn", "lstm"), hidden_size=8, batch_size=16, max_steps=20,
              eval_every=10, eval_size=300, probe_every=10, probe_size=4, trace_examples=2, seed=3),
    # patience=0 stops both architectures early (steps 15, 35): the script must follow the Trainer's stopping rules.
    RunConfig(task="copy", length=4, archs=("rnn", "lstm"), hidden_size=8, batch_size=8, max_steps=40,
              eval_every=5, eval_size=64, probe_every=20, probe_size=4, trace_examples=2, seed=1, patience=0,
              clip_grad_norm=None, optimizer="rmsprop", learning_rate=1e-2, forget_bias=1.0),
    # A Transformer in the run: the script leaves it out, and the other cells' numbers are still the Trainer's.
    RunConfig(task="adding", length=10, archs=("rnn", "lstm", "transformer"), hidden_size=8, batch_size=16,
              max_steps=20, eval_every=10, eval_size=300, probe_every=10, probe_size=4, trace_examples=2, seed=3),
], ids=["adding", "copy", "adding-with-a-transformer"])
def test_standalone_script_prints_the_trainers_final_metric(config, tmp_path):
    trainer = train(config)
    expected = {arch: run.last_metric for arch, run in trainer.runs.items()}
    if config.patience is not None:
        assert all(run.status == "plateaued" for run in trainer.runs.values())
    script = tmp_path / "reproduce.py"
    script.write_text(standalone_script(config, expected))
    imports = set(re.findall(r"^(?:import|from) (\w+)", script.read_text(), re.MULTILINE))
    assert imports == {"math", "torch"}
    # A clean interpreter in an empty folder: the script cannot import this package.
    result = subprocess.run([sys.executable, "-I", str(script)], capture_output=True, text=True, cwd=tmp_path, check=False,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    printed = final_metrics(result.stdout)
    scripted = {arch: value for arch, value in expected.items() if arch != "transformer"}
    assert printed.keys() == scripted.keys()
    assert ("Left out: the Transformer" in script.read_text()) == ("transformer" in config.archs)
    for arch, value in scripted.items():
        assert printed[arch] == pytest.approx(value, rel=1e-6, abs=1e-9), (arch, result.stdout)


def test_standalone_script_is_offered_only_for_tasks_that_embed_their_generator():
    assert standalone_available(CONFIG)
    assert standalone_available(RunConfig(task="copy", length=5))
    # Tasks that read shipped or uploaded data cannot be rebuilt from torch and math alone.
    for task in ("sentiment", "brackets", "labelled-text", "forecast"):
        assert not standalone_available(RunConfig(task=task, length=RunConfig(task=task).length)), task
    with pytest.raises(ConfigError):
        standalone_script(RunConfig(task="sentiment", length=RunConfig(task="sentiment").length))
    # The script builds recurrent cells only: a run of the Transformer alone has nothing to script.
    assert not standalone_available(RunConfig(task="adding", archs=("transformer",)))
    with pytest.raises(ConfigError, match="trains the recurrent cells"):
        standalone_script(RunConfig(task="adding", archs=("transformer",)))


def test_trace_downloads_are_capped_for_huge_models(finished):
    per_example = sum(export.trace_values_per_example(finished, arch) for arch in finished.runs)
    # (rnn 2 + gru 4 + lstm 6 arrays) x 2 layers x 12 steps x 6 units per example
    assert per_example == (2 + 4 + 6) * 2 * 12 * 6
    assert export.csv_examples(finished) == 2
    frame = export.traces_frame(finished, max_rows=per_example + 1)
    assert set(frame.example) == {0} and len(frame) == per_example
    with pytest.raises(ConfigError, match="too many for a CSV"):
        export.traces_frame(finished, max_rows=per_example - 1)
    checkpoint_bytes = 4 * 2 * per_example
    chosen = export.npz_checkpoints(finished, max_bytes=2 * checkpoint_bytes)
    for arch, run in finished.runs.items():
        assert [c.step for c in chosen[arch]] == [run.checkpoints[0].step, run.checkpoints[-1].step]
    arrays = export.trace_arrays(finished, max_bytes=checkpoint_bytes)
    assert list(arrays["lstm/checkpoint_steps"]) == [finished.runs["lstm"].checkpoints[-1].step]
    assert arrays["lstm/layer0/cell_state"].shape[0] == arrays["lstm/grad_norm_per_step"].shape[0] == 1


def test_the_npz_holds_a_transformers_attention_and_counts_it_in_its_cap():
    config = RunConfig(task="adding", length=10, archs=("lstm", "transformer"), hidden_size=6, heads=3, num_layers=2,
                       batch_size=8, max_steps=4, eval_every=2, probe_every=2, eval_size=16, probe_size=4,
                       trace_examples=2)
    trained = train(config)
    arrays = export.trace_arrays(trained)
    checkpoints = trained.runs["transformer"].checkpoints
    attention = arrays["transformer/layer1/attention"]
    assert attention.shape == (len(checkpoints), 2, 3, 10, 10)
    # Independent: the latest checkpoint's weights in a model of its own, traced on the shown examples.
    model = export.checkpoint_model(trained.runs["transformer"].model, checkpoints[-1])
    np.testing.assert_array_equal(attention[-1], trace(model, trained.trace_inputs).attention[1])
    assert "lstm/layer0/attention" not in arrays
    assert export.attention_values_per_example(trained, "transformer") == 3 * 10 * 10 * 2
    assert export.attention_values_per_example(trained, "lstm") == 0
    per_checkpoint = 4 * 2 * sum(export.trace_values_per_example(trained, arch)
                                 + export.attention_values_per_example(trained, arch) for arch in trained.runs)
    chosen = export.npz_checkpoints(trained, max_bytes=2 * per_checkpoint)
    assert [len(kept) for kept in chosen.values()] == [2, 2]
