"""Files written by the CLI load into plain PyTorch, and nothing but safetensors is ever loaded."""
import json
import pickle

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from lstm_viz.io.cli import main
from lstm_viz.rules.errors import ModelFileError
from lstm_viz.io.export import load_model, save_model, save_run
from lstm_viz.core.model import ModelConfig, build_model
from lstm_viz.core.traces import trace
from lstm_viz.core.trainer import RunConfig, Trainer

CONFIG = RunConfig(task="adding", length=15, archs=("rnn", "gru", "lstm"), hidden_size=8, num_layers=2,
                   batch_size=16, max_steps=20, eval_every=10, eval_size=64, probe_every=10, probe_size=4,
                   trace_examples=3)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    trainer = Trainer(CONFIG)
    while not trainer.finished:
        trainer.train_step()
    out_dir = save_run(trainer, tmp_path_factory.mktemp("run"))
    return trainer, out_dir


@pytest.mark.parametrize("arch", ["rnn", "gru", "lstm"])
def test_safetensors_load_into_a_fresh_fused_module(finished_run, arch):
    trainer, out_dir = finished_run
    state = load_file(out_dir / f"{arch}.safetensors")
    fused_class = {"rnn": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[arch]
    fresh = fused_class(2, 8, num_layers=2, batch_first=True)
    fresh.load_state_dict({k: v for k, v in state.items() if not k.startswith("readout.")})
    readout = torch.nn.Linear(8, 1)
    readout.load_state_dict({"weight": state["readout.weight"], "bias": state["readout.bias"]})
    inputs = trainer.test_inputs[:32]
    model = trainer.runs[arch].model.eval()
    with torch.no_grad():
        hidden, _ = fresh(inputs)
        assert torch.equal(readout(hidden[:, -1]), model(inputs))


def test_load_model_restores_config_and_weights(finished_run):
    trainer, out_dir = finished_run
    loaded = load_model(out_dir / "lstm.safetensors")
    assert loaded.config == trainer.config.model_config("lstm")
    with torch.no_grad():
        assert torch.equal(loaded.eval()(trainer.test_inputs), trainer.runs["lstm"].model.eval()(trainer.test_inputs))


def test_metrics_and_config_json(finished_run):
    trainer, out_dir = finished_run
    metrics = json.loads((out_dir / "metrics.json").read_text())
    assert metrics["baseline"] == pytest.approx(1 / 6) and metrics["steps"] == 20
    assert metrics["verdict"] == trainer.verdict()
    for arch, run in trainer.runs.items():
        assert metrics["archs"][arch]["test"]["metric"] == run.eval_metric
        assert metrics["archs"][arch]["train"]["loss"] == run.train_loss
    config = json.loads((out_dir / "config.json").read_text())
    assert RunConfig.from_dict(config["run"]) == CONFIG
    assert ModelConfig(**config["models"]["gru"]) == CONFIG.model_config("gru")


def test_trace_npz_holds_every_checkpoint(finished_run):
    trainer, out_dir = finished_run
    arrays = np.load(out_dir / "trace.npz")
    assert arrays["inputs"].shape == (3, 15, 2)
    assert list(arrays["lstm/checkpoint_steps"]) == [0, 10, 20]
    final = trace(trainer.runs["lstm"].model, trainer.trace_inputs)
    for layer in range(2):
        for name in ("input_gate", "forget_gate", "candidate", "output_gate", "cell_state", "hidden_state"):
            stored = arrays[f"lstm/layer{layer}/{name}"]
            assert stored.shape == (3, 3, 15, 8)
            np.testing.assert_array_equal(stored[-1], final.layers[layer][name])
    assert arrays["rnn/grad_norm_per_step"].shape == (3, 2, 15)
    np.testing.assert_array_equal(arrays["gru/grad_norm_per_step"][-1],
                                  trainer.runs["gru"].checkpoints[-1].gradient_flow.grad_norm_per_step)
    assert "lstm/forget_product_per_step" in arrays and "rnn/forget_product_per_step" not in arrays


def test_cli_train_and_list(tmp_path, capsys):
    out_dir = tmp_path / "cli"
    code = main(["train", "--task", "adding", "--length", "10", "--arch", "rnn", "lstm", "--steps", "12",
                 "--hidden", "6", "--seed", "3", "--out", str(out_dir), "--quiet"])
    assert code == 0
    assert {p.name for p in out_dir.iterdir()} == {"metrics.json", "config.json", "trace.npz", "rnn.safetensors", "lstm.safetensors"}
    assert "wrote" in capsys.readouterr().out
    assert main(["list"]) == 0
    listing = capsys.readouterr().out
    assert all(name in listing for name in ("adding", "copy", "rnn", "gru", "lstm"))
    assert main(["train", "--hidden", "100000", "--out", str(tmp_path / "bad")]) == 2
    assert "hidden size must be between 1 and 512" in capsys.readouterr().err


class _WritesSentinel:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_a_pickle_is_refused_without_being_unpickled(tmp_path):
    sentinel = tmp_path / "executed"
    malicious = tmp_path / "model.safetensors"
    malicious.write_bytes(pickle.dumps(_WritesSentinel(str(sentinel))))
    with pytest.raises(ModelFileError, match="not a safetensors file"):
        load_model(malicious)
    assert not sentinel.exists()
    torch_file = tmp_path / "model.pt"
    torch.save({"weight": torch.zeros(2)}, torch_file)
    with pytest.raises(ModelFileError, match="not a safetensors file"):
        load_model(torch_file)


def test_mismatched_and_oversized_files_are_refused(tmp_path, monkeypatch):
    model = build_model(ModelConfig(arch="lstm", input_size=2, output_size=1, hidden_size=8), seed=0)
    path = tmp_path / "lstm.safetensors"
    save_model(model, path)
    with pytest.raises(ModelFileError, match="do not match"):
        load_model(path, ModelConfig(arch="lstm", input_size=2, output_size=1, hidden_size=16))
    with pytest.raises(ModelFileError, match="do not match"):
        load_model(path, ModelConfig(arch="gru", input_size=2, output_size=1, hidden_size=8))
    monkeypatch.setattr("lstm_viz.io.export.MAX_MODEL_FILE_BYTES", 100)
    with pytest.raises(ModelFileError, match="larger than"):
        load_model(path)
    with pytest.raises(ModelFileError, match="no model file"):
        load_model(tmp_path / "missing.safetensors")
