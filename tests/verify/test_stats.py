import numpy as np
import pytest

from verify import _claim as C
from verify.stats import Estimate, loglog_slope, mean_se, weighted_fit, weighted_linear_fit


def test_weighted_fit_recovers_line_and_errors_cover():
    rng = np.random.default_rng(0)
    x = np.linspace(0, 1, 8)
    hits = 0
    for _ in range(200):
        y = 2 + 3 * x + rng.normal(0, 0.1, x.size)
        fit = weighted_linear_fit(x, y, np.full(x.size, 0.1))
        hits += abs(fit.slope - 3) <= 2 * fit.se_slope
    assert 0.9 <= hits / 200 <= 1.0  # ~95 % coverage at 2 s.e.


def test_loglog_slope():
    x = np.array([1.0, 2.0, 4.0, 8.0])
    fit = loglog_slope(x, 5 * x**-2, 0.01 * 5 * x**-2)
    assert fit.slope == pytest.approx(-2, abs=1e-12)


def test_mean_se_rejects_bad_input():
    with pytest.raises(ValueError, match="two independent runs"):
        mean_se(np.array([1.0]))
    with pytest.raises(ValueError, match="non-finite"):
        mean_se(np.array([1.0, np.nan]))


def test_check_helpers_decide_with_stated_tolerance():
    assert C.upper("x", Estimate(1.0, 0.1, 10), 1.31).passed
    assert not C.upper("x", Estimate(1.0, 0.1, 10), 1.29).passed
    assert C.lower("x", Estimate(1.0, 0.1, 10), 0.69).passed
    assert not C.close("x", Estimate(1.0, 0.1, 10), 1.5).passed
    assert C.close("x", Estimate(1.0, 0.1, 10), 1.5, model_tol=0.21).passed
    assert C.exact("x", 1.0, 1.0 + 1e-13, rtol=1e-12, reason="r").passed
    assert not C.exact("x", 1.0, 1.1, atol=0.05, reason="r").passed
    assert C.verdict_of([C.not_applicable("x", "r")]) == "n/a"
    assert C.verdict_of([C.holds("a", True, "r"), C.not_applicable("x", "r")]) == "pass"
    assert C.verdict_of([C.holds("a", True, "r"), C.holds("b", False, "r")]) == "fail"


def test_weighted_fit_general_design_recovers_quadratic_and_errors_cover():
    rng = np.random.default_rng(1)
    a = np.linspace(0.1, 1, 7)
    X = np.column_stack([np.ones_like(a), a, a**2])
    hits = 0
    for _ in range(200):
        fit = weighted_fit(X, 0.5 + 2 * a - a**2 + rng.normal(0, 0.05, a.size), np.full(a.size, 0.05))
        hits += abs(fit.coef[0] - 0.5) <= 2 * fit.se[0]
    assert 0.9 <= hits / 200 <= 1.0
    exact = weighted_fit(X, 0.5 + 2 * a - a**2, np.full(a.size, 0.05))
    np.testing.assert_allclose(exact.coef, [0.5, 2, -1], atol=1e-10)
    m, s = exact.predict([1.0, 0.0, 0.0])
    assert m[0] == pytest.approx(0.5) and s[0] == pytest.approx(exact.se[0])
    assert exact.estimate(1).mean == pytest.approx(2) and exact.dof == 4


def test_weighted_fit_rejects_bad_input():
    with pytest.raises(ValueError, match="more points than parameters"):
        weighted_fit(np.ones((3, 3)), np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="> 0"):
        weighted_fit(np.ones((4, 1)), np.ones(4), np.zeros(4))
    with pytest.raises(ValueError, match=r"\(n, p\)"):
        weighted_fit(np.ones(4), np.ones(4), np.ones(4))
