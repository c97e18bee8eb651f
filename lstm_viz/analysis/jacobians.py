"""Why gradients vanish, with the numbers: per-step Jacobians, forget-gate products, and what-if experiments.

- Tanh RNN: h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh). PyTorch stores `weight_hh` as (H, H) and computes
  h_{t-1} @ W_hh^T, so in column-vector notation the step Jacobian is J_t = dh_t/dh_{t-1} = diag(1 - h_t^2) W_hh,
  and the backward pass applies its transpose: dL/dh_{t-1} = W_hh^T diag(1 - h_t^2) dL/dh_t (same spectral norm).
  A gradient d steps back is multiplied by P_d = J_{T-1} J_{T-2} ... J_{T-d} = dh_{T-1}/dh_{T-1-d}. We report
  ||J_t||_2, the spectral norm of the actual product ||P_d||_2, and the product of the norms, an upper bound on it
  (||AB|| <= ||A|| ||B||). All in float64, with the product renormalised every step (it spans 1e-60 to 1e+30).
- LSTM: along the cell path dc_t/dc_{t-1} = diag(f_t) exactly, so d steps back the cell path multiplies a gradient
  by prod of the last d forget gates, unit by unit. Clamping f_t to a constant c makes that factor c^d.
- What-ifs: gradient flow at initialisation for another forget-gate bias or recurrent weight scale; a trained LSTM
  re-run with its forget gate clamped; a short training run with and without gradient clipping.

No Streamlit here: every number a page shows can be computed from a script.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from types import SimpleNamespace
from typing import Callable

import numpy as np
import torch
from torch import Tensor

from lstm_viz.core.architectures import layer_params
from lstm_viz.core.gradient_flow import GradientFlow, measure_gradient_flow, unrolled_forward
from lstm_viz.core.model import ModelConfig, SequenceModel, build_model
from lstm_viz.core.tasks import Task
from lstm_viz.core.trainer import RunConfig, Trainer

# The what-if settings the page offers. Forget bias 1 is Gers et al. / Jozefowicz et al.'s advice.
FORGET_BIASES = (0.0, 1.0, 3.0)
WEIGHT_SCALES = (0.5, 1.0, 1.5, 2.0, 3.0)
CLAMP_VALUES = (0.5, 0.9, 1.0)
CLIPPING_STEPS = (100, 200, 400)


# ----------------------------------------------------------------------------------------------------
# distances: everything on this page is indexed by d = T-1-t, the number of steps back from the last step
def by_distance(per_step: np.ndarray) -> np.ndarray:
    """(..., T) indexed by time step t -> (..., T) indexed by distance d = T-1-t from the last step."""
    return np.asarray(per_step)[..., ::-1].copy()


def ratio_at_distance(grad_norm_per_step: np.ndarray, distance: int) -> float:
    """||dL/dh_{T-1-d}|| / ||dL/dh_{T-1}|| for one layer's (T,) norms; NaN if the last step has no gradient."""
    norms = np.asarray(grad_norm_per_step, dtype=np.float64)
    distance = min(max(int(distance), 0), len(norms) - 1)
    return float(norms[-1 - distance] / norms[-1]) if norms[-1] > 0 else math.nan


