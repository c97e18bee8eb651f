"""A fused recurrent network with a linear readout: the one model class every page and script trains."""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn

from lstm_viz.rules import checks
from lstm_viz.core.architectures import ARCHITECTURES, Architecture, get_architecture
from lstm_viz.rules.errors import ConfigError
from lstm_viz.core.tasks import Task, get_task
from lstm_viz.rules.ranges import (
    DROPOUT_RANGE, EMBEDDING_SIZE_RANGE, FORGET_BIAS_RANGE, HEADS_RANGE, HIDDEN_SIZE_RANGE, INPUT_SIZE_RANGE,
    LAYER_RANGE, MAX_POSITIONS_RANGE, OUTPUT_SIZE_RANGE,
)
from lstm_viz.core.architectures.transformer import POSITION_KINDS

READOUTS = ("last", "every")


@dataclass(frozen=True)
class ModelConfig:
    arch: str
    input_size: int
    output_size: int
    hidden_size: int = 64
    num_layers: int = 1
    dropout: float = 0.0
    # Added to the LSTM forget-gate bias at init; 0 keeps PyTorch's default init (mean 0, so f starts near 0.5).
    forget_bias: float = 0.0
    readout: str = "last"
    # 0: the first layer reads the task's inputs as they are. > 0: the inputs are one-hot tokens (or token ids) and an
    # nn.Embedding turns each into a learned vector of this size, which the first layer reads instead.
    embedding_size: int = 0
    # The Transformer's own settings; the recurrent cells ignore them. max_positions: rows of the learned position
    # table (0 with sinusoidal positions, which need none).
    heads: int = 2
    positions: str = "sinusoidal"
    max_positions: int = 0

    @property
    def layer_input_size(self) -> int:
        """What the first recurrent layer reads at each step: the embedding, or the raw input."""
        return self.embedding_size or self.input_size

    def validate(self, task: Task | None = None) -> "ModelConfig":
        """Every field's type and range; with `task`, also that the sizes and readout are the task's."""
        checks.one_of("architecture", self.arch, ARCHITECTURES)
        checks.whole_number("input size", self.input_size, *INPUT_SIZE_RANGE)
        checks.whole_number("output size", self.output_size, *OUTPUT_SIZE_RANGE)
        checks.whole_number("hidden size", self.hidden_size, *HIDDEN_SIZE_RANGE)
        checks.whole_number("layers", self.num_layers, *LAYER_RANGE)
        checks.real_number("dropout", self.dropout, *DROPOUT_RANGE, below_high=True)
        checks.real_number("forget-gate bias", self.forget_bias, *FORGET_BIAS_RANGE)
        checks.one_of("readout", self.readout, READOUTS)
        checks.whole_number("embedding size", self.embedding_size, *EMBEDDING_SIZE_RANGE)
        if self.arch == "transformer":
            self._validate_transformer()
        if task is not None:
            for name, own, expected in (("input size", self.input_size, task.input_size),
                                        ("output size", self.output_size, task.output_size),
                                        ("readout", self.readout, task.readout),
                                        ("embedding size", self.embedding_size, task.embedding_size)):
                if own != expected:
                    raise ConfigError(f"the {task.label} task needs a model with {name} {expected!r} (got {own!r})")
        return self

    def _validate_transformer(self) -> None:
        checks.whole_number("attention heads", self.heads, *HEADS_RANGE)
        if self.hidden_size % self.heads:
            raise ConfigError(f"the Transformer's width (hidden size {self.hidden_size}) must divide by its "
                              f"{self.heads} attention heads")
        checks.one_of("positions", self.positions, POSITION_KINDS)
        if self.positions == "learned":
            checks.whole_number("learned positions", self.max_positions, *MAX_POSITIONS_RANGE)

    def transformer_options(self) -> dict:
        """What the Transformer's builder takes beyond the shared sizes."""
        return {"heads": self.heads, "positions": self.positions, "max_positions": self.max_positions}

    def parameter_shapes(self) -> dict[str, tuple[int, ...]]:
        """The state dict's names and shapes (PyTorch's own names), computed without allocating a weight."""
        if self.arch == "transformer":
            # Built on the meta device: shapes only, no memory, and always the module's own names.
            with torch.device("meta"):
                return {name: tuple(tensor.shape) for name, tensor in SequenceModel(self).state_dict().items()}
        rows = ARCHITECTURES[self.arch].gate_count * self.hidden_size
        shapes: dict[str, tuple[int, ...]] = {}
        if self.embedding_size:
            shapes["embedding.weight"] = (self.input_size, self.embedding_size)
        for layer in range(self.num_layers):
            layer_input = self.layer_input_size if layer == 0 else self.hidden_size
            shapes[f"recurrent.weight_ih_l{layer}"] = (rows, layer_input)
            shapes[f"recurrent.weight_hh_l{layer}"] = (rows, self.hidden_size)
            shapes[f"recurrent.bias_ih_l{layer}"] = (rows,)
            shapes[f"recurrent.bias_hh_l{layer}"] = (rows,)
        shapes["readout.weight"] = (self.output_size, self.hidden_size)
        shapes["readout.bias"] = (self.output_size,)
        return shapes

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def for_task(cls, arch: str, task: Task | str, **kwargs) -> "ModelConfig":
        task = get_task(task) if isinstance(task, str) else task
        return cls(arch=arch, input_size=task.input_size, output_size=task.output_size, readout=task.readout,
                   embedding_size=task.embedding_size, **kwargs)


