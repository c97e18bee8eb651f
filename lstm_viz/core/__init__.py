"""The model and its training: architectures, tasks, the model, the trainer, traces and the gradient probe."""
