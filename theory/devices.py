r"""Device response functions and the analog update they induce (symbolic).

A resistive element moves by :math:`+\Delta w_{\min} q_+(w)` on a positive pulse and by
:math:`-\Delta w_{\min} q_-(w)` on a negative one. Splitting the response into

.. math::  F = \tfrac12 (q_- + q_+), \qquad G = \tfrac12 (q_- - q_+), \qquad M = q_+ q_-,

the mean-field ("discrete-time dynamics") update of a desired increment :math:`\Delta` is

.. math::  U(w, \Delta) = w + \Delta F(w) - |\Delta| G(w)

(arXiv 2502.06309 eq. (3)-(5); arXiv 2406.12774 for the soft-bounds case). The symmetric point is
the root of :math:`G`. For soft bounds with range :math:`\pm\tau`, :math:`F \equiv 1`,
:math:`G = w/\tau` and :math:`U = w + \Delta - |\Delta| w / \tau`.

Built-ins: :func:`soft_bounds`, :func:`generalized_linear`, :func:`power`, :func:`exponential`,
:func:`ideal`. Each is a :class:`Response`, from which the simulator's numeric devices are checked.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import sympy as sp

from ._core import Assumption, Derivation, Provenance, register
from .symbols import c_lin, d, gamma_res, tau, w

n_pulses = sp.Symbol("n", positive=True, integer=True)
dw_min = sp.Symbol("dw_min", positive=True)
_e = sp.Symbol("delta", positive=True)  # magnitude |d| of an increment whose sign a case fixes


@dataclass(frozen=True)
class Response:
    r"""A pair of response functions :math:`q_\pm(w)` of one device type.

    Parameters
    ----------
    name
        Short name (``"soft_bounds"``).
    q_plus, q_minus
        Sympy expressions in :data:`theory.symbols.w` and the device parameters.
    params
        Device parameters by name (e.g. ``{"tau": tau}``).
    w_range
        The dynamic range ``(lo, hi)`` in which the responses are positive.
    """

    name: str
    q_plus: sp.Expr
    q_minus: sp.Expr
    params: Mapping[str, sp.Symbol] = field(default_factory=dict)
    w_range: tuple[sp.Expr, sp.Expr] = (-sp.oo, sp.oo)

    @property
    def F(self) -> sp.Expr:
        """Symmetric component :math:`(q_- + q_+)/2`."""
        return sp.simplify((self.q_minus + self.q_plus) / 2)

    @property
    def G(self) -> sp.Expr:
        """Asymmetric component :math:`(q_- - q_+)/2`."""
        return sp.simplify((self.q_minus - self.q_plus) / 2)

    @property
    def M(self) -> sp.Expr:
        """Saturation vector :math:`q_+ q_-`."""
        return sp.simplify(self.q_plus * self.q_minus)

    def symmetric_point(self) -> sp.Expr:
        """The root of :math:`G` inside the dynamic range (unique for the built-ins)."""
        if sp.simplify(self.G) == 0:
            return sp.Integer(0)
        roots = sp.solve(sp.Eq(self.G, 0), w)
        if not roots:
            raise ValueError(f"{self.name}: G has no root")
        if len(roots) > 1:
            roots = [r for r in roots if r.is_real is not False]
        return sp.simplify(roots[0])

    def update(self, increment: sp.Expr = d) -> sp.Expr:
        """Sign-split mean-field update :math:`w + \\Delta q_{\\pm}(w)` (piecewise in the sign)."""
        return sp.Piecewise(
            (w + increment * self.q_plus, increment >= 0), (w + increment * self.q_minus, True)
        )

    def compact_update(self, increment: sp.Expr = d) -> sp.Expr:
        r""":math:`w + \Delta F(w) - |\Delta| G(w)`."""
        return w + increment * self.F - sp.Abs(increment) * self.G

    def numeric(
        self, which: str = "q_plus", **param_values: float
    ) -> Callable[[np.ndarray], np.ndarray]:
        """A numpy function of ``w`` for ``which`` in {q_plus, q_minus, F, G, M}."""
        expr = getattr(self, which)
        missing = set(self.params) - set(param_values)
        if missing:
            raise ValueError(f"{self.name}: missing parameter value(s) {sorted(missing)}")
        expr = expr.subs({self.params[k]: v for k, v in param_values.items()})
        fn = sp.lambdify(w, expr, modules="numpy")
        return lambda x: np.broadcast_to(fn(np.asarray(x, dtype=float)), np.shape(x)).astype(float)


def soft_bounds() -> Response:
    r"""Soft bounds / asymmetric linear device (ALD): :math:`q_\pm = 1 \mp w/\tau`.

    arXiv 2406.12774 (the 2024 device); aihwkit ``SoftBoundsReferenceDevice`` with
    ``w_max = -w_min = tau`` and no variation.
    """
    return Response("soft_bounds", 1 - w / tau, 1 + w / tau, {"tau": tau}, (-tau, tau))


def generalized_linear() -> Response:
    r"""Generalized linear response :math:`q_+ = (1+c)(1 - w/\tau)`, :math:`q_- = (1-c)(1 + w/\tau)`.

    arXiv 2502.06309 Sec. 5 (the ``c_Lin`` counterexample); symmetric point :math:`c\tau`.
    """
    return Response(
        "generalized_linear",
        (1 + c_lin) * (1 - w / tau),
        (1 - c_lin) * (1 + w / tau),
        {"tau": tau, "c": c_lin},
        (-tau, tau),
    )


def power() -> Response:
    r"""Power response :math:`q_\pm = (1 \mp w/\tau)^{\gamma}` (arXiv 2502.06309 Sec. 5)."""
    return Response(
        "power",
        (1 - w / tau) ** gamma_res,
        (1 + w / tau) ** gamma_res,
        {"tau": tau, "gamma_res": gamma_res},
        (-tau, tau),
    )


def exponential() -> Response:
    r"""Exponential response :math:`q_\pm = (e^{\gamma(1 \mp w/\tau)} - 1)/(e^{\gamma} - 1)`.

    arXiv 2502.06309 Sec. 5; dynamic range :math:`[-\tau, \tau]`, symmetric point 0.
    """
    den = sp.exp(gamma_res) - 1
    return Response(
        "exponential",
        (sp.exp(gamma_res * (1 - w / tau)) - 1) / den,
        (sp.exp(gamma_res * (1 + w / tau)) - 1) / den,
        {"tau": tau, "gamma_res": gamma_res},
        (-tau, tau),
    )


def ideal() -> Response:
    """Ideal (digital) device: :math:`q_\\pm \\equiv 1`, so :math:`U(w, \\Delta) = w + \\Delta`."""
    return Response("ideal", sp.Integer(1), sp.Integer(1))


BUILTINS: dict[str, Callable[[], Response]] = {
    "soft_bounds": soft_bounds,
    "generalized_linear": generalized_linear,
    "power": power,
    "exponential": exponential,
    "ideal": ideal,
}

_POS = {d: _e}
_NEG = {d: -_e}
_FU = "arXiv 2502.06309 eq. (3)-(5)"


def _compact_form_of(factory: Callable[[], Response]) -> Derivation:
    """:func:`_compact_form` of the response ``factory()`` (a registered statement's factory)."""
    return _compact_form(factory())


def _compact_form(resp: Response) -> Derivation:
    return Derivation(
        id=f"device.{resp.name}.compact_form",
        title=f"{resp.name}: sign-split update equals w + d F - |d| G",
        derived=resp.update(),
        expected=resp.compact_update(),
        steps=(
            "d >= 0: w + d q_+ = w + d (F - G) = w + d F - |d| G",
            "d < 0:  w + d q_- = w + d (F + G) = w + d F - |d| G",
        ),
        provenance=Provenance(_FU, "derived"),
        cases=(_POS, _NEG),
    )


for _name, _factory in BUILTINS.items():
    register(
        f"device.{_name}.compact_form",
        title=f"{_name}: sign-split update = w + d F(w) - |d| G(w)",
        kind="derivation",
    )(functools.partial(_compact_form_of, _factory))


@register(
    "device.soft_bounds.identities",
    title="soft bounds: F = 1, G = w/tau, M = 1 - w^2/tau^2, symmetric point 0",
    kind="derivation",
)
def _ald_identities() -> Derivation:
    r = soft_bounds()
    derived = sp.Matrix([r.F, r.G, r.M, r.symmetric_point()])
    expected = sp.Matrix([1, w / tau, 1 - w**2 / tau**2, 0])
    return Derivation(
        id="device.soft_bounds.identities",
        title="soft bounds: F = 1, G = w/tau, M = 1 - w^2/tau^2, symmetric point 0",
        derived=derived,
        expected=expected,
        steps=("F = (q_- + q_+)/2, G = (q_- - q_+)/2, M = q_+ q_-, solve G = 0",),
        provenance=Provenance("arXiv 2406.12774 Sec. 2; restated in 2502.06309 App. B", "derived"),
    )


@register(
    "device.soft_bounds.update",
    title="soft bounds: U(w, d) = w + d - |d| w / tau",
    kind="derivation",
)
def _ald_update() -> Derivation:
    return Derivation(
        id="device.soft_bounds.update",
        title="soft bounds: U(w, d) = w + d - |d| w / tau",
        derived=soft_bounds().update(),
        expected=w + d - sp.Abs(d) * w / tau,
        steps=("substitute q_+ = 1 - w/tau (d >= 0) and q_- = 1 + w/tau (d < 0)",),
        provenance=Provenance(
            "arXiv 2406.12774 (Analog SGD dynamic); authors' code `analog_increment`", "derived"
        ),
        cases=(_POS, _NEG),
    )


@register(
    "device.soft_bounds.box_invariance",
    title="soft bounds: tau - U = (tau - w)(1 - d/tau) for d >= 0, so [-tau, tau] is invariant",
    kind="derivation",
)
def _box() -> Derivation:
    U = w + d - sp.Abs(d) * w / tau
    # Factorizations that make the sign evident; the mirrored case follows by odd symmetry.
    derived = sp.Matrix([(tau - U).subs(_POS), (U - w).subs(_POS), (tau + U).subs(_NEG)])
    expected = sp.Matrix([(tau - w) * (1 - _e / tau), _e * (1 - w / tau), (tau + w) * (1 - _e / tau)])
    return Derivation(
        id="device.soft_bounds.box_invariance",
        title="soft bounds: tau - U = (tau - w)(1 - d/tau) for d >= 0, so [-tau, tau] is invariant",
        derived=derived,
        expected=expected,
        steps=(
            "d = e >= 0: tau - U = (tau - w)(1 - e/tau) >= 0 when |w| <= tau and e <= tau",
            "d = e >= 0: U - w = e (1 - w/tau) >= 0, so U >= w >= -tau",
            "d = -e < 0: tau + U = (tau + w)(1 - e/tau) >= 0; U <= w <= tau mirrors the above",
        ),
        provenance=Provenance("arXiv 2406.12774 (box invariance of the ALD map)", "derived"),
        assumptions=(
            Assumption("in_range", sp.Abs(w) <= tau, "|w| <= tau"),
            Assumption("small_step", sp.Abs(d) <= tau, "|d| <= tau"),
        ),
    )


@register(
    "device.soft_bounds.odd_symmetry",
    title="soft bounds: U(-w, -d) = -U(w, d)",
    kind="derivation",
)
def _odd() -> Derivation:
    U = soft_bounds().compact_update()
    return Derivation(
        id="device.soft_bounds.odd_symmetry",
        title="soft bounds: U(-w, -d) = -U(w, d)",
        derived=U.subs({w: -w, d: -d}, simultaneous=True),
        expected=-U,
        steps=("|{-d}| = |d| and G(-w) = -G(w), F(-w) = F(w)",),
        provenance=Provenance("arXiv 2406.12774 (sign convention of the auxiliary array)", "derived"),
    )


@register(
    "device.generalized_linear.symmetric_point",
    title="generalized linear: symmetric point w = c tau",
    kind="derivation",
)
def _gl_sym() -> Derivation:
    return Derivation(
        id="device.generalized_linear.symmetric_point",
        title="generalized linear: symmetric point w = c tau",
        derived=generalized_linear().symmetric_point(),
        expected=c_lin * tau,
        steps=("G = ((1-c)(1+w/tau) - (1+c)(1-w/tau))/2 = w/tau - c; root w = c tau",),
        provenance=Provenance("arXiv 2502.06309 Sec. 5 (c_Lin)", "derived"),
    )


@register(
    "device.soft_bounds.pulse_limit",
    title="soft bounds: n pulses of d/n compose to tau - (tau - w)(1 - d/(n tau))^n -> U + O(d^2)",
    kind="derivation",
)
def _pulse_limit() -> Derivation:
    # One up pulse of size dw: w -> w + dw (1 - w/tau), i.e. tau - w -> (tau - w)(1 - dw/tau).
    # Solve the linear recurrence for n pulses with sympy's rsolve.
    k = sp.Symbol("k", integer=True, nonnegative=True)
    x = sp.Function("x")
    rec = x(k + 1) - (x(k) + dw_min * (1 - x(k) / tau))
    w_n = sp.rsolve(rec, x(k), {x(0): w}).subs(k, n_pulses)
    # Fixed total increment e = n * dw_min, dw_min -> 0: the pulse flow.
    flow = sp.limit(w_n.subs(dw_min, _e / n_pulses), n_pulses, sp.oo)
    first_order = sp.series(flow, _e, 0, 2).removeO()
    return Derivation(
        id="device.soft_bounds.pulse_limit",
        title="soft bounds: n pulses of d/n compose to tau - (tau - w)(1 - d/(n tau))^n -> U + O(d^2)",
        derived=sp.Matrix([sp.simplify(w_n), sp.simplify(flow), sp.expand(first_order)]),
        expected=sp.Matrix(
            [
                tau - (tau - w) * (1 - dw_min / tau) ** n_pulses,
                tau - (tau - w) * sp.exp(-_e / tau),
                w + _e * (1 - w / tau),
            ]
        ),
        steps=(
            "one up pulse: tau - w' = (tau - w)(1 - dw_min/tau) (rsolve of the recurrence)",
            "n pulses with n dw_min = d fixed, n -> oo: tau - (tau - w) exp(-d/tau) (the pulse flow)",
            "first order in d: w + d (1 - w/tau) = U(w, d); the O(d^2) remainder and the O(dw_min)"
            " rounding of d/dw_min are the mean-field gap (2502.06309 Thm 4)",
        ),
        provenance=Provenance(
            "arXiv 2502.06309 Thm 4 (pulse approximation); closed form derived here", "derived"
        ),
    )


@register(
    "device.general.pulse_flow",
    title="any response: the dw_min -> 0 pulse flow equals U(w, d) + (d^2/2) q q' + O(d^3)",
    kind="derivation",
)
def _general_flow() -> Derivation:
    # For dw_min -> 0 the pulses follow dw/dt = q(w); expand the flow with Picard iteration.
    q = sp.Function("q")
    t = sp.Symbol("t", nonnegative=True)
    # Second-order Taylor of the ODE solution: w(t) = w + t q(w) + t^2/2 q'(w) q(w) + O(t^3).
    w_t = w + t * q(w) + t**2 / 2 * sp.diff(q(w), w) * q(w)
    residual = sp.diff(w_t, t) - q(w_t)
    residual_series = sp.series(residual, t, 0, 2).removeO()
    return Derivation(
        id="device.general.pulse_flow",
        title="any response: the dw_min -> 0 pulse flow equals U(w, d) + (d^2/2) q q' + O(d^3)",
        derived=sp.simplify(residual_series),
        expected=sp.Integer(0),
        steps=(
            "pulses of size dw_min follow w_{j+1} = w_j + dw_min q(w_j): Euler steps of dw/dt = q(w)",
            "the flow w(t) = w + t q(w) + (t^2/2) q'(w) q(w) + O(t^3) solves the ODE to O(t^2)",
            "so the mean-field U(w, d) = w + d q(w) is exact to first order in d",
        ),
        provenance=Provenance("arXiv 2502.06309 Thm 4; expansion derived here", "derived"),
    )
