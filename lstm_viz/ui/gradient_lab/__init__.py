"""The Gradient flow lab: the probes measured on the run, the what-if runs, one function per tab."""
