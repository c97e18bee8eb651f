"""A fused recurrent network with a linear readout: the one model class every page and script trains."""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn

from .architectures import Architecture, get_architecture
from .errors import ConfigError
from .tasks import Task, get_task

# Bounds every entry point enforces, so a typo cannot allocate gigabytes on a shared server.
HIDDEN_SIZE_RANGE = (1, 512)
LAYER_RANGE = (1, 3)
# Word tasks embed each token in this many dimensions before the first layer; 0 means no embedding.
EMBEDDING_SIZE_RANGE = (0, 256)


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

    @property
    def layer_input_size(self) -> int:
        """What the first recurrent layer reads at each step: the embedding, or the raw input."""
        return self.embedding_size or self.input_size

    def validate(self) -> None:
        get_architecture(self.arch)
        low, high = HIDDEN_SIZE_RANGE
        if not low <= self.hidden_size <= high:
            raise ConfigError(f"hidden size must be between {low} and {high} (got {self.hidden_size})")
        low, high = LAYER_RANGE
        if not low <= self.num_layers <= high:
            raise ConfigError(f"layers must be between {low} and {high} (got {self.num_layers})")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"dropout must be in [0, 1) (got {self.dropout})")
        if not -10.0 <= self.forget_bias <= 10.0:
            raise ConfigError(f"forget-gate bias must be between -10 and 10 (got {self.forget_bias})")
        if self.readout not in ("last", "every"):
            raise ConfigError(f"readout must be 'last' or 'every' (got {self.readout!r})")
        low, high = EMBEDDING_SIZE_RANGE
        if not low <= self.embedding_size <= high:
            raise ConfigError(f"embedding size must be between {low} and {high} (got {self.embedding_size})")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def for_task(cls, arch: str, task: Task | str, **kwargs) -> "ModelConfig":
        task = get_task(task) if isinstance(task, str) else task
        return cls(arch=arch, input_size=task.input_size, output_size=task.output_size, readout=task.readout,
                   embedding_size=task.embedding_size, **kwargs)


class SequenceModel(nn.Module):
    """`recurrent` is PyTorch's fused nn.RNN / nn.GRU / nn.LSTM, so its state dict uses PyTorch's own names."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        config.validate()
        self.config = config
        self.architecture: Architecture = get_architecture(config.arch)
        # Only word tasks have one, so the other tasks' state dicts (and their shipped runs) are unchanged.
        self.embedding = nn.Embedding(config.input_size, config.embedding_size) if config.embedding_size else None
        self.recurrent = self.architecture.build(config.layer_input_size, config.hidden_size, config.num_layers, config.dropout)
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

    def forward(self, inputs: Tensor) -> Tensor:
        hidden, _ = self.recurrent(self.embed(inputs))  # (B, T, H)
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
