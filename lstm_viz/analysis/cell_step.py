"""One time step of one cell, taken apart: every term of every gate's pre-activation, the gate values and the new
state, for all units, plus the equations of one unit as LaTeX with the numbers substituted.

The states going in (x_t, h_{t-1}, c_{t-1}) come from the trace (lstm_viz.core.traces, what every other page shows);
the step itself is recomputed in float64 from the layer's weights (`layer_params`), so each term can be shown on
its own. PyTorch's equations, gate by gate (https://pytorch.org/docs/stable/generated/torch.nn.LSTM.html):

LSTM  i, f, g, o = act(W_i* x_t + W_h* h_{t-1} + b_i* + b_h*);  c_t = f c_{t-1} + i g;  h_t = o tanh(c_t)
GRU   r, z = sigmoid(W_i* x_t + b_i* + W_h* h_{t-1} + b_h*);  n = tanh(W_in x_t + b_in + r (W_hn h_{t-1} + b_hn));
      h_t = (1 - z) n + z h_{t-1}
RNN   h_t = tanh(W_ih x_t + W_hh h_{t-1} + b_ih + b_hh)

tests/test_engine_cell_step.py checks h_t and c_t against nn.LSTMCell / nn.GRUCell / nn.RNNCell stepped by hand.
No Streamlit here.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Mapping

import numpy as np
import torch

from lstm_viz.core.architectures import layer_params
from lstm_viz.core.model import SequenceModel
from lstm_viz.core.traces import Trace, trace

DIGITS = 4  # decimals shown in the equations

# PyTorch's gate order inside the stacked weight matrices.
GATE_ORDER = {
    "lstm": ("input_gate", "forget_gate", "candidate", "output_gate"),
    "gru": ("reset_gate", "update_gate", "candidate"),
    "rnn": ("hidden_state",),
}
SYMBOLS = {
    "input_gate": "i", "forget_gate": "f", "candidate": "g", "output_gate": "o",
    "reset_gate": "r", "update_gate": "z", "hidden_state": "h", "cell_state": "c",
}
GATE_LABELS = {
    "input_gate": "input gate", "forget_gate": "forget gate", "candidate": "candidate", "output_gate": "output gate",
    "reset_gate": "reset gate", "update_gate": "update gate", "cell_state": "cell update", "hidden_state": "hidden state",
}


@dataclass(frozen=True)
class Term:
    """One summand of a pre-activation, for every unit: its LaTeX name (unit index j) and its values (H,)."""
    latex: str
    values: np.ndarray


@dataclass(frozen=True)
class Gate:
    """A gate (or the candidate, or the RNN's whole step) at one time step, for every unit."""
    name: str  # trace name: "forget_gate", "candidate", ...
    symbol: str  # "f", "g", ...
    activation: str  # "sigmoid" | "tanh"
    terms: tuple[Term, ...]  # their sum is `preactivation`, exactly (it is computed as that sum)
    preactivation: np.ndarray  # (H,)
    value: np.ndarray  # (H,) activation(preactivation)
    # GRU candidate only: r * (W_hn h_{t-1} + b_hn) is one term; these are the two inside the bracket and r.
    inner_terms: tuple[Term, ...] = ()
    inner_factor: np.ndarray | None = None

    @property
    def label(self) -> str:
        return GATE_LABELS[self.name]


@dataclass(frozen=True)
class CellStep:
    """Everything about step t of one layer, float64, for all H units."""
    arch: str
    t: int
    x: np.ndarray  # (D,) the layer's input at t
    h_prev: np.ndarray  # (H,)
    c_prev: np.ndarray | None  # (H,), LSTM only
    gates: dict[str, Gate]  # in PyTorch's gate order
    h: np.ndarray  # (H,)
    c: np.ndarray | None = None  # (H,), LSTM only
    extra: dict[str, np.ndarray] = field(default_factory=dict)  # products shown in the equations

    @property
    def hidden_size(self) -> int:
        return len(self.h)

    def vectors(self) -> dict[str, np.ndarray]:
        """Every per-unit vector of the step, in reading order: the gates, then c_t (LSTM) and h_t; for the RNN its
        pre-activation and h_t."""
        if self.arch == "rnn":  # its one "gate" is h itself; the pre-activation shows how far tanh is saturated
            return {"preactivation": self.gates["hidden_state"].preactivation, "hidden_state": self.h}
        vectors = {name: gate.value for name, gate in self.gates.items()}
        if self.c is not None:
            vectors["cell_state"] = self.c
        vectors["hidden_state"] = self.h
        return vectors

    def equations(self, unit: int, digits: int = DIGITS) -> list[tuple[str, str]]:
        """(label, LaTeX) of each equation of the step for unit `unit`, with its numbers substituted."""
        if not 0 <= unit < self.hidden_size:
            raise IndexError(f"unit {unit} out of range 0..{self.hidden_size - 1}")
        return _EQUATIONS[self.arch](self, unit, digits)


# ----------------------------------------------------------------------------------------------------
# the step, for all units, from float64 weights
def _sigmoid(values: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-values))


