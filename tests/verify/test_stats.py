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


def test_spread_estimates_match_their_formulas_and_cover():
    """sd_se_normal / variance_se / sd_se: the values are the textbook formulas, and over 400
    normal samples of size 200 the +-2 s.e. intervals cover the true value at about 95 %
    (binomial s.d. of the rate sqrt(0.95 * 0.05 / 400) = 0.011, so [0.90, 0.99] is > 4 s.d.)."""
    from verify.stats import sd_se, sd_se_normal, variance_se

    x = np.array([1.0, 2.0, 4.0, 7.0])
    s = np.std(x, ddof=1)
    assert sd_se_normal(x) == Estimate(float(s), float(s / np.sqrt(6)), 4)
    c = x - x.mean()
    v = variance_se(x)
    assert v.mean == np.mean(c**2) and v.se == pytest.approx(np.sqrt((np.mean(c**4) - v.mean**2) / 4))
    assert sd_se(x).mean == pytest.approx(np.sqrt(v.mean)) and sd_se(x).se == pytest.approx(
        v.se / (2 * np.sqrt(v.mean)))
    rng = np.random.default_rng(1)
    draws = rng.normal(0.0, 2.0, (400, 200))
    for est, truth in ((sd_se_normal, 2.0), (variance_se, 4.0), (sd_se, 2.0)):
        cover = np.mean([abs(e.mean - truth) <= 2 * e.se for e in map(est, draws)])
        assert 0.90 <= cover <= 0.99, (est.__name__, cover)


def test_mean_se_ddof_and_rows_axis():
    from verify.stats import mean_se_rows

    x = np.array([1.0, 2.0, 4.0, 7.0])
    assert mean_se(x, ddof=0).se == np.std(x) / 2
    with pytest.raises(ValueError, match="ddof must be 0 or 1, got 2"):
        mean_se(x, ddof=2)
    a = np.arange(12.0).reshape(3, 4) ** 1.5
    m0, se0 = mean_se_rows(a, axis=0)
    np.testing.assert_array_equal(m0, a.mean(axis=0))
    np.testing.assert_array_equal(se0, a.std(axis=0, ddof=1) / np.sqrt(3))
    m1, se1 = mean_se_rows(a)
    np.testing.assert_array_equal(m1, a.mean(axis=1))
    np.testing.assert_array_equal(se1, a.std(axis=1, ddof=1) / 2)
