"""LSTM Explorer's engine: architectures, tasks, training, traces and gradient flow. No Streamlit here
(except the `lstm_viz.ui` glue package), so everything a page shows can be computed from a script."""

from lstm_viz.core.architectures import ARCHITECTURES, get_architecture
from lstm_viz.rules.errors import ConfigError, LstmVizError, ModelFileError
from lstm_viz.core.gradient_flow import GradientFlow, measure_gradient_flow
from lstm_viz.core.model import ModelConfig, SequenceModel, build_model
from lstm_viz.core.tasks import TASKS, get_task
from lstm_viz.core.traces import Trace, trace
from lstm_viz.core.trainer import ProgressEvent, RunConfig, Trainer, iter_training

__all__ = [
    "ARCHITECTURES", "ConfigError", "GradientFlow", "LstmVizError", "ModelConfig", "ModelFileError",
    "ProgressEvent", "RunConfig", "SequenceModel", "TASKS", "Trace", "Trainer", "build_model",
    "get_architecture", "get_task", "iter_training", "measure_gradient_flow", "trace",
]