def _activate(activation: str, values: np.ndarray) -> np.ndarray:
    return _sigmoid(values) if activation == "sigmoid" else np.tanh(values)


def _as64(params: Mapping[str, object]) -> dict[str, np.ndarray]:
    out = {}
    for name, value in params.items():
        if isinstance(value, torch.Tensor):
            value = value.detach().cpu().double().numpy()
        out[name] = np.asarray(value, dtype=np.float64)
    return out


def _chunks(array: np.ndarray, count: int) -> list[np.ndarray]:
    return np.split(array, count, axis=0)


def _gate(name: str, activation: str, terms: tuple[Term, ...], inner: tuple[Term, ...] = (),
          inner_factor: np.ndarray | None = None) -> Gate:
    preactivation = np.sum([term.values for term in terms], axis=0)
    return Gate(name, SYMBOLS[name], activation, terms, preactivation, _activate(activation, preactivation),
                inner, inner_factor)


def lstm_step(params: Mapping[str, object], x: np.ndarray, h_prev: np.ndarray, c_prev: np.ndarray, t: int = 0) -> CellStep:
    p = _as64(params)
    x, h_prev, c_prev = (np.asarray(v, dtype=np.float64) for v in (x, h_prev, c_prev))
    input_terms = _chunks(p["weight_ih"] @ x, 4)
    hidden_terms = _chunks(p["weight_hh"] @ h_prev, 4)
    biases = _chunks(p["bias_ih"] + p["bias_hh"], 4)
    gates = {}
    for k, name in enumerate(GATE_ORDER["lstm"]):
        s = SYMBOLS[name]
        activation = "tanh" if name == "candidate" else "sigmoid"
        gates[name] = _gate(name, activation, (
            Term(rf"[W_{{i{s}}}\,x_t]_j", input_terms[k]),
            Term(rf"[W_{{h{s}}}\,h_{{t-1}}]_j", hidden_terms[k]),
            Term(rf"b_{{{s},j}}", biases[k]),
        ))
    i, f, g, o = (gates[name].value for name in GATE_ORDER["lstm"])
    kept, written = f * c_prev, i * g
    c = kept + written
    squashed = np.tanh(c)
    return CellStep("lstm", t, x, h_prev, c_prev, gates, h=o * squashed, c=c,
                    extra={"kept": kept, "written": written, "tanh_c": squashed})


