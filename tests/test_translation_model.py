"""The encoder-decoder against references written here: its gradients against an unrolled float64 model stepped
with nn.LSTMCell / nn.GRUCell sharing its weights and attention computed by hand; the recomputed gates against the
fused layers; greedy and beam decoding; a seeded trainer a scheduler ticket stops; the safetensors files."""
import math

import pytest
import torch
from torch import nn

from lstm_viz.core.seq2seq.decoding import beam, greedy, sequence_log_probability
from lstm_viz.core.seq2seq.files import load_translation_model, save_translation_model
from lstm_viz.core.seq2seq.gates import translation_gates
from lstm_viz.core.seq2seq.model import Seq2Seq, Seq2SeqConfig
from lstm_viz.core.seq2seq.training import TranslationTrainer, TranslationTrainingConfig, token_loss
from lstm_viz.data.translation_pairs import BOS_ID, EOS_ID, PAD_ID
from lstm_viz.rules.errors import ConfigError, ModelFileError
from lstm_viz.runs.scheduler import Scheduler
from tests.engine_support import one_torch_thread  # noqa: F401

SOURCE = torch.tensor([[5, 6, 7, 8], [9, 10, 0, 0]])  # the second sentence padded
LENGTHS = torch.tensor([4, 2])
TARGET_IN = torch.tensor([[BOS_ID, 4, 5], [BOS_ID, 6, 0]])
TARGET_OUT = torch.tensor([[4, 5, EOS_ID], [6, EOS_ID, PAD_ID]])


def reference_loss(model: Seq2Seq) -> torch.Tensor:
    """The same loss, one sentence and one step at a time with cells holding the model's weights (float64)."""
    cell_type = nn.LSTMCell if model.config.cell == "lstm" else nn.GRUCell
    cells = {}
    for name in ("encoder", "decoder"):
        layer = getattr(model, name)
        cell = cell_type(layer.input_size, layer.hidden_size).double()
        cell.weight_ih, cell.weight_hh = layer.weight_ih_l0, layer.weight_hh_l0
        cell.bias_ih, cell.bias_hh = layer.bias_ih_l0, layer.bias_hh_l0
        cells[name] = cell
    losses = []
    for row in range(len(SOURCE)):
        state, encoded = None, []
        for token in SOURCE[row, :LENGTHS[row]]:
            x = model.source_embedding.weight[token][None]
            state = cells["encoder"](x, state)
            encoded.append(state[0] if isinstance(state, tuple) else state)
        memory = torch.cat(encoded)  # (S, H)
        for step in range(int((TARGET_OUT[row] != PAD_ID).sum())):
            state = cells["decoder"](model.target_embedding.weight[TARGET_IN[row, step]][None], state)
            h = (state[0] if isinstance(state, tuple) else state)[0]
            if model.attention is not None:
                scores = torch.stack([h @ m for m in memory])
                weights = torch.exp(scores - scores.max()) / torch.exp(scores - scores.max()).sum()
                context = sum(w * m for w, m in zip(weights, memory))
                h = torch.tanh(model.attention.combine.weight @ torch.cat([context, h]))
            logits = model.readout.weight @ h + model.readout.bias
            losses.append(torch.logsumexp(logits, 0) - logits[TARGET_OUT[row, step]])
    return torch.stack(losses).mean()


@pytest.mark.parametrize("cell,attention", [("lstm", True), ("lstm", False), ("gru", True), ("gru", False)])
def test_gradients_match_an_unrolled_reference(cell, attention):
    torch.manual_seed(3)
    model = Seq2Seq(Seq2SeqConfig(12, 8, embedding_size=5, hidden_size=6, cell=cell, attention=attention)).double()
    batch = {"source": SOURCE, "lengths": LENGTHS, "target_in": TARGET_IN, "target_out": TARGET_OUT}
    loss = token_loss(model, batch)
    grads = torch.autograd.grad(loss, list(model.parameters()), allow_unused=True)
    expected_loss = reference_loss(model)
    expected = torch.autograd.grad(expected_loss, list(model.parameters()), allow_unused=True)
    assert loss.detach().item() == pytest.approx(expected_loss.detach().item(), abs=1e-12)
    for (name, _), got, want in zip(model.named_parameters(), grads, expected):
        want = torch.zeros_like(got) if want is None else want
        assert torch.allclose(got, want, atol=1e-10), name


