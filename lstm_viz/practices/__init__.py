"""The best-practice lab: each practice (overfitting, normalisation, the honest baseline, consistent lengths,
tuning, stacking) as a side-by-side experiment on identical data, with a takeaway computed from its result.

Above the layer-3 peers: its experiments run through runs/ (the one scheduler, cached points) and use analysis/
(the forecasting split and metrics)."""
