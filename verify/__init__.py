"""Claims: each pairs a theory statement with a simulator measurement, with statistics and a
negative control. ``python -m verify list`` / ``python -m verify run --quick``."""

from ._claim import Check, Claim, Evidence, all_claims, claim, get_claim
from .stats import Estimate, Z, mean_se

__all__ = [
           "Check",
           "Claim",
           "Estimate",
           "Evidence",
           "Z",
           "all_claims",
           "claim",
           "get_claim",
           "mean_se",
]