def test_attention_weights_are_the_softmax_of_dot_products_recomputed_by_hand():
    torch.manual_seed(4)
    model = Seq2Seq(Seq2SeqConfig(12, 8, 5, 6))
    memory, state, mask = model.encode(SOURCE, LENGTHS)
    queries, _ = model.decoder(model.target_embedding(TARGET_IN), state)
    queries = queries.detach()
    _, weights = model.attention(queries, memory, mask)
    for row in range(2):
        real = memory[row, :LENGTHS[row]].detach().double()
        for step in range(3):
            scores = [float(queries[row, step].double() @ m) for m in real]
            exps = [math.exp(s - max(scores)) for s in scores]
            expected = [e / sum(exps) for e in exps] + [0.0] * (4 - len(real))
            assert weights[row, step].tolist() == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_recomputed_gates_give_the_fused_layers_states(cell):
    torch.manual_seed(5)
    model = Seq2Seq(Seq2SeqConfig(12, 8, 5, 6, cell=cell))
    source = [5, 6, 7]
    encoder, decoder = translation_gates(model, source, [4, 5, EOS_ID])
    memory, state, _ = model.encode(torch.tensor([source]), torch.tensor([3]))
    outputs, _ = model.decoder(model.target_embedding(torch.tensor([[BOS_ID, 4, 5]])), state)
    assert torch.allclose(torch.as_tensor(encoder["hidden_state"]), memory[0], atol=1e-6)
    assert torch.allclose(torch.as_tensor(decoder["hidden_state"]), outputs[0], atol=1e-6)
    gate = "forget_gate" if cell == "lstm" else "update_gate"
    assert ((encoder[gate] > 0) & (encoder[gate] < 1)).all()


def test_beam_of_width_one_is_greedy_and_scores_are_recomputed():
    torch.manual_seed(6)
    model = Seq2Seq(Seq2SeqConfig(12, 8, 5, 6)).eval()
    source = [5, 6, 7]
    one, wide, plain = beam(model, source, 1, 12), beam(model, source, 5, 12), greedy(model, source, 12)
    assert one.tokens == plain.tokens and one.log_probability == pytest.approx(plain.log_probability, abs=1e-5)
    written = wide.tokens + ([EOS_ID] if wide.finished else [])
    assert wide.log_probability == pytest.approx(sequence_log_probability(model, source, written), abs=1e-6)
    assert wide.attention.shape == (len(written), 3)
    for width in (0, 11):
        with pytest.raises(ConfigError):
            beam(model, source, width, 12)


def test_training_is_seeded_and_a_ticket_stops_it():
    config = TranslationTrainingConfig(task="dates", hidden_size=8, embedding_size=4, steps=40, batch_size=8)
    first, second = TranslationTrainer(config), TranslationTrainer(config)
    first.run(report_every=10)
    second.run(report_every=10)
    for a, b in zip(first.model.parameters(), second.model.parameters()):
        assert torch.equal(a, b)
    scheduler = Scheduler(1, max_seconds=600)
    ticket = scheduler.submit(owner="test", kind="translate", units=40)
    assert ticket.wait_admitted(10)
    stopped = TranslationTrainer(config)
    events = stopped.run(ticket=ticket, on_progress=lambda event: ticket.cancel() if event.step == 20 else None,
                         report_every=10)
    assert stopped.step == 20 and [e.step for e in events] == [10, 20] and ticket.done_units == 20
    assert events[0].loss > 0 and events[1].elapsed_seconds >= events[0].elapsed_seconds
    scheduler.shutdown()


def test_a_saved_model_loads_with_the_same_outputs_and_a_wrong_file_is_refused(tmp_path):
    config = TranslationTrainingConfig(task="dates", hidden_size=8, embedding_size=4, steps=5, batch_size=8)
    trainer = TranslationTrainer(config)
    trainer.run()
    save_translation_model(trainer.model, config, tmp_path)
    loaded, loaded_config = load_translation_model(tmp_path, "dates", True)
    assert loaded_config == config
    assert greedy(loaded, [5, 6, 7], 8).tokens == greedy(trainer.model, [5, 6, 7], 8).tokens
    with pytest.raises(ModelFileError, match="no trained dates-plain"):
        load_translation_model(tmp_path, "dates", False)
    (tmp_path / "dates-attention.json").write_text(
        (tmp_path / "dates-attention.json").read_text().replace('"hidden_size": 8', '"hidden_size": 9'))
    with pytest.raises(ModelFileError, match="does not match"):
        load_translation_model(tmp_path, "dates", True)


def test_the_cli_trains_and_writes_weights_and_metrics(tmp_path):
    import json

    from lstm_viz.io.cli import main
    out = tmp_path / "run"
    assert main(["translate", "--task", "dates", "--attention", "off", "--hidden", "8", "--embedding", "4",
                 "--steps", "20", "--batch", "8", "--out", str(out), "--quiet"]) == 0
    assert {p.name for p in out.iterdir()} == {"dates-plain.safetensors", "dates-plain.json", "metrics-dates-plain.json"}
    metrics = json.loads((out / "metrics-dates-plain.json").read_text())
    assert metrics["torch_threads"] == 1 and metrics["model"]["count"] == 1000
    assert sum(row["count"] for row in metrics["by_source_length"]) == 1000
    from safetensors import safe_open
    with safe_open(str(out / "dates-plain.safetensors"), framework="pt") as weights:  # safetensors, not a pickle
        assert "readout.weight" in weights.keys() and "attention.combine.weight" not in weights.keys()
    model, config = load_translation_model(out, "dates", False)
    assert config.steps == 20 and model.attention is None
    assert main(["translate", "--task", "dates", "--hidden", "0", "--out", str(out)]) == 2  # refused, with a message
