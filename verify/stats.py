"""Statistics for claims: the one statistics layer :mod:`sim.stats`, re-exported.

The implementation lives in :mod:`sim.stats` (a numpy-only leaf, so figures and notebooks use it
without importing the claims); claims import it from here (``from ..stats import mean_se``) or from
:mod:`verify` itself. The names are the same objects.
"""

from sim.stats import (
    Estimate,
    Fit,
    LinearFit,
    Z,
    loglog_slope,
    mean_se,
    mean_se_rows,
    sd_se,
    sd_se_normal,
    variance_se,
    weighted_fit,
    weighted_linear_fit,
)

__all__ = ["Estimate", "Fit", "LinearFit", "Z", "loglog_slope", "mean_se", "mean_se_rows", "sd_se",
           "sd_se_normal", "variance_se", "weighted_fit", "weighted_linear_fit"]
