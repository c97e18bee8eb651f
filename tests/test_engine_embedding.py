"""Word tasks read tokens through an nn.Embedding. Everything that reads a layer's input must read the embedded
tokens, exactly: checked against an independent computation (the embedding's rows looked up by token id, then
PyTorch's step-by-step cells) for the model, the traces, the gradient probe, the cell step, the Jacobian tools,
and the files a model or a run is saved in."""
import numpy as np
import pytest
import torch

from lstm_viz.core.architectures import layer_params
from lstm_viz.analysis.cell_step import cell_step
from lstm_viz.rules.errors import ConfigError
from lstm_viz.io.export import model_bytes
from lstm_viz.core.gradient_flow import measure_gradient_flow
from lstm_viz.analysis.jacobians import clamped_forward, hidden_states, lstm_forget_path
from lstm_viz.core.model import ModelConfig, build_model
from lstm_viz.io.model_upload import read_uploaded_model
from lstm_viz.runs.runstore import load_run_state, save_run_state
from lstm_viz.core.tasks import get_task
from lstm_viz.core.tasks.sentiment import EMBEDDING_SIZE, SENTIMENT
from lstm_viz.core.traces import trace
from lstm_viz.core.trainer import RunConfig, Trainer
from tests.test_engine_traces import reference_layer


def sentiment_batch(count=3, length=4, seed=0):
    inputs, targets = SENTIMENT.generate(count, length, torch.Generator().manual_seed(seed))
    return inputs, targets, inputs.argmax(dim=-1)


def word_model(arch, hidden_size=8, num_layers=1, seed=0):
    return build_model(ModelConfig.for_task(arch, SENTIMENT, hidden_size=hidden_size, num_layers=num_layers), seed=seed)


def test_word_tasks_have_an_embedding_and_the_others_keep_their_state_dicts():
    model = word_model("lstm")
    assert isinstance(model.embedding, torch.nn.Embedding)
    assert tuple(model.embedding.weight.shape) == (SENTIMENT.input_size, EMBEDDING_SIZE)
    assert model.recurrent.input_size == EMBEDDING_SIZE
    assert "embedding.weight" in model.state_dict()
    for name in ("adding", "copy", "brackets", "forecast"):
        other = build_model(ModelConfig.for_task("lstm", get_task(name), hidden_size=8), seed=0)
        assert other.embedding is None and other.config.embedding_size == 0
        assert all(key.startswith(("recurrent.", "readout.")) for key in other.state_dict())
    with pytest.raises(ConfigError, match="embedding size"):
        ModelConfig("lstm", input_size=10, output_size=3, embedding_size=1000).validate()