class SequenceModel(nn.Module):
    """`recurrent` is PyTorch's fused nn.RNN / nn.GRU / nn.LSTM, so its state dict uses PyTorch's own names; for the
    Transformer it is `transformer` (lstm_viz.core.architectures.transformer.CausalTransformer), so no analysis of a
    recurrence picks it up by mistake."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        config.validate()
        self.config = config
        self.architecture: Architecture = get_architecture(config.arch)
        # Only word tasks have one, so the other tasks' state dicts (and their shipped runs) are unchanged.
        self.embedding = nn.Embedding(config.input_size, config.embedding_size) if config.embedding_size else None
        if self.architecture.recurrent:
            self.recurrent = self.architecture.build(config.layer_input_size, config.hidden_size, config.num_layers,
                                                     config.dropout)
        else:
            self.transformer = self.architecture.build(config.layer_input_size, config.hidden_size, config.num_layers,
                                                       config.dropout, **config.transformer_options())
        self.readout = nn.Linear(config.hidden_size, config.output_size)
        if config.forget_bias and config.arch == "lstm":
            self._shift_forget_bias(config.forget_bias)

    def _shift_forget_bias(self, shift: float) -> None:
        hidden_size = self.config.hidden_size
        forget_slice = slice(hidden_size, 2 * hidden_size)  # PyTorch's LSTM gate order: i, f, g, o
        with torch.no_grad():
            for layer in range(self.config.num_layers):
                getattr(self.recurrent, f"bias_ih_l{layer}")[forget_slice] += shift

    def embed(self, inputs: Tensor) -> Tensor:
        """What the first layer reads: (B, T, D) inputs as they are, or, with an embedding, each token's vector.
        Token ids (integer (B, T)) are looked up; one-hot rows (float (B, T, V)) are multiplied by the embedding
        matrix, which picks out the same rows exactly (every other term is 0 * w = 0)."""
        if self.embedding is None:
            return inputs
        if not inputs.is_floating_point():
            return self.embedding(inputs)
        return inputs @ self.embedding.weight.to(inputs.dtype)

    @property
    def sequence_layers(self) -> nn.Module:
        """The layers between the embedded inputs and the readout, whichever the architecture."""
        return self.recurrent if self.architecture.recurrent else self.transformer

    def forward(self, inputs: Tensor) -> Tensor:
        hidden, _ = self.sequence_layers(self.embed(inputs))  # (B, T, H)
        return self.readout_from_hidden(hidden)

    def readout_from_hidden(self, hidden: Tensor) -> Tensor:
        if self.config.readout == "last":
            return self.readout(hidden[:, -1])  # (B, out)
        return self.readout(hidden)  # (B, T, out)


def build_model(config: ModelConfig, seed: int) -> SequenceModel:
    """The same config and seed always give the same initial weights, whatever ran before."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return SequenceModel(config)
