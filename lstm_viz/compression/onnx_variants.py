"""ONNX: the deployable model exported with torch.onnx.export, run with onnxruntime, and onnxruntime's own dynamic
int8 quantisation of that graph (onnxruntime.quantization.quantize_dynamic, maintained).

onnxruntime quantises the ONNX LSTM op itself (DynamicQuantizeLSTM: int8 W and R) and every MatMul (the embedding,
the readout). It has no int8 GRU or RNN op: for those cells only the MatMuls become int8 and the recurrent weights
stay float32 (`quantised_ops` says which ops the graph holds). The exported graph takes the state as inputs and
returns the new state (lstm_viz.compression.deployable.StatefulGraph; batch and length free): a zero state and a
whole sequence, or one step at a time with the state carried (streaming), run the same file.

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

from lstm_viz.compression.deployable import DeployableModel, StatefulGraph

OPSET = 17
INPUT_NAME, OUTPUT_NAME = "inputs", "outputs"
STATE_NAMES = ("h0", "c0")  # in; out: "h_n", "c_n"


def export_onnx(model: DeployableModel, example: Tensor, path: Path) -> Path:
    """Write `model` as ONNX to `path`; `example` (1, T, D) fixes nothing but the dtypes (batch and T are free)."""
    graph = StatefulGraph(model).eval()
    state = graph.zero_state(example.shape[0])
    state_in = list(STATE_NAMES[: len(state)])
    state_out = [name.replace("0", "_n") for name in state_in]
    free = {0: "batch", 1: "steps"}
    # A prediction at every step (readout "every") has the steps axis too.
    output_axes = free if model.readout_kind == "every" else {0: "batch"}
    axes = {INPUT_NAME: free, OUTPUT_NAME: output_axes, **{name: {1: "batch"} for name in state_in + state_out}}
    with warnings.catch_warnings():
        # The exporter's deprecation notice and its tracer's note on `if` over tensor sizes inside nn.LSTM's own
        # forward (the traced branch is the one every input of this shape takes) are stated in the module docstring.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        # It warns that an RNN with a free batch may fail at another batch size unless h0/c0 are inputs: they are.
        warnings.filterwarnings("ignore", message="Exporting a model to ONNX with a batch_size other than 1")
        torch.onnx.export(graph, (example, *state), str(path), input_names=[INPUT_NAME, *state_in],
                          output_names=[OUTPUT_NAME, *state_out], dynamic_axes=axes, opset_version=OPSET,
                          dynamo=False)
    import onnx

    onnx.checker.check_model(str(path), full_check=True)  # the graph is valid ONNX, its shapes consistent
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
    """Remove the graph's value_info: shape annotations of intermediate tensors, which the quantiser adds (about 1 kB
    for the adding LSTM) and onnxruntime infers again when it loads the graph. On a 70 kB model they
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
        self.state_inputs = [item for item in self.session.get_inputs() if item.name in STATE_NAMES]
        self.output_names = [item.name for item in self.session.get_outputs()]

    def _zero_state(self, batch: int) -> list[np.ndarray]:
        return [np.zeros((item.shape[0], batch, item.shape[2]), dtype=np.float32) for item in self.state_inputs]

    def _run(self, inputs: Tensor, state: list[np.ndarray]) -> list[np.ndarray]:
        feed = {INPUT_NAME: np.ascontiguousarray(inputs.detach().numpy(), dtype=np.float32)}
        feed.update({item.name: value for item, value in zip(self.state_inputs, state)})
        return self.session.run(self.output_names, feed)

    def __call__(self, inputs: Tensor) -> Tensor:
        """A whole sequence from a zero state."""
        return torch.from_numpy(self._run(inputs, self._zero_state(inputs.shape[0]))[0])

    def step(self, step_input: Tensor, state=None):
        """One step (B, 1, D) from `state` (None: zeros): (its output, the new state), for streaming."""
        results = self._run(step_input, state if state is not None else self._zero_state(step_input.shape[0]))
        return torch.from_numpy(results[0]), results[1:]
