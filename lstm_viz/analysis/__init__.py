"""What is computed from a trained model: Jacobians, one cell step, memory units, forecasts, anomalies, generation."""
