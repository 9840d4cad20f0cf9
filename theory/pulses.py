r"""Pulse-level soft bounds (asymmetric, aihwkit conventions): closed forms sympy re-derives.

One up pulse of an aihwkit soft-bounds element moves :math:`w \to w + a_+(1 - w/b_{\max})`, one
down pulse :math:`w \to w - a_-(1 - w/b_{\min})` (``anchors.md`` 1.4). Derived here:

* ``pulse.n_pulses``: :math:`n` same-sign pulses compose to
  :math:`b + (w - b)(1 - a/|b|)^n` (up: :math:`b = b_{\max}`; down: :math:`b = b_{\min}`), so the
  approach to a bound is geometric with ratio :math:`1 - a_+/b_{\max}` (saturation);
* ``pulse.mean_field_limit``: with :math:`a_\pm = \kappa_\pm \Delta w_{\min}` and
  :math:`n = d/\Delta w_{\min}`, the limit :math:`\Delta w_{\min} \to 0` is the pulse flow
  :math:`b + (w - b) e^{-\kappa d / |b|}`, whose first order in :math:`d` is the mean-field map
  :math:`w + d\,q_\pm(w)` with :math:`q_+ = \kappa_+(1 - w/b_{\max})`,
  :math:`q_- = \kappa_-(1 - w/b_{\min})`;
* ``pulse.symmetric_point``: :math:`w^* = (a_+ - a_-)/(a_+/b_{\max} - a_-/b_{\min})`;
* ``pulse.alternating_fixed_point``: alternating up/down pulses settle at the fixed point of the
  two-pulse map, :math:`w^* + O(\Delta w_{\min})` (coefficient derived);
* ``pulse.aihwkit_mapping``: aihwkit ``up_down`` :math:`= \beta` (C++: only one direction shrinks)
  on bounds :math:`\pm\tau` gives the generalized-linear response
  :math:`q_\pm = \kappa(1 \pm c)(1 \mp w/\tau)` with :math:`c = \beta/(2 - |\beta|)`,
  :math:`\kappa = 1 - |\beta|/2`, symmetric point :math:`c\tau` (not :math:`\beta\tau`, the
  docstring's symmetric split).

Numeric helpers (:func:`expected_one_step`, :func:`alternating_limit`) evaluate these for the
claims in :mod:`verify.claims.pulse`.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from ._core import Derivation, Provenance, register
from .symbols import w

a_up, a_dn = sp.symbols("a_up a_down", positive=True)  # per-pulse step sizes
b_max = sp.Symbol("b_max", positive=True)
b_lo = sp.Symbol("b_lo", positive=True)  # |b_min|; b_min = -b_lo
dw = sp.Symbol("dw_min", positive=True)
kappa_up, kappa_dn = sp.symbols("kappa_up kappa_down", positive=True)
beta = sp.Symbol("beta", real=True)
tau = sp.Symbol("tau", positive=True)
n = sp.Symbol("n", positive=True, integer=True)
_e = sp.Symbol("delta", positive=True)

_SRC = "aihwkit SoftBoundsDevice / rpu_linearstep_device.cpp (anchors.md 1.3-1.4); derived here"


def up_pulse(x: sp.Expr) -> sp.Expr:
    return x + a_up * (1 - x / b_max)


def down_pulse(x: sp.Expr) -> sp.Expr:
    return x - a_dn * (1 + x / b_lo)  # 1 - x/b_min with b_min = -b_lo


def _rsolve(step) -> sp.Expr:
    k = sp.Symbol("k", integer=True, nonnegative=True)
    x = sp.Function("x")
    sol = sp.rsolve(x(k + 1) - step(x(k)), x(k), {x(0): w})
    return sp.simplify(sol.subs(k, n))


@register("pulse.n_pulses", title="n same-sign soft-bounds pulses: b + (w - b)(1 - a/|b|)^n",
          kind="derivation")
def _n_pulses() -> Derivation:
    derived = sp.Matrix([_rsolve(up_pulse), _rsolve(down_pulse)])
    expected = sp.Matrix([b_max + (w - b_max) * (1 - a_up / b_max) ** n,
                          -b_lo + (w + b_lo) * (1 - a_dn / b_lo) ** n])
    return Derivation(
        id="pulse.n_pulses",
        title="n same-sign soft-bounds pulses: b + (w - b)(1 - a/|b|)^n",
        derived=derived,
        expected=expected,
        steps=("up: b_max - w' = (b_max - w)(1 - a_up/b_max); rsolve of the linear recurrence",
               "down: w' - b_min = (w - b_min)(1 - a_down/|b_min|)",
               "so n up pulses approach b_max geometrically with ratio 1 - a_up/b_max"),
        provenance=Provenance(_SRC, "derived", "the sim fast path (sim.pulsed) uses this form"),
    )


@register("pulse.mean_field_limit",
          title="dw_min -> 0 with n dw_min = d: pulse flow, whose first order is w + d q(w)",
          kind="derivation")
def _mean_field_limit() -> Derivation:
    up = b_max + (w - b_max) * (1 - kappa_up * dw / b_max) ** n
    flow = sp.limit(up.subs(n, _e / dw), dw, 0, "+")
    first = sp.series(flow, _e, 0, 2).removeO()
    dn = -b_lo + (w + b_lo) * (1 - kappa_dn * dw / b_lo) ** n
    flow_dn = sp.limit(dn.subs(n, _e / dw), dw, 0, "+")
    first_dn = sp.series(flow_dn, _e, 0, 2).removeO()
    derived = sp.Matrix([flow, sp.expand(first), flow_dn, sp.expand(first_dn)])
    expected = sp.Matrix([b_max + (w - b_max) * sp.exp(-kappa_up * _e / b_max),
                          sp.expand(w + _e * kappa_up * (1 - w / b_max)),
                          -b_lo + (w + b_lo) * sp.exp(-kappa_dn * _e / b_lo),
                          sp.expand(w - _e * kappa_dn * (1 + w / b_lo))])
    return Derivation(
        id="pulse.mean_field_limit",
        title="dw_min -> 0 with n dw_min = d: pulse flow, whose first order is w + d q(w)",
        derived=derived,
        expected=expected,
        steps=("a = kappa dw_min, n = |d|/dw_min, limit dw_min -> 0+ of the n-pulse closed form",
               "series of the flow in |d| to first order: w + d q_+(w) (up), w - |d| q_-(w) (down)",
               "q_+ = kappa_up (1 - w/b_max), q_- = kappa_down (1 - w/b_min): the mean-field map"),
        provenance=Provenance("arXiv 2502.06309 Thm 4 (pulse approximation); " + _SRC, "derived",
                              "the O(d^2) flow curvature and O(dw_min d) rounding terms are the"
                              " mean-field gap measured by pulse.mean_field_gap"),
    )


@register("pulse.one_step_bias",
          title="one pulsed update (stochastic rounding) minus the pulse flow:"
          " (b - w) e^{-kappa|d|/b} kappa^2 |d| dw_min / (2 b^2) + O(dw_min^2)", kind="derivation")
def _one_step_bias() -> Derivation:
    p = sp.Symbol("p", nonnegative=True)  # fractional part of |d|/dw_min (rounding probability)
    x = _e / dw
    rho = kappa_up * dw / b_max
    # E over n in {x - p, x - p + 1} of the n-pulse contraction factor (pulse.n_pulses)
    mean_factor = (1 - p) * (1 - rho) ** (x - p) + p * (1 - rho) ** (x - p + 1)
    lead = sp.series(mean_factor - sp.exp(-kappa_up * _e / b_max), dw, 0, 2).removeO()
    return Derivation(
        id="pulse.one_step_bias",
        title="one pulsed update (stochastic rounding) minus the pulse flow:"
        " (b - w) e^{-kappa|d|/b} kappa^2 |d| dw_min / (2 b^2) + O(dw_min^2)",
        derived=sp.simplify((w - b_max) * lead),
        expected=(b_max - w) * sp.exp(-kappa_up * _e / b_max) * kappa_up**2 * _e * dw / (2 * b_max**2),
        steps=("n = floor(|d|/dw_min) + Bernoulli(p): E[(1 - rho)^n] is a two-point mixture",
               "rho = kappa dw_min/b; series in dw_min at fixed |d| and p",
               "the leading term does not depend on p: the bias is O(dw_min), the mean-field gap's"
               " dw_min part (2502.06309 Thm 4's Theta(dw_min) term, coefficient derived here)"),
        provenance=Provenance("arXiv 2502.06309 Thm 4 (order); " + _SRC, "derived",
                              "the paper states the order only; the coefficient is derived here"),
    )


def _sym_point_expected() -> sp.Expr:
    return (a_up - a_dn) / (a_up / b_max + a_dn / b_lo)  # -a_dn/b_min = +a_dn/b_lo


@register("pulse.symmetric_point",
          title="asymmetric soft bounds: w* = (a+ - a-)/(a+/b_max - a-/b_min)", kind="derivation")
def _symmetric_point() -> Derivation:
    G = (a_dn * (1 + w / b_lo) - a_up * (1 - w / b_max)) / 2
    (root,) = sp.solve(sp.Eq(G, 0), w)
    return Derivation(
        id="pulse.symmetric_point",
        title="asymmetric soft bounds: w* = (a+ - a-)/(a+/b_max - a-/b_min)",
        derived=root,
        expected=_sym_point_expected(),
        steps=("G = (q_- - q_+)/2 with q_+ = a_up(1 - w/b_max), q_- = a_down(1 - w/b_min)",
               "G is linear in w; solve G = 0"),
        provenance=Provenance("anchors.md 1.4 (SoftBoundsReferenceDevice.subtract_symmetry_point); "
                              + _SRC, "derived"),
    )


def _alternating() -> tuple[sp.Expr, sp.Expr]:
    """Fixed point of up-then-down and its first-order coefficient in dw_min."""
    two = down_pulse(up_pulse(w))
    (fp,) = sp.solve(sp.Eq(two, w), w)
    scaled = fp.subs({a_up: kappa_up * dw, a_dn: kappa_dn * dw})
    ser = sp.series(scaled, dw, 0, 2).removeO()
    return sp.simplify(fp), sp.simplify(ser)


@register("pulse.alternating_fixed_point",
          title="alternating up/down pulses settle at w* + O(dw_min) (coefficient derived)",
          kind="derivation")
def _alternating_fp() -> Derivation:
    fp, ser = _alternating()
    w_star = _sym_point_expected().subs({a_up: kappa_up, a_dn: kappa_dn})
    # first-order coefficient, stated: c1 = -q_+(w*) (kappa_down/|b_min|) / S, with
    # S = kappa_up/b_max + kappa_down/|b_min| the relaxation rate of the two-pulse map per dw_min
    S = kappa_up / b_max + kappa_dn / b_lo
    coef = -kappa_up * (1 - w_star / b_max) * (kappa_dn / b_lo) / S
    # exact two-pulse fixed point (the up step seen by the down pulse)
    return Derivation(
        id="pulse.alternating_fixed_point",
        title="alternating up/down pulses settle at w* + O(dw_min) (coefficient derived)",
        derived=sp.Matrix([sp.simplify(ser - w_star - dw * coef), sp.simplify(two_step_residual(fp))]),
        expected=sp.Matrix([0, 0]),
        steps=("two-pulse map w -> down(up(w)) is affine; solve its fixed point w_ud",
               "a_pm = kappa_pm dw_min, series in dw_min: w_ud = w* + c1 dw_min + O(dw_min^2)",
               "c1 = -q_+(w*) (kappa_down/|b_min|)/(kappa_up/b_max + kappa_down/|b_min|): read after"
               " the down pulse, the cycle sits below w* by that share of one up step"),
        provenance=Provenance("anchors.md 1.4 (finite steps settle O(dw_min) from w*); " + _SRC,
                              "derived"),
    )


def two_step_residual(x: sp.Expr) -> sp.Expr:
    return down_pulse(up_pulse(x)) - x


@register("pulse.aihwkit_mapping",
          title="aihwkit up_down = beta on +-tau: c = beta/(2 - |beta|), kappa = 1 - |beta|/2,"
          " w* = c tau", kind="derivation")
def _aihwkit_mapping() -> Derivation:
    rows = []
    expect = []
    bpos = sp.Symbol("beta_p", positive=True)
    for b_val, sign in ((bpos, 1), (-bpos, -1)):
        # C++ populate: a_up = (1 + min(beta, 0)) dw, a_down = (1 - max(beta, 0)) dw
        au = (1 + sp.Min(b_val, 0)) * dw
        ad = (1 - sp.Max(b_val, 0)) * dw
        sub = {a_up: au, a_dn: ad, b_max: tau, b_lo: tau}
        c = sp.simplify((au - ad) / (au + ad))
        kap = sp.simplify((au + ad) / (2 * dw))
        rows += [sp.simplify(_sym_point_expected().subs(sub)), c, kap]
        expect += [sign * bpos * tau / (2 - bpos), sign * bpos / (2 - bpos), 1 - bpos / 2]
    return Derivation(
        id="pulse.aihwkit_mapping",
        title="aihwkit up_down = beta on +-tau: c = beta/(2 - |beta|), kappa = 1 - |beta|/2,"
        " w* = c tau",
        derived=sp.Matrix(rows),
        expected=sp.Matrix(expect),
        steps=("C++ populate: up_down = beta > 0 shrinks only the down step, a_down = (1 - beta) dw",
               "beta < 0 shrinks only the up step, a_up = (1 + beta) dw",
               "q_pm = kappa (1 +- c)(1 -+ w/tau) with kappa = (a_up + a_down)/(2 dw),"
               " c = (a_up - a_down)/(a_up + a_down); symmetric point c tau",
               "the docstring's symmetric split (1 +- beta) would give c = beta, w* = beta tau"),
        provenance=Provenance("anchors.md 1.3 (checked against aihwkit 1.1.0); " + _SRC, "derived",
                              "spec exact_training.md 2.3 caveat: c tau/(2 - c) under the C++ rule"),
    )


# --- numeric helpers (evaluate the derived forms) ------------------------------------------------


def expected_one_step(w0: float, d_: float, dw_min: float, a: float, bound: float,
                      sigma_c: float = 0.0) -> tuple[float, float]:
    r"""Exact mean and standard deviation of one pulsed update of ``d_`` from ``w0``.

    :math:`n = \lfloor|d|/\Delta w_{\min}\rfloor + \mathrm{Bernoulli}(p)`; given :math:`n`,
    :math:`w' = b + (w_0 - b)\prod_i(1 - \rho(1 + \sigma_c\xi_i))`, :math:`\rho = a/|b|`, whose
    first two moments are :math:`(1-\rho)^n` and :math:`((1-\rho)^2 + \rho^2\sigma_c^2)^n`
    (``pulse.n_pulses`` with independent multiplicative noise). ``bound`` is the bound the pulses
    head to (``b_max`` for ``d > 0``, ``b_min`` for ``d < 0``); ``a`` the per-pulse step.
    """
    if dw_min <= 0 or a <= 0:
        raise ValueError(f"dw_min and a must be > 0, got dw_min={dw_min!r}, a={a!r}")
    x = abs(d_) / dw_min
    m = np.floor(x)
    p = x - m
    rho = a / abs(bound)
    f1 = lambda k: (1 - rho) ** k  # noqa: E731
    f2 = lambda k: ((1 - rho) ** 2 + rho**2 * sigma_c**2) ** k  # noqa: E731
    e1 = (1 - p) * f1(m) + p * f1(m + 1)
    e2 = (1 - p) * f2(m) + p * f2(m + 1)
    mean = bound + (w0 - bound) * e1
    std = abs(w0 - bound) * np.sqrt(max(e2 - e1 * e1, 0.0))
    return float(mean), float(std)


def pulse_flow(w0: float, d_: float, q_scale: float, bound: float) -> float:
    r"""The :math:`\Delta w_{\min} \to 0` limit (``pulse.mean_field_limit``):
    :math:`b + (w_0 - b)e^{-\kappa|d|/|b|}`."""
    return float(bound + (w0 - bound) * np.exp(-q_scale * abs(d_) / abs(bound)))


def alternating_limit(a_plus: float, a_minus: float, bmax: float, bmin: float) -> float:
    r"""Exact fixed point of one up pulse followed by one down pulse (``pulse.alternating_fixed_point``)."""
    fp, _ = _alternating()
    f = sp.lambdify((a_up, a_dn, b_max, b_lo), fp, "numpy")
    return float(f(a_plus, a_minus, bmax, -bmin))


def symmetric_point(a_plus: float, a_minus: float, bmax: float, bmin: float) -> float:
    """Numeric ``pulse.symmetric_point``."""
    return float((a_plus - a_minus) / (a_plus / bmax - a_minus / bmin))


# --- BL management (aihwkit update_bl_management) -----------------------------------------------

_r = sp.Symbol("r_req", positive=True)  # requested change in units of dw_min, |d|/dw_min
_L = n  # slots of the pulse train (a positive integer, the symbol n)
_BL_SRC = ("aihwkit rpu_pulsed_meta_parameter.cpp::performUpdateManagement (BL = ceil(lr x_max"
           " d_max/dw_min), capped at desired_bl; A = B = sqrt(lr/(dw_min BL)), update management"
           " A *= sqrt(x_max/d_max), B *= sqrt(d_max/x_max)) and sparse_bit_line_maker.cpp"
           " (one Bernoulli per slot per row / column); derived here")


def _slot_count_moments(p: sp.Expr, q: sp.Expr, slots: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    """Mean and variance of the coincidence count of ``slots`` slots, row bit ~ Bernoulli(p),
    column bit ~ Bernoulli(q), all independent (moments of the product of two 0/1 variables)."""
    X, Y = sp.symbols("X Y")
    # E over {0,1}^2 of a polynomial in X, Y
    def E(expr: sp.Expr) -> sp.Expr:
        return sum(expr.subs({X: x_, Y: y_}) * (p if x_ else 1 - p) * (q if y_ else 1 - q)
                   for x_ in (0, 1) for y_ in (0, 1))
    m1, m2 = E(X * Y), E((X * Y) ** 2)
    return sp.simplify(slots * m1), sp.simplify(slots * (m2 - m1**2))


@register("pulse.bl_management_moments",
          title="BL-managed pulse train: E n = r, Var n = r(1 - r/L), L = min(ceil(r_max), BL);"
          " for r_max <= 1 the stochastic rounding of r", kind="derivation")
def _bl_management_moments() -> Derivation:
    # the element with the largest request, r = lr x_max d_max/dw_min: after update management its
    # row and column probabilities are both sqrt(lr x_max d_max/(dw_min L)) = sqrt(r/L)
    p = sp.sqrt(_r / _L)
    mean, var = _slot_count_moments(p, p, _L)
    # an element with request r_ij = lr |x_j d_i|/dw_min: p_j q_i = r_ij/L (p_j = B|x_j|, q_i = A|d_i|)
    rij, ratio = sp.symbols("r_elem rho_um", positive=True)
    mean_ij, var_ij = _slot_count_moments(sp.sqrt(rij / _L) * ratio, sp.sqrt(rij / _L) / ratio, _L)
    # r_max <= 1: L = ceil(r) = 1, and the stochastic rounding floor(r) + Bernoulli(frac) of r < 1
    # is Bernoulli(r), variance r - r^2
    var_l1 = var.subs(_L, 1)
    sr_var = _r - _r**2
    derived = sp.Matrix([mean, var, mean_ij, var_ij, sp.simplify(var_l1 - sr_var)])
    expected = sp.Matrix([_r, _r * (1 - _r / _L), rij, rij * (1 - rij / _L), 0])
    return Derivation(
        id="pulse.bl_management_moments",
        title="BL-managed pulse train: E n = r, Var n = r(1 - r/L), L = min(ceil(r_max), BL);"
        " for r_max <= 1 the stochastic rounding of r",
        derived=derived,
        expected=expected,
        steps=("a coincidence in a slot is X Y, X ~ Bernoulli(p) (row), Y ~ Bernoulli(q) (column),"
               " independent: E = pq, Var = pq(1 - pq); L independent slots add",
               "update management sets p = q = sqrt(r_max/L) at the largest element and"
               " p_j q_i = r_ij/L elsewhere, so E n = r, Var n = r(1 - r/L)",
               "BL management: L = min(ceil(r_max), BL): for r_max <= 1, L = 1 and n ~ Bernoulli(r),"
               " the stochastic rounding of r (variance r(1 - r)); a fixed train (L = BL = 31) has"
               " Var n = r(1 - r/31), about r"),
        provenance=Provenance(_BL_SRC, "derived",
                              "sim.pulsed.PulsedDevice.pulse_counts draws each element's marginal"
                              " Binomial(L, r/L) (no row/column correlation);"
                              " PulsedLinearStep.pulsed_update_outer draws the slots"),
    )


def bl_count_moments(r: float, bl: int, *, managed: bool = True,
                     r_max: float | None = None) -> tuple[float, float]:
    r"""Mean and variance of the pulse count of one element requesting :math:`r = |d|/\Delta
    w_{\min}` (``pulse.bl_management_moments``).

    ``managed``: :math:`L = \min(\lceil r_{\max}\rceil, BL)` (``r_max`` defaults to ``r``: the
    element is the largest request); otherwise :math:`L = BL`. Truncation (:math:`r > L`) gives
    :math:`n = L` exactly.
    """
    if r < 0 or bl < 1:
        raise ValueError(f"need r >= 0 and bl >= 1, got r={r!r}, bl={bl!r}")
    rm = r if r_max is None else r_max
    L = min(max(int(np.ceil(rm)), 1), int(bl)) if managed else int(bl)
    pq = min(r / L, 1.0)
    return float(L * pq), float(L * pq * (1 - pq))