def gru_step(params: Mapping[str, object], x: np.ndarray, h_prev: np.ndarray, t: int = 0) -> CellStep:
    p = _as64(params)
    x, h_prev = (np.asarray(v, dtype=np.float64) for v in (x, h_prev))
    input_terms = _chunks(p["weight_ih"] @ x, 3)
    hidden_terms = _chunks(p["weight_hh"] @ h_prev, 3)
    input_biases, hidden_biases = _chunks(p["bias_ih"], 3), _chunks(p["bias_hh"], 3)
    gates = {}
    for k, name in enumerate(GATE_ORDER["gru"][:2]):
        s = SYMBOLS[name]
        gates[name] = _gate(name, "sigmoid", (
            Term(rf"[W_{{i{s}}}\,x_t]_j", input_terms[k]),
            Term(rf"[W_{{h{s}}}\,h_{{t-1}}]_j", hidden_terms[k]),
            Term(rf"b_{{i{s},j}} + b_{{h{s},j}}", input_biases[k] + hidden_biases[k]),
        ))
    r, z = gates["reset_gate"].value, gates["update_gate"].value
    inner = (Term(r"[W_{hn}\,h_{t-1}]_j", hidden_terms[2]), Term(r"b_{hn,j}", hidden_biases[2]))
    gated = r * (inner[0].values + inner[1].values)
    gates["candidate"] = _gate("candidate", "tanh", (
        Term(r"[W_{in}\,x_t]_j", input_terms[2]),
        Term(r"b_{in,j}", input_biases[2]),
        Term(r"r_{t,j}\,([W_{hn}\,h_{t-1}]_j + b_{hn,j})", gated),
    ), inner, r)
    gates["candidate"] = replace(gates["candidate"], symbol="n")  # PyTorch's name for the GRU candidate
    n = gates["candidate"].value
    new, kept = (1.0 - z) * n, z * h_prev
    return CellStep("gru", t, x, h_prev, None, gates, h=new + kept, extra={"new": new, "kept": kept})


def rnn_step(params: Mapping[str, object], x: np.ndarray, h_prev: np.ndarray, t: int = 0) -> CellStep:
    p = _as64(params)
    x, h_prev = (np.asarray(v, dtype=np.float64) for v in (x, h_prev))
    gate = _gate("hidden_state", "tanh", (
        Term(r"[W_{ih}\,x_t]_j", p["weight_ih"] @ x),
        Term(r"[W_{hh}\,h_{t-1}]_j", p["weight_hh"] @ h_prev),
        Term(r"b_{ih,j} + b_{hh,j}", p["bias_ih"] + p["bias_hh"]),
    ))
    return CellStep("rnn", t, x, h_prev, None, {"hidden_state": gate}, h=gate.value)


def step_from_trace(arch: str, params: Mapping[str, object], layer_input: np.ndarray,
                    layer_arrays: Mapping[str, np.ndarray], t: int) -> CellStep:
    """Step t of one example: `layer_input` (T, D) is what the layer reads (the task input, or the hidden states
    of the layer below), `layer_arrays` that layer's trace for the same example ({name: (T, H)})."""
    steps = len(layer_input)
    if not 0 <= t < steps:
        raise IndexError(f"time step {t} out of range 0..{steps - 1}")
    hidden = np.asarray(layer_arrays["hidden_state"], dtype=np.float64)
    h_prev = hidden[t - 1] if t > 0 else np.zeros(hidden.shape[1])
    x = np.asarray(layer_input[t], dtype=np.float64)
    if arch == "lstm":
        cell = np.asarray(layer_arrays["cell_state"], dtype=np.float64)
        c_prev = cell[t - 1] if t > 0 else np.zeros(cell.shape[1])
        return lstm_step(params, x, h_prev, c_prev, t)
    if arch == "gru":
        return gru_step(params, x, h_prev, t)
    if arch == "rnn":
        return rnn_step(params, x, h_prev, t)
    raise ValueError(f"no step equations for architecture {arch!r}")


def layer_input_of(trace_result: Trace, inputs: np.ndarray, example: int, layer: int) -> np.ndarray:
    """What layer `layer` reads for one example: the task input for the first layer (a word task's embedded
    tokens, which the trace keeps), else the layer below's h."""
    if layer == 0:
        return np.asarray(inputs[example] if trace_result.layer_input is None else trace_result.layer_input[example])
    return trace_result.layers[layer - 1]["hidden_state"][example]


def cell_step(model: SequenceModel, inputs: torch.Tensor, t: int, *, example: int = 0, layer: int = 0,
              traced: Trace | None = None) -> CellStep:
    """Step t of `inputs[example]` (inputs: (B, T, D)) through layer `layer` of `model`, as the model is now.
    Pass `traced` (trace(model, inputs)) to reuse a trace already made."""
    traced = traced if traced is not None else trace(model, inputs)
    params = {name: value.detach() for name, value in layer_params(model.recurrent, layer).items()}
    layer_input = layer_input_of(traced, inputs.numpy(), example, layer)
    arrays = {name: values[example] for name, values in traced.layers[layer].items()}
    return step_from_trace(model.config.arch, params, layer_input, arrays, t)