@pytest.mark.parametrize("arch", ["rnn", "gru", "lstm"])
def test_the_model_embeds_one_hot_rows_and_token_ids_alike_as_cells_read_them(arch):
    inputs, _, ids = sentiment_batch()
    model = word_model(arch)
    with torch.no_grad():
        from_one_hot = model(inputs)
        from_ids = model(ids)
        embedded = model.embedding.weight[ids]  # a plain row lookup: the reference for "embedding"
        hidden = reference_layer(arch, layer_params(model.recurrent, 0), embedded)["hidden_state"]
        expected = model.readout(hidden[:, -1].float())
    assert torch.equal(model.embed(inputs), embedded)  # exact: every other term of the matmul is 0 * w
    assert torch.equal(from_one_hot, from_ids)
    torch.testing.assert_close(from_one_hot, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("arch", ["rnn", "gru", "lstm"])
def test_traces_and_the_cell_step_read_the_embedded_tokens(arch):
    inputs, _, ids = sentiment_batch(length=3)
    model = word_model(arch, num_layers=2)
    traced = trace(model, inputs)
    embedded = model.embedding.weight.detach()[ids]
    np.testing.assert_array_equal(traced.layer_input, embedded.numpy())
    reference = reference_layer(arch, layer_params(model.recurrent, 0), embedded)
    for name, values in reference.items():
        np.testing.assert_allclose(traced.layers[0][name], values.numpy(), atol=1e-5)
    step = cell_step(model, inputs, t=5, example=1, layer=0, traced=traced)
    np.testing.assert_array_equal(step.x, embedded[1, 5].double().numpy())
    np.testing.assert_allclose(step.h, reference["hidden_state"][1, 5].numpy(), atol=1e-5)
    upper = cell_step(model, inputs, t=5, example=1, layer=1, traced=traced)
    np.testing.assert_array_equal(upper.x, traced.layers[0]["hidden_state"][1, 5].astype(np.float64))


@pytest.mark.parametrize("arch", ["rnn", "lstm"])
def test_the_gradient_probe_measures_dl_dx_on_the_embedded_input(arch):
    inputs, targets, ids = sentiment_batch(count=4, length=6)
    model = word_model(arch)
    flow = measure_gradient_flow(model, SENTIMENT, inputs, targets)
    # Independently: a float64 copy of the model, fed the looked-up rows as a leaf tensor, through the fused module.
    reference = build_model(model.config, seed=0).double()
    reference.load_state_dict({k: v.double() for k, v in model.state_dict().items()})
    embedded = reference.embedding.weight.detach()[ids].requires_grad_(True)
    hidden, _ = reference.recurrent(embedded)
    loss = torch.nn.functional.cross_entropy(reference.readout(hidden[:, -1]), targets, reduction="sum")
    (gradient,) = torch.autograd.grad(loss, [embedded])
    expected = gradient.norm(dim=-1).mean(dim=0).numpy()
    assert flow.input_grad_norm_per_step.shape == (inputs.shape[1],)
    np.testing.assert_allclose(flow.input_grad_norm_per_step, expected, rtol=1e-9, atol=1e-300)
    # The same probe on token ids gives the same numbers.
    again = measure_gradient_flow(model, SENTIMENT, ids, targets)
    np.testing.assert_allclose(again.grad_norm_per_step, flow.grad_norm_per_step, rtol=1e-12)


def test_the_jacobian_tools_read_the_embedded_tokens():
    inputs, _, ids = sentiment_batch(count=2, length=5)
    model = word_model("lstm")
    np.testing.assert_allclose(hidden_states(model, inputs).numpy(), trace(model, inputs).layers[0]["hidden_state"],
                               atol=1e-6)
    path = lstm_forget_path(model, inputs[0])
    np.testing.assert_allclose(path.forget_gate, trace(model, inputs[:1]).layers[0]["forget_gate"][0], atol=1e-6)
    # Clamping f_t to 1 on the embedded input: c_t is the running sum of i_t * g_t.
    clamped = clamped_forward(model, inputs, 1.0)
    with torch.no_grad():
        p = {k: v.double() for k, v in layer_params(model.recurrent, 0).items()}
        x = model.embedding.weight.double()[ids]
        h = torch.zeros(2, 8, dtype=torch.float64)
        c = torch.zeros_like(h)
        for t in range(x.shape[1]):
            i, _, g, o = (x[:, t] @ p["weight_ih"].T + p["bias_ih"] + h @ p["weight_hh"].T + p["bias_hh"]).chunk(4, -1)
            c = c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
        expected = h @ model.readout.weight.double().T + model.readout.bias.double()
    torch.testing.assert_close(clamped, expected)


def test_a_word_model_file_keeps_its_embedding(tmp_path):
    config = RunConfig(task="sentiment", length=2, archs=("rnn", "lstm"), hidden_size=8, max_steps=3, eval_every=3,
                       eval_size=16, probe_every=3, probe_size=4, batch_size=8)
    trainer = Trainer(config)
    while not trainer.finished:
        trainer.train_step()
    model = trainer.runs["lstm"].model
    upload = read_uploaded_model(model_bytes(model, config, steps_trained=3), "sentiment.safetensors")
    assert upload.model.config.embedding_size == EMBEDDING_SIZE and upload.config_from_file
    assert torch.equal(upload.model.state_dict()["embedding.weight"], model.state_dict()["embedding.weight"])
    inputs = trainer.test_inputs[:5]
    with torch.no_grad():
        assert torch.equal(upload.model(inputs), model(inputs))
    restored = load_run_state(save_run_state(trainer, tmp_path / "run"))
    with torch.no_grad():
        for arch in config.archs:
            assert torch.equal(restored.runs[arch].model(inputs), trainer.runs[arch].model(inputs))
