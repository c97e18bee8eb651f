"""The Forecast and anomalies page."""