# ----------------------------------------------------------------------------------------------------
# the sandbox: one LSTM unit with one input, every number set by hand
SANDBOX_INPUT_WEIGHTS = {"input_gate": 1.0, "forget_gate": 1.0, "candidate": 1.0, "output_gate": 1.0}
SANDBOX_RECURRENT_WEIGHTS = {"input_gate": 1.0, "forget_gate": 1.0, "candidate": 1.0, "output_gate": 1.0}


def sandbox_params(biases: Mapping[str, float], input_weights: Mapping[str, float] | None = None,
                   recurrent_weights: Mapping[str, float] | None = None) -> dict[str, np.ndarray]:
    """A one-unit, one-input LSTM's weights under PyTorch's names (gate order i, f, g, o); biases by gate name."""
    input_weights = {**SANDBOX_INPUT_WEIGHTS, **(input_weights or {})}
    recurrent_weights = {**SANDBOX_RECURRENT_WEIGHTS, **(recurrent_weights or {})}
    order = GATE_ORDER["lstm"]
    return {
        "weight_ih": np.array([[input_weights[name]] for name in order], dtype=np.float64),
        "weight_hh": np.array([[recurrent_weights[name]] for name in order], dtype=np.float64),
        "bias_ih": np.array([float(biases.get(name, 0.0)) for name in order], dtype=np.float64),
        "bias_hh": np.zeros(4),
    }


def sandbox_step(x: float, h_prev: float, c_prev: float, biases: Mapping[str, float],
                 input_weights: Mapping[str, float] | None = None,
                 recurrent_weights: Mapping[str, float] | None = None) -> CellStep:
    """One step of a one-unit LSTM cell; a pure function of its arguments."""
    params = sandbox_params(biases, input_weights, recurrent_weights)
    return lstm_step(params, np.array([x], dtype=np.float64), np.array([h_prev]), np.array([c_prev]))


# ----------------------------------------------------------------------------------------------------
# numbers in equations
def _units(value: float, digits: int) -> int:
    return int(math.floor(value * 10**digits + 0.5))


def rounded_summands(values: list[float], digits: int = DIGITS) -> tuple[list[int], int]:
    """The summands and their total in units of 10^-digits, each summand within one unit of its true value and
    the total the true total rounded, so that the shown summands add up to the shown total exactly
    (largest-remainder rounding)."""
    total = _units(math.fsum(values), digits)
    scaled = [v * 10**digits for v in values]
    floors = [math.floor(s) for s in scaled]
    missing = total - sum(floors)  # between 0 and len(values)
    order = sorted(range(len(values)), key=lambda k: scaled[k] - floors[k], reverse=True)
    shown = list(floors)
    for k in order[: max(0, min(missing, len(values)))]:
        shown[k] += 1
    return shown, total


def _number(units: int, digits: int) -> str:
    sign = "-" if units < 0 else ""
    units = abs(units)
    whole, fraction = divmod(units, 10**digits)
    return f"{sign}{whole}.{fraction:0{digits}d}" if digits else f"{sign}{whole}"


def fmt(value: float, digits: int = DIGITS) -> str:
    """A number as shown in the equations (round half up, no '-0.0000')."""
    return _number(_units(value, digits), digits)


def _sum_latex(units: list[int], digits: int) -> str:
    """'0.1234 - 0.5678 + 1.0000': signs folded into the operators."""
    parts = []
    for k, value in enumerate(units):
        text = _number(abs(value), digits)
        if k == 0:
            parts.append(("-" if value < 0 else "") + text)
        else:
            parts.append(("- " if value < 0 else "+ ") + text)
    return " ".join(parts)


def _factor(value: float, digits: int) -> str:
    text = fmt(value, digits)
    return f"({text})" if text.startswith("-") else text


def _activation_latex(activation: str) -> str:
    return r"\sigma" if activation == "sigmoid" else r"\tanh"


