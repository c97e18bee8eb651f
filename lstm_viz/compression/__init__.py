"""Smaller variants of a trained model for small devices (float16/bfloat16 weights, int8, magnitude pruning, ONNX),
each measured against the float32 model on its task's test set: size, latency at batch 1, metric, max |diff|.

A layer of its own between core/ and the layer-3 peers: it takes a model and its task from core/, so io/cli's
`compress` verb and the Deploy small page can both call it."""