def default_distance(steps: int) -> int:
    """The distance the page quotes: 50 steps back when the sequence is long enough, else half of it."""
    return max(1, min(50, steps // 2, steps - 1))


# ----------------------------------------------------------------------------------------------------
# RNN step Jacobians
@dataclass(frozen=True)
class RnnJacobians:
    # (T-1,) indexed by distance d = 1..T-1: ||J_{T-d}||_2, the step that moves a gradient from d-1 to d steps back.
    step_norm: np.ndarray
    # (T,) indexed by distance d = 0..T-1: ||J_{T-1} ... J_{T-d}||_2 (d = 0: the identity, 1).
    product_norm: np.ndarray
    # (T,) the upper bound prod_{k=1}^{d} ||J_{T-k}||_2.
    norm_product: np.ndarray
    # (T,) log10 of the two above: finite even where the values underflow float64 (below 1e-308).
    log10_product_norm: np.ndarray
    log10_norm_product: np.ndarray
    spectral_radius: float  # max |eigenvalue| of W_hh
    weight_norm: float  # ||W_hh||_2: no step Jacobian can exceed it, since |1 - h^2| <= 1
    saturation: np.ndarray  # (T,) by time step: mean over units of h_t^2 (1 = tanh fully saturated)


def hidden_states(model: SequenceModel, inputs: Tensor, layer: int = 0) -> Tensor:
    """(B, T, H) float64 hidden states of one layer, from the float64 unrolled forward."""
    with torch.no_grad():
        _, hidden_per_layer, _ = unrolled_forward(model, inputs.double())
    return torch.stack(hidden_per_layer[layer], dim=1)


def rnn_step_jacobian(weight_hh: Tensor, hidden_t: Tensor) -> Tensor:
    """dh_t/dh_{t-1} = diag(1 - h_t^2) W_hh for one sequence: (H,) -> (H, H), rows = units of h_t."""
    return (1.0 - hidden_t**2)[:, None] * weight_hh


def spectral_radius(matrix: Tensor) -> float:
    return float(torch.linalg.eigvals(matrix.double()).abs().max())


def rnn_jacobians(model: SequenceModel, example: Tensor, layer: int = 0) -> RnnJacobians:
    """The per-step Jacobians of one tanh-RNN layer on one example (T, D) and the norms of their running products."""
    if model.config.arch != "rnn":
        raise ValueError(f"rnn_jacobians needs a tanh RNN (got {model.config.arch})")
    hidden = hidden_states(model, example.reshape(1, *example.shape[-2:]), layer)[0]  # (T, H)
    weight_hh = layer_params(model.recurrent, layer)["weight_hh"].detach().double()
    steps = hidden.shape[0]
    step_norm = np.empty(steps - 1)
    log_product_norm = np.zeros(steps)
    log_norm_product = np.zeros(steps)
    product = torch.eye(weight_hh.shape[0], dtype=torch.float64)  # P_d / ||P_d|| (renormalised)
    log_product, log_bound = 0.0, 0.0
    for distance in range(1, steps):
        jacobian = rnn_step_jacobian(weight_hh, hidden[steps - distance])  # J_{T-d}
        step_norm[distance - 1] = float(torch.linalg.matrix_norm(jacobian, ord=2))
        product = product @ jacobian
        scale = float(torch.linalg.matrix_norm(product, ord=2))
        log_product += math.log(scale) if scale > 0 else -math.inf
        log_bound += math.log(step_norm[distance - 1]) if step_norm[distance - 1] > 0 else -math.inf
        log_product_norm[distance] = log_product
        log_norm_product[distance] = log_bound
        if scale > 0:
            product = product / scale
    return RnnJacobians(
        step_norm=step_norm,
        product_norm=np.exp(log_product_norm),
        norm_product=np.exp(log_norm_product),
        log10_product_norm=log_product_norm / math.log(10),
        log10_norm_product=log_norm_product / math.log(10),
        spectral_radius=spectral_radius(weight_hh),
        weight_norm=float(torch.linalg.matrix_norm(weight_hh, ord=2)),
        saturation=(hidden**2).mean(dim=1).numpy(),
    )


# ----------------------------------------------------------------------------------------------------
# LSTM forget-gate path
@dataclass(frozen=True)
class ForgetPath:
    forget_gate: np.ndarray  # (T, H) f_t of one example, by time step
    # (H, T) by distance d = 0..T-1: prod_{k=1}^{d} f_{T-k}, what the cell path keeps of a gradient d steps back.
    product_per_unit: np.ndarray

    @property
    def product_mean(self) -> np.ndarray:
        """(T,) the mean over units of the running product, by distance."""
        return self.product_per_unit.mean(axis=0)

    @property
    def product_max(self) -> np.ndarray:
        return self.product_per_unit.max(axis=0)


def forget_running_product(forget_gate: Tensor | np.ndarray) -> np.ndarray:
    """(T, H) forget gates by time step -> (H, T) prod of the last d gates by distance d (in log space: no early 0)."""
    forget = np.asarray(forget_gate, dtype=np.float64)
    with np.errstate(divide="ignore"):
        log_forget = np.log(forget[::-1])  # row d-1 is f_{T-d}
    cumulative = np.concatenate([np.zeros((1, forget.shape[1])), np.cumsum(log_forget, axis=0)[:-1]])
    return np.exp(cumulative).T


def lstm_forget_path(model: SequenceModel, example: Tensor, layer: int = 0) -> ForgetPath:
    """Forget gates of one LSTM layer on one example (T, D), and their running products back from the last step."""
    if model.config.arch != "lstm":
        raise ValueError(f"lstm_forget_path needs an LSTM (got {model.config.arch})")
    with torch.no_grad():
        _, _, gates_per_layer = unrolled_forward(model, example.reshape(1, *example.shape[-2:]).double())
    forget = torch.stack([gates["forget_gate"][0] for gates in gates_per_layer[layer]]).numpy()  # (T, H)
    return ForgetPath(forget_gate=forget, product_per_unit=forget_running_product(forget))


# ----------------------------------------------------------------------------------------------------
# LSTM with the forget gate clamped to a constant
def clamped_lstm_step(clamp: float | Tensor) -> Callable:
    """The LSTM step of lstm_viz.core.architectures.lstm with f_t replaced by the constant `clamp` (gate order i, f, g, o);
    a (B, 1) tensor gives each sequence of the batch its own constant."""

    def step(params, input_projection: Tensor, state):
        hidden, cell = state
        preactivation = input_projection + hidden @ params["weight_hh"].t() + params["bias_hh"]
        i, _, g, o = preactivation.chunk(4, dim=-1)
        forget_gate = clamp.to(i.dtype).expand_as(i) if isinstance(clamp, Tensor) else torch.full_like(i, clamp)
        cell = forget_gate * cell + torch.sigmoid(i) * torch.tanh(g)
        hidden = torch.sigmoid(o) * torch.tanh(cell)
        return (hidden, cell), {"forget_gate": forget_gate}

    return step


def clamped_view(model: SequenceModel, clamp: float | Tensor) -> SimpleNamespace:
    """A read-only stand-in for `model` whose LSTM step uses f_t = clamp: unrolled_forward and
    measure_gradient_flow run on it unchanged, with the trained weights for every other gate."""
    if model.config.arch != "lstm":
        raise ValueError(f"only an LSTM has a forget gate to clamp (got {model.config.arch})")
    values = clamp if isinstance(clamp, Tensor) else torch.tensor([float(clamp)])
    if not bool(((values >= 0.0) & (values <= 1.0)).all()):
        raise ValueError(f"a forget gate lies in [0, 1] (got {clamp})")
    return SimpleNamespace(
        architecture=replace(model.architecture, step=clamped_lstm_step(clamp if isinstance(clamp, Tensor) else float(clamp))),
        config=model.config,
        embedding=model.embedding,
        recurrent=model.recurrent,
        readout=model.readout,
    )


def clamped_forward(model: SequenceModel, inputs: Tensor, clamp: float | None) -> Tensor:
    """Float64 outputs of the LSTM on `inputs` with f_t fixed to `clamp` in every layer (None: not clamped)."""
    view = model if clamp is None else clamped_view(model, clamp)
    with torch.no_grad():
        outputs, _, _ = unrolled_forward(view, inputs.double())
    return outputs


def clamped_gradient_flow(model: SequenceModel, task: Task, inputs: Tensor, targets: Tensor, clamp: float | None) -> GradientFlow:
    """measure_gradient_flow under the clamp; the forget-gate fields hold the constant (product c^d, exact even at 0)."""
    if clamp is None:
        return measure_gradient_flow(model, task, inputs, targets)
    flow = measure_gradient_flow(clamped_view(model, clamp), task, inputs, targets)
    layers, steps = flow.grad_norm_per_step.shape
    distance = np.arange(steps - 1, -1, -1, dtype=np.float64)  # by time step t: T-1-t
    flow.forget_gate_mean_per_step = np.full((layers, steps), float(clamp))
    flow.forget_product_per_step = np.tile(np.power(float(clamp), distance), (layers, 1))
    flow.forget_gate_mean_per_unit = np.full((layers, model.config.hidden_size), float(clamp))
    return flow


def clamped_metrics(model: SequenceModel, task: Task, inputs: Tensor, targets: Tensor,
                    clamps: list[float | None]) -> list[float]:
    """The task's metric on (inputs, targets) for every clamp value, in one unrolled loop over a batch that repeats
    the inputs once per value (None: not clamped, computed by the fused model as the trainer evaluates it)."""
    metrics: dict[int, float] = {}
    clamped = [(index, value) for index, value in enumerate(clamps) if value is not None]
    if clamped:
        count = inputs.shape[0]
        per_row = torch.tensor([value for _, value in clamped], dtype=torch.float64).repeat_interleave(count)[:, None]
        repeated = inputs.double().repeat(len(clamped), *([1] * (inputs.dim() - 1)))
        with torch.no_grad():
            outputs, _, _ = unrolled_forward(clamped_view(model, per_row), repeated)
        for block, (index, _) in enumerate(clamped):
            metrics[index] = float(task.metric(outputs[block * count:(block + 1) * count].float(), targets))
    if any(value is None for value in clamps):
        with torch.no_grad():
            model.eval()
            plain = float(task.metric(torch.cat([model(chunk) for chunk in inputs.split(256)]), targets))
        metrics.update({index: plain for index, value in enumerate(clamps) if value is None})
    return [metrics[index] for index in range(len(clamps))]


@dataclass(frozen=True)
class ClampResult:
    clamp: float | None  # None: the trained LSTM as it is
    metric: float  # the task's metric on the test set
    flow: GradientFlow  # on the probe batch


def clamp_experiments(model: SequenceModel, task: Task, test: tuple[Tensor, Tensor], probe: tuple[Tensor, Tensor],
                      clamps: list[float | None]) -> list[ClampResult]:
    """Re-measure a trained LSTM with its forget gate clamped to each value: test metric and gradient flow."""
    metrics = clamped_metrics(model, task, *test, clamps)
    return [ClampResult(clamp=value, metric=metric, flow=clamped_gradient_flow(model, task, *probe, value))
            for value, metric in zip(clamps, metrics)]


def clamp_experiment(
    model: SequenceModel, task: Task, test: tuple[Tensor, Tensor], probe: tuple[Tensor, Tensor], clamp: float | None
) -> ClampResult:
    return clamp_experiments(model, task, test, probe, [clamp])[0]


# ----------------------------------------------------------------------------------------------------
# initialisation what-ifs
def scale_recurrent_weights(model: SequenceModel, scale: float) -> SequenceModel:
    """Multiply every layer's W_hh by `scale` in place (its spectral radius scales by the same factor)."""
    with torch.no_grad():
        for layer in range(model.config.num_layers):
            getattr(model.recurrent, f"weight_hh_l{layer}").mul_(scale)
    return model


def initial_model(config: RunConfig, arch: str, *, forget_bias: float | None = None, weight_scale: float = 1.0) -> SequenceModel:
    """The untrained model the run would start from (same seed), with another forget-gate bias and/or W_hh scale."""
    model_config: ModelConfig = config.model_config(arch)
    if forget_bias is not None:
        model_config = replace(model_config, forget_bias=float(forget_bias))
    model = build_model(model_config, seed=config.seed)
    return scale_recurrent_weights(model, weight_scale) if weight_scale != 1.0 else model


@dataclass(frozen=True)
class InitProbe:
    label: str
    flow: GradientFlow
    # Per layer: the spectral radius of W_hh (tanh RNN only: the gated cells stack G matrices in it).
    spectral_radii: tuple[float, ...] | None
    # Per layer, LSTM only: the forget gate averaged over probe sequences, steps and units.
    mean_forget_gates: tuple[float, ...] | None

    @property
    def spectral_radius(self) -> float | None:
        return None if self.spectral_radii is None else self.spectral_radii[0]

    @property
    def mean_forget_gate(self) -> float | None:
        return None if self.mean_forget_gates is None else self.mean_forget_gates[0]


def init_probe(config: RunConfig, arch: str, probe: tuple[Tensor, Tensor], *, forget_bias: float | None = None,
               weight_scale: float = 1.0, label: str = "") -> InitProbe:
    model = initial_model(config, arch, forget_bias=forget_bias, weight_scale=weight_scale)
    flow = measure_gradient_flow(model, config.make_task(), *probe)
    weights = [layer_params(model.recurrent, layer)["weight_hh"].detach() for layer in range(model.config.num_layers)]
    radii = tuple(spectral_radius(w) for w in weights) if weights[0].shape[0] == weights[0].shape[1] else None
    forget = None if flow.forget_gate_mean_per_unit is None else tuple(float(f.mean()) for f in flow.forget_gate_mean_per_unit)
    return InitProbe(label=label, flow=flow, spectral_radii=radii, mean_forget_gates=forget)


# ----------------------------------------------------------------------------------------------------
# gradient clipping on and off
@dataclass(frozen=True)
class ClippingRun:
    clip: float | None
    steps: np.ndarray
    train_loss: np.ndarray
    grad_norm: np.ndarray  # total gradient norm before clipping
    eval_steps: np.ndarray
    eval_metric: np.ndarray
    status: str
    status_detail: str
    seconds: float


def clipping_config(config: RunConfig, arch: str, clip: float | None, steps: int) -> RunConfig:
    """The run's settings for one architecture, a short budget, clipping on (threshold) or off (None)."""
    return replace(
        config, archs=(arch,), clip_grad_norm=clip, max_steps=int(steps), stop_when_solved=False, patience=None,
        train_to_budget=True,  # clipped and unclipped runs are compared over the same budget
        eval_every=max(1, int(steps) // 20), probe_every=int(steps), max_checkpoints=4,
    ).validate()


def clipping_run(config: RunConfig, arch: str, clip: float | None, steps: int,
                 on_progress: Callable[[float], None] | None = None, chunk: int = 10,
                 should_stop: Callable[[], bool] | None = None) -> ClippingRun:
    """Train `arch` for `steps` steps from the run's seed with clipping on or off, reporting progress in [0, 1].
    `should_stop` is checked every `chunk` steps; a stopped run is returned as far as it got, status "stopped"."""
    trainer = Trainer(clipping_config(config, arch, clip, steps))
    started = time.perf_counter()
    while not trainer.finished:
        if should_stop is not None and should_stop():
            trainer.stop("stopped by the server")
            break
        trainer.advance(max_steps=chunk)
        if on_progress is not None:
            on_progress(min(1.0, trainer.step / steps))
    run = trainer.runs[arch]
    return ClippingRun(
        clip=clip,
        steps=np.asarray(run.steps, dtype=np.int64),
        train_loss=np.asarray(run.train_loss, dtype=np.float64),
        grad_norm=np.asarray(run.grad_norm, dtype=np.float64),
        eval_steps=np.asarray(run.eval_steps, dtype=np.int64),
        eval_metric=np.asarray(run.eval_metric, dtype=np.float64),
        status=run.status,
        status_detail=run.status_detail,
        seconds=time.perf_counter() - started,
    )
