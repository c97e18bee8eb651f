"""The model as it ships: PyTorch's plain fused nn.RNN / nn.GRU / nn.LSTM with the trained weights, an embedding as
a bias-free nn.Linear, and the readout; what every variant is made from.

The training modules (lstm_viz.core.architectures: FastGRU, FastRNN) run their own autograd.Function while
autograd records, which torch.onnx.export's tracer and torch.ao's quantize_dynamic do not understand: the GRU traced
from them differed by 0.02 in onnxruntime, and quantize_dynamic left them in float32. Their eval-mode forward is
PyTorch's own, so the plain module with the same weights gives the same outputs (to float rounding).

A word task's embedding becomes nn.Linear(V, E, bias=False) with the embedding matrix transposed: a one-hot row
times it picks out the same vector exactly, and int8 quantisation then treats it as every other matrix.

Transformers are refused: their attention blocks are not made of the layers these tools quantise (quantize_dynamic
skips MultiheadAttention's projections) and this page's gate views have no Transformer counterpart.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from lstm_viz.core.model import SequenceModel
from lstm_viz.rules.errors import ConfigError

RECURRENT_CELLS = ("rnn", "gru", "lstm")


def check_compressible(model: SequenceModel) -> None:
    """ConfigError for a model this layer cannot make smaller: only the recurrent cells are supported."""
    if model.config.arch not in RECURRENT_CELLS:
        raise ConfigError(f"Deploy small compresses the recurrent cells (RNN, GRU, LSTM) only, not a "
                          f"{model.architecture.label}: its attention layers are not ones these quantisation "
                          "tools handle")


class DeployableModel(nn.Module):
    """inputs (B, T, D) float -> outputs, as SequenceModel; `step` reads one step and carries the state."""

    def __init__(self, model: SequenceModel):
        super().__init__()
        check_compressible(model)
        config = model.config
        self.readout_kind = config.readout
        self.embedding = None
        if model.embedding is not None:
            self.embedding = nn.Linear(config.input_size, config.embedding_size, bias=False)
        fused_class = model.architecture.fused_class
        # No dropout: it only acts in training, and nn.LSTM warns about it for a single layer.
        self.recurrent = fused_class(config.layer_input_size, config.hidden_size, config.num_layers, batch_first=True)
        self.readout = nn.Linear(config.hidden_size, config.output_size)
        with torch.no_grad():
            if self.embedding is not None:
                self.embedding.weight.copy_(model.embedding.weight.t())
            self.recurrent.load_state_dict(model.recurrent.state_dict())
            self.readout.load_state_dict(model.readout.state_dict())
        self.eval()

    def embed(self, inputs: Tensor) -> Tensor:
        return inputs if self.embedding is None else self.embedding(inputs)

    def forward(self, inputs: Tensor) -> Tensor:
        hidden, _ = self.recurrent(self.embed(inputs))
        return self.readout(hidden[:, -1] if self.readout_kind == "last" else hidden)

    def step(self, step_input: Tensor, state=None):
        """(output for this step (B, out), new state) for one step's input (B, 1, D): streaming inference."""
        hidden, state = self.recurrent(self.embed(step_input), state)
        return self.readout(hidden[:, -1]), state


class StatefulGraph(nn.Module):
    """What is exported to ONNX: (inputs (B, T, D), h0 (L, B, H)[, c0]) -> (outputs, h_T[, c_T]). With a zero state
    it reads a whole sequence; with T = 1 and the state carried it streams one step at a time, in one graph."""

    def __init__(self, model: DeployableModel):
        super().__init__()
        self.model = model
        self.has_cell = isinstance(model.recurrent, nn.LSTM)

    def forward(self, inputs: Tensor, hidden: Tensor, cell: Tensor | None = None):
        state = (hidden, cell) if self.has_cell else hidden
        outputs, state = self.model.recurrent(self.model.embed(inputs), state)
        outputs = self.model.readout(outputs[:, -1] if self.model.readout_kind == "last" else outputs)
        return (outputs, *state) if self.has_cell else (outputs, state)

    def zero_state(self, batch: int) -> list[Tensor]:
        recurrent = self.model.recurrent
        shape = (recurrent.num_layers, batch, recurrent.hidden_size)
        return [torch.zeros(shape) for _ in range(2 if self.has_cell else 1)]


def deployable(model: SequenceModel) -> DeployableModel:
    was_training = model.training
    try:
        return DeployableModel(model.eval())
    finally:
        model.train(was_training)


def sequence_model_state(model: DeployableModel) -> dict[str, Tensor]:
    """The weights under SequenceModel's own names (embedding.weight (V, E), recurrent.*, readout.*), float32."""
    state = {f"recurrent.{name}": tensor for name, tensor in model.recurrent.state_dict().items()}
    state.update({f"readout.{name}": tensor for name, tensor in model.readout.state_dict().items()})
    if model.embedding is not None:
        state["embedding.weight"] = model.embedding.weight.t()
    return {name: tensor.detach().float().contiguous() for name, tensor in state.items()}
