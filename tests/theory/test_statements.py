import math
import subprocess
import sys

import numpy as np
import pytest
import sympy as sp

import theory
from tests.theory._values import plausible
from theory import Bound, Derivation, Provenance
from theory.calculus import balance_step_size, iteration_complexity, leading_order, telescope
from theory.symbols import Delta_0, K, L, alpha, epsilon, sigma

ALL = theory.ids()
DERIVATIONS = [i for i in ALL if theory.get(i).kind == "derivation"]
BOUNDS = [i for i in ALL if theory.get(i).kind == "bound"]


@pytest.mark.parametrize("sid", DERIVATIONS)
def test_every_derivation_rederives(sid):
    assert theory.get(sid).verify(), f"{sid}: sympy result differs from the stated form"


def test_verify_can_fail():
    x = sp.Symbol("x")
    wrong = Derivation("t.wrong", "wrong", derived=(x + 1) ** 2, expected=x**2 + 1, steps=(),
                       provenance=Provenance("test", "derived"))
    assert not wrong.verify()


@pytest.mark.parametrize("bid", BOUNDS)
def test_bounds_have_provenance_and_evaluate(bid):
    b = theory.get(bid)
    assert b.provenance.source and b.provenance.status in ("restated", "derived", "reconstructed")
    val = float(b.evaluate(**plausible(b.symbols)))
    assert math.isfinite(val)
    assert b.latex()


def test_evaluate_names_missing_and_unknown_symbols():
    b = theory.get("sgd.rate")
    with pytest.raises(ValueError, match="missing value"):
        b.evaluate(Delta_0=1.0)
    with pytest.raises(ValueError, match="unknown symbol"):
        b.evaluate(Delta_0=1, K=10, L=1, alpha=0.1, sigma=1, bogus=2)


def test_evaluate_broadcasts():
    b = theory.get("sgd.rate")
    out = b.evaluate(Delta_0=1.0, K=np.array([10.0, 100.0]), L=1.0, alpha=0.1, sigma=1.0)
    np.testing.assert_allclose(out, [2 / (0.1 * 10) + 0.1, 2 / (0.1 * 100) + 0.1])


def test_unknown_id_message():
    with pytest.raises(KeyError, match="no theory statement"):
        theory.get("asgd.nope")


def test_telescope_and_balance():
    # E f_{k+1} <= f_k - (alpha/2) g + L alpha^2 sigma^2 / 2  ->  2 Delta/(alpha K) + alpha L sigma^2
    bound = telescope(alpha / 2, L * alpha**2 * sigma**2 / 2)
    assert sp.simplify(bound - (2 * Delta_0 / (alpha * K) + alpha * L * sigma**2)) == 0
    best, value = balance_step_size(bound)
    assert sp.simplify(best - sp.sqrt(2 * Delta_0 / (K * L * sigma**2))) == 0
    assert sp.simplify(value - 2 * sp.sqrt(2 * Delta_0 * L * sigma**2 / K)) == 0


def test_sgd_complexity_is_eps2_plus_eps1():
    k_eps = theory.get("sgd.iteration_complexity").expr
    assert sp.simplify(leading_order(k_eps) - 8 * Delta_0 * L * sigma**2 / epsilon**2) == 0
    # the next order is Delta_0 L / eps (the alpha <= 1/L cap)
    rest = sp.simplify(sp.limit((k_eps - 8 * Delta_0 * L * sigma**2 / epsilon**2) * epsilon, epsilon, 0))
    assert sp.simplify(rest - 4 * Delta_0 * L) == 0


def test_iteration_complexity_inverts_bound():
    b = 3 / sp.sqrt(K) + sp.Rational(1, 10)
    k_eps = iteration_complexity(b)
    for e in (0.2, 0.5, 3.0):  # above the floor 1/10
        assert float(b.subs(K, k_eps.subs(epsilon, e))) == pytest.approx(e)


