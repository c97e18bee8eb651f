"""LSTM Explorer's engine: architectures, tasks, training, traces and gradient flow. No Streamlit here
(except the `lstm_viz.ui` glue package), so everything a page shows can be computed from a script."""

from .architectures import ARCHITECTURES, get_architecture
from .errors import ConfigError, LstmVizError, ModelFileError
from .gradient_flow import GradientFlow, measure_gradient_flow
from .model import ModelConfig, SequenceModel, build_model
from .tasks import TASKS, get_task
from .traces import Trace, trace
from .trainer import ProgressEvent, RunConfig, Trainer, iter_training

__all__ = [
    "ARCHITECTURES", "ConfigError", "GradientFlow", "LstmVizError", "ModelConfig", "ModelFileError",
    "ProgressEvent", "RunConfig", "SequenceModel", "TASKS", "Trace", "Trainer", "build_model",
    "get_architecture", "get_task", "iter_training", "measure_gradient_flow", "trace",
]