def _gate_latex(gate: Gate, unit: int, digits: int) -> str:
    act = _activation_latex(gate.activation)
    symbolic = " + ".join(term.latex for term in gate.terms)
    values = [float(term.values[unit]) for term in gate.terms]
    shown, total = rounded_summands(values, digits)
    lines = [rf"{gate.symbol}_{{t,j}} &= {act}\left({symbolic}\right)"]
    if gate.inner_terms:  # GRU candidate: show the bracket multiplied by r first
        inner_values = [float(term.values[unit]) for term in gate.inner_terms]
        inner_shown, _ = rounded_summands(inner_values, digits)
        factor = float(gate.inner_factor[unit])
        lines.append(
            rf"&= {act}\left({_sum_latex(shown[:-1], digits)} + {_factor(factor, digits)}"
            rf"\times({_sum_latex(inner_shown, digits)})\right)"
        )
    lines.append(rf"&= {act}\left({_sum_latex(shown, digits)}\right)")
    lines.append(rf"&= {act}({_number(total, digits)}) = \mathbf{{{fmt(float(gate.value[unit]), digits)}}}")
    return r"\begin{aligned}" + r" \\ ".join(lines) + r"\end{aligned}"


def _product_sum_latex(name: str, symbolic: str, factors: list[tuple[float, float]], result: float, digits: int) -> str:
    """'c = f c' + i g = (a)(b) + (c)(d) = p + q = r' with the products rounded so that p + q shows r."""
    products = [a * b for a, b in factors]
    shown, total = rounded_summands(products, digits)
    substituted = " + ".join(rf"{_factor(a, digits)} \times {_factor(b, digits)}" for a, b in factors)
    return (r"\begin{aligned}" + rf"{name} &= {symbolic} \\ &= {substituted} \\ &= {_sum_latex(shown, digits)} "
            rf"= \mathbf{{{fmt(result, digits)}}}" + r"\end{aligned}")


def _lstm_equations(step: CellStep, unit: int, digits: int) -> list[tuple[str, str]]:
    equations = [(step.gates[name].label, _gate_latex(step.gates[name], unit, digits))
                 for name in ("forget_gate", "input_gate", "candidate")]
    j = unit
    i, f, g = (float(step.gates[n].value[j]) for n in ("input_gate", "forget_gate", "candidate"))
    equations.append(("cell update", _product_sum_latex(
        "c_{t,j}", r"f_{t,j}\,c_{t-1,j} + i_{t,j}\,g_{t,j}",
        [(f, float(step.c_prev[j])), (i, g)], float(step.c[j]), digits)))
    equations.append(("output gate", _gate_latex(step.gates["output_gate"], unit, digits)))
    o, squashed = float(step.gates["output_gate"].value[j]), float(step.extra["tanh_c"][j])
    equations.append(("hidden state", (
        r"\begin{aligned}" + r"h_{t,j} &= o_{t,j}\,\tanh(c_{t,j}) \\ "
        rf"&= {_factor(o, digits)} \times \tanh({fmt(float(step.c[j]), digits)}) \\ "
        rf"&= {_factor(o, digits)} \times {_factor(squashed, digits)} = \mathbf{{{fmt(float(step.h[j]), digits)}}}"
        + r"\end{aligned}"
    )))
    return equations


def _gru_equations(step: CellStep, unit: int, digits: int) -> list[tuple[str, str]]:
    equations = [(step.gates[name].label, _gate_latex(step.gates[name], unit, digits))
                 for name in GATE_ORDER["gru"]]
    j = unit
    z, n = float(step.gates["update_gate"].value[j]), float(step.gates["candidate"].value[j])
    equations.append(("hidden state", _product_sum_latex(
        "h_{t,j}", r"(1 - z_{t,j})\,n_{t,j} + z_{t,j}\,h_{t-1,j}",
        [(1.0 - z, n), (z, float(step.h_prev[j]))], float(step.h[j]), digits)))
    return equations


def _rnn_equations(step: CellStep, unit: int, digits: int) -> list[tuple[str, str]]:
    return [("hidden state", _gate_latex(step.gates["hidden_state"], unit, digits))]


_EQUATIONS = {"lstm": _lstm_equations, "gru": _gru_equations, "rnn": _rnn_equations}