def test_asgd_complexity_reduces_to_digital_order_without_floor():
    b = theory.get("asgd.iteration_complexity")
    val = b.evaluate(Delta_0=1, L=1, sigma=1, epsilon=1e-3, W_max=0.0, tau=1.0, Stilde_K=0.0)
    assert val == pytest.approx(8 / 1e-6)  # (1 + rho)^2 = 1, 1 - rho^2 = 1
    # above the floor only: eps below sigma^2 Stilde/(1 - rho^2) violates the assumption
    ok = b.check_assumptions(Delta_0=1, L=1, sigma=1, epsilon=1e-3, W_max=0.5, tau=1.0,
                             Stilde_K=0.1)
    assert ok["above_floor"] is False


def test_derived_asgd_constant_is_one_and_tight_on_instance():
    # The derived floor sigma^2 Stilde/(1 - rho^2) (constant 1), evaluated at the lower-bound
    # instance's fixed point, against that instance's floor s^2 w_bar^2/tau^2: the ratio is
    # 1 - w_bar^2/tau^2, which tends to 1 as the saturation vanishes.
    lower = theory.get("asgd.lower.floor")
    upper_floor = theory.get("asgd.asymptotic_error")
    ratios = []
    for w_star in (0.5, 0.05, 0.005):
        lb = float(lower.evaluate(L=1, s=0.3, tau=1, w_star=w_star))
        wbar = w_star / 1.3
        ub = float(upper_floor.evaluate(sigma=0.3, Stilde_K=wbar**2, W_max=wbar, tau=1))
        assert lb <= ub
        ratios.append(lb / ub)
    np.testing.assert_allclose(ratios, [1 - (w / 1.3) ** 2 for w in (0.5, 0.05, 0.005)])
    assert ratios[-1] > 0.9999


def test_assumption_checks():
    b = theory.get("asgd.upper.ald")
    res = b.check_assumptions(Delta_0=1, sigma=1, L=1, K=100, W_max=0.5, tau=1)
    assert res.as_dict() == {"paper_step": True, "saturation": True}
    res = b.check_assumptions(Delta_0=1, sigma=1, L=1, K=1, W_max=2, tau=1)
    assert res.as_dict() == {"paper_step": False, "saturation": False}
    assert b.check_assumptions()["saturation"] is None


def test_bound_holds_method():
    b = theory.get("agd.noiseless.ald")
    assert b.holds(0.1, Delta_0=1, L=1, K=10, W_max=0.0, tau=1)
    assert not b.holds(0.3, Delta_0=1, L=1, K=10, W_max=0.0, tau=1)


def test_rates_table_rows():
    from theory.tables import rates_table, to_latex, to_markdown

    rows = rates_table()
    by = {r.bound_id: r for r in rows}
    assert by["sgd.rate.paper_step"].asymptotic_error == 0
    assert by["tt.rate"].asymptotic_error == 0
    assert by["asgd.upper.ald"].asymptotic_error != 0
    md, tex = to_markdown(rows), to_latex(rows)
    assert "Analog SGD" in md and r"\begin{tabular}" in tex


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "theory", *args], capture_output=True, text=True)


def test_cli_list_show_eval():
    out = _cli("list")
    assert out.returncode == 0 and "asgd.upper.ald" in out.stdout
    out = _cli("show", "asgd.upper.derived_M")
    assert out.returncode == 0 and "Provenance" in out.stdout and "Assumptions" in out.stdout
    out = _cli("eval", "sgd.rate", "Delta_0=1", "K=100", "L=1", "alpha=0.1", "sigma=1")
    assert out.returncode == 0 and float(out.stdout.splitlines()[0]) == pytest.approx(0.3)
    out = _cli("eval", "sgd.rate", "Delta_0=1")
    assert out.returncode != 0 and "missing value" in out.stderr
    out = _cli("show", "nope.nope")
    assert out.returncode == 2 and "no theory statement" in out.stderr


def test_bound_is_a_bound():
    assert all(isinstance(theory.get(i), Bound) for i in BOUNDS)
