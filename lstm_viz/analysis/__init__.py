"""Layer 3, what is computed from a trained model: one cell step taken apart, memory units and the neuron search,
Jacobians and what-ifs, which checkpoint a step shows, forecasts, anomalies, text reading and generation. A peer of
runs and io: imports only core and below."""
