"""ONNX: the deployable model exported with torch.onnx.export, run with onnxruntime, and onnxruntime's own dynamic
int8 quantisation of that graph (onnxruntime.quantization.quantize_dynamic, maintained).

onnxruntime quantises the ONNX LSTM op itself (DynamicQuantizeLSTM: int8 W and R) and every MatMul (the embedding,
the readout). It has no int8 GRU or RNN op: for those cells only the MatMuls become int8 and the recurrent weights
stay float32 (`quantised_ops` says which ops the graph holds). The exported graph reads a whole sequence (batch and
length free); it has no state input, so these variants do not stream step by step.

The export uses the TorchScript-based exporter (dynamo=False): the newer dynamo exporter needs the onnxscript
package, which this app does not install. torch 2.13 warns that the TorchScript exporter is deprecated.
"""
from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from lstm_viz.compression.deployable import DeployableModel

OPSET = 17
INPUT_NAME, OUTPUT_NAME = "inputs", "outputs"


def export_onnx(model: DeployableModel, example: Tensor, path: Path) -> Path:
    """Write `model` as ONNX to `path`; `example` (1, T, D) fixes nothing but the dtypes (batch and T are free)."""
    with warnings.catch_warnings():
        # The exporter's deprecation notice and its tracer's note on `if` over tensor sizes inside nn.LSTM's own
        # forward (the traced branch is the one every input of this shape takes) are stated in the module docstring.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        # It warns that an RNN exported without h0 as an input may fail at another batch size: the initial state
        # is built from the input's batch dimension, and tests/test_compression.py checks batches of 1 and 3.
        warnings.filterwarnings("ignore", message="Exporting a model to ONNX with a batch_size other than 1")
        torch.onnx.export(model, (example,), str(path), input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                          dynamic_axes={INPUT_NAME: {0: "batch", 1: "steps"}, OUTPUT_NAME: {0: "batch"}},
                          opset_version=OPSET, dynamo=False)
    return path


def quantise_onnx(source: Path, target: Path) -> Path:
    """onnxruntime's dynamic int8 quantisation of the graph at `source`, written to `target`."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    # It logs a suggestion to run its pre-processing on every call (meant for convolution graphs' shape inference;
    # these graphs quantise the same without it): kept out of the CLI's output.
    root.setLevel(logging.ERROR)
    try:
        quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8)
    finally:
        root.setLevel(level)
    _drop_shape_hints(target)
    return target


def _drop_shape_hints(path: Path) -> None:
    """Remove the graph's value_info: shape annotations of intermediate tensors, which the quantiser adds (19 of them,
    about 1 kB, for the adding LSTM) and onnxruntime infers again when it loads the graph. On a 70 kB model they
    are 1.5% of the float32 size, paid by the int8 file alone."""
    import onnx

    model = onnx.load(str(path))
    del model.graph.value_info[:]
    onnx.save(model, str(path))


def quantised_ops(path: Path) -> list[str]:
    """The int8 ops the graph at `path` holds (DynamicQuantizeLSTM, MatMulInteger, ...)."""
    import onnx

    graph = onnx.load(str(path)).graph
    return sorted({node.op_type for node in graph.node if "Integer" in node.op_type or "Quantize" in node.op_type})


class OnnxRunner:
    """One onnxruntime session on one thread (intra- and inter-op), as PyTorch's latencies are measured."""

    def __init__(self, path: Path):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3
        self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def __call__(self, inputs: Tensor) -> Tensor:
        array = np.ascontiguousarray(inputs.detach().numpy(), dtype=np.float32)
        return torch.from_numpy(self.session.run([OUTPUT_NAME], {INPUT_NAME: array})[0])
