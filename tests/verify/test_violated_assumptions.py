"""Claims read a bound's applicability from the theory object (``verify._claim.violated_assumptions``)."""

import numpy as np

import theory
from verify._claim import violated_assumptions

# the 1-D lower-bound instance of the issue: L = 1, w* = 0.5, tau = 1, s = 0.3
INSTANCE = dict(L=1.0, w_star=0.5, tau=1.0, s=0.3)


def test_lower_bound_closed_form_applies_inside_the_band_only():
    floor_alpha = theory.get("asgd.lower.floor_alpha")
    assert violated_assumptions(floor_alpha, alpha=0.1, **INSTANCE) == []
    # alpha L (1 + (|w*| + s/L)/tau) = 0.7 * 1.8 > 1: the chain can leave the band
    assert "band_invariant" in violated_assumptions(floor_alpha, alpha=0.7, **INSTANCE)
    # alpha = 1.2: the formula returns a negative floor there; its assumptions say so
    assert float(floor_alpha.evaluate(alpha=1.2, **INSTANCE)) < 0
    assert set(violated_assumptions(floor_alpha, alpha=1.2, **INSTANCE)) >= {"band_invariant",
                                                                            "variance_denominator"}


def test_saturation_assumption_is_read_per_run():
    bound = theory.get("agd.noiseless.ald")
    assert violated_assumptions(bound, W_max=np.array([0.2, 0.5]), tau=1.0) == []
    assert violated_assumptions(bound, W_max=np.array([0.2, 1.0]), tau=1.0) == ["saturation"]


def test_unchecked_assumptions_are_not_reported_as_violated():
    # asgd.upper.derived_M's step cap needs alpha and L; without them it is unchecked, not violated
    bound = theory.get("asgd.upper.derived_M")
    assert violated_assumptions(bound, W_max=0.5, tau=1.0) == []
    assert violated_assumptions(bound, W_max=0.5, tau=1.0, alpha=2.0, L=1.0) == ["step_cap"]
