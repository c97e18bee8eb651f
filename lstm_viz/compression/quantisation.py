"""int8 in PyTorch: dynamic quantisation of the LSTM/GRU and Linear layers (torch.ao.quantization.quantize_dynamic),
its weights as an int8 safetensors file, and the same weights dequantised for the gate views.

torch.ao.quantization is deprecated for torchao (it warns so in torch 2.13), but torchao's quantize_ handles only
nn.Linear, not the recurrent layers, so the maintained int8 variant of this package is onnxruntime's
(lstm_viz.compression.onnx_variants). This one stays as a second row: the int8 that runs in PyTorch itself, step
by step too (streaming). quantize_dynamic has no nn.RNN (tanh) kernel: for the RNN only the readout (and an
embedding) become int8, which its file size shows.
"""
from __future__ import annotations

import copy
import warnings
from contextlib import contextmanager
from typing import Iterator

import torch
from safetensors.torch import save
from torch import Tensor, nn

from lstm_viz.compression.deployable import DeployableModel

QUANTISED_LAYERS = {nn.LSTM, nn.GRU, nn.Linear}


@contextmanager
def torch_ao_quiet() -> Iterator[None]:
    """Silence torch.ao's deprecation warnings here only: its deprecation is stated in the report and on the page,
    and repeated on every call it would bury every other warning in the CLI's output and the server's log."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"torch\.ao\.quantization is deprecated", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message=r"torch\.quantize_per_tensor", category=UserWarning)
        yield


def torch_int8(model: DeployableModel) -> nn.Module:
    """A copy with int8 weights in every nn.LSTM/nn.GRU/nn.Linear; activations are quantised on the fly per call."""
    with torch_ao_quiet():
        from torch.ao.quantization import quantize_dynamic  # imported here: importing it warns too

        quantised = quantize_dynamic(copy.deepcopy(model), QUANTISED_LAYERS, dtype=torch.qint8)
    return quantised.eval()


def _quantised_weights(quantised: nn.Module) -> dict[str, Tensor]:
    """{SequenceModel-style name: quantised weight tensor} of every int8 layer of `quantised`."""
    weights: dict[str, Tensor] = {}
    with torch_ao_quiet():
        for prefix in ("embedding", "readout"):
            layer = getattr(quantised, prefix)
            if layer is not None and not isinstance(layer.weight, Tensor):
                weights[f"{prefix}.weight"] = layer.weight()
        if hasattr(quantised.recurrent, "get_weight"):
            weights.update({f"recurrent.{name}": tensor for name, tensor in quantised.recurrent.get_weight().items()})
    return weights


def _float_tensors(quantised: nn.Module) -> dict[str, Tensor]:
    """The tensors that stay float32: biases, and every weight of a layer that was not quantised."""
    tensors: dict[str, Tensor] = {}
    with torch_ao_quiet():
        for prefix in ("embedding", "readout"):
            layer = getattr(quantised, prefix)
            if layer is None:
                continue
            if isinstance(layer.weight, Tensor):
                tensors[f"{prefix}.weight"] = layer.weight
            bias = layer.bias() if callable(layer.bias) else layer.bias
            if bias is not None:
                tensors[f"{prefix}.bias"] = bias
        if hasattr(quantised.recurrent, "get_bias"):
            tensors.update({f"recurrent.{name}": bias for name, bias in quantised.recurrent.get_bias().items()})
        else:
            tensors.update({f"recurrent.{name}": value for name, value in quantised.recurrent.state_dict().items()})
    return {name: tensor.detach().float().contiguous() for name, tensor in tensors.items()}


def int8_file_bytes(quantised: nn.Module, metadata: dict[str, str]) -> bytes:
    """safetensors: each int8 weight as <name>.int8 with its <name>.scale and <name>.zero_point (per tensor), the
    float32 rest under its own name. No pickle, so a device can read it with any safetensors reader."""
    tensors = _float_tensors(quantised)
    for name, weight in _quantised_weights(quantised).items():
        tensors[f"{name}.int8"] = weight.int_repr().contiguous()
        tensors[f"{name}.scale"] = torch.tensor([weight.q_scale()], dtype=torch.float32)
        tensors[f"{name}.zero_point"] = torch.tensor([weight.q_zero_point()], dtype=torch.int32)
    layout = "int8 per-tensor affine: value = scale * (int8 - zero_point)"
    return save(tensors, metadata={**metadata, "weights": layout})


def dequantised_state(quantised: nn.Module, float_state: dict[str, Tensor]) -> dict[str, Tensor]:
    """`float_state` (SequenceModel names) with every weight the int8 model holds replaced by its dequantised value:
    what the gates see through the rounded weights. The embedding's Linear weight is transposed back to (V, E)."""
    state = dict(float_state)
    for name, weight in _quantised_weights(quantised).items():
        value = weight.dequantize().float()
        state[name] = value.t().contiguous() if name == "embedding.weight" else value
    return state


def quantised_layer_names(quantised: nn.Module) -> list[str]:
    """Which weights are int8, for the report (SequenceModel names)."""
    return sorted(_quantised_weights(quantised))
