r"""Certificates for the analog recursions: SDP rates, LP envelopes, LP worst-case noise laws.

PEPit cannot express the element-wise :math:`|g| \odot W` term of analog updates (spec
``anchors.md`` Sec. 3). Linearized around a fixed point inside the box :math:`|w_i| \le \epsilon\tau`,
the soft-bounds update becomes a *linear parameter-varying* recursion
:math:`x_{k+1} = A(Q_k) x_k` whose gain :math:`Q_k = \mathrm{Diag}(1 \pm w_i/\tau)` ranges over a box.
A common quadratic Lyapunov function :math:`V(x) = x^\top P x` with
:math:`A_v^\top P A_v \preceq \rho^2 P` at every vertex :math:`A_v` certifies
:math:`V(x_{k+1}) \le \rho^2 V(x_k)` for *every* switching sequence (the LMI is affine in
:math:`A`, hence holds on the convex hull of the vertices). The smallest such :math:`\rho` is found by
bisection on a feasibility SDP (cvxpy with Clarabel or SCS) -- :func:`lyapunov_rate`.

Solver trust
------------
The certified rate is never the bisection value: it is recomputed in numpy from the returned
:math:`P` as :math:`\rho_P = \max_v \lambda_{\max}^{1/2}(C^{-1} A_v^\top P A_v C^{-\top})`,
:math:`P = CC^\top`, which is a valid rate for any symmetric positive definite :math:`P`
regardless of the solver's accuracy. Only problems the solver reports ``optimal`` contribute a
:math:`P`; any other status (inaccurate, numerical error) makes that bisection step count as
"not certified". The lower end is :math:`\max_v \rho(A_v)` (spectral radii; no common Lyapunov
function can beat a single vertex).

Also here: the tightest empirical envelope :math:`C_1/\sqrt K + C_2/K + F` of a measured curve (an
LP, :func:`empirical_constants`) and the worst-case gradient-noise law for the mean-field
asymptotic error of Analog SGD (an LP over a discrete law, :func:`worst_noise_law`).
"""

from __future__ import annotations

import itertools
import types
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import sympy as sp

from ._core import Assumption, Bound, Derivation, Provenance, register
from .symbols import L, alpha, beta, mu, s, tau

if TYPE_CHECKING:
    import cvxpy as cp

eps_box = sp.Symbol("epsilon_sat", nonnegative=True)  # saturation radius |w_i| <= eps * tau
lam = sp.Symbol("lambda", positive=True)  # an eigenvalue of the Hessian
kappa_P = sp.Symbol("kappa_P", nonnegative=True)  # decay rate of the Tiki-Taka P array, E|xi|/tau
q_w = sp.Symbol("q_W", positive=True)  # gain of the transfer into W: 1 -+ w/tau
mu_g = sp.Symbol("mu_g", real=True)  # mean gradient at the fixed point

SOLVERS = ("CLARABEL", "SCS")
_OK = "optimal"
#: the packaging extra that installs the SDP stack (cvxpy, Clarabel, SCS)
EXTRA = "certify"


def _cvxpy() -> types.ModuleType:
    """cvxpy, imported on first use (it costs ~2 s; only the SDP tools need it).

    Raises ``ImportError`` naming the packaging extra when cvxpy is not installed: the symbolic
    statements of this module work without it, the numeric certificates do not.
    """
    try:
        import cvxpy
    except ImportError as err:
        raise ImportError(
            "theory.certify's SDP certificates need cvxpy (with the Clarabel and SCS solvers), which"
            f" is an optional dependency: pip install 'aimc-verify[{EXTRA}]'"
        ) from err
    return cvxpy


def _solve(prob: cp.Problem, solver: str, accuracy: float) -> str:
    """Solve and return the status. An inaccurate solution is reported by its status
    (``optimal_inaccurate``), which never counts as solved here, so cvxpy's warning about it is
    redundant and silenced; a solver breakdown becomes the status ``solver_error``."""
    cp = _cvxpy()

    opts = ({"tol_feas": accuracy, "tol_gap_abs": accuracy, "tol_gap_rel": accuracy}
            if solver == "CLARABEL" else {"eps_abs": accuracy, "eps_rel": accuracy})
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Solution may be inaccurate", category=UserWarning)
        try:
            prob.solve(solver=solver, **opts)
        except cp.error.SolverError:
            return "solver_error"
    return str(prob.status)


# --- theory statements ------------------------------------------------------------------------------


@register(
    "certify.agd_linear_rate",
    title="linearized Analog GD on a separable quadratic: rate = max(|1 - alpha(1-eps)mu|,"
    " |1 - alpha(1+eps)L|)",
    kind="bound",
)
def _agd_rate() -> Bound:
    return Bound(
        id="certify.agd_linear_rate",
        title="linearized Analog GD on a separable quadratic: rate = max(|1 - alpha(1-eps)mu|,"
        " |1 - alpha(1+eps)L|)",
        lhs=r"\rho^\star\ (\text{common-Lyapunov rate of } e' = (I - \alpha Q H) e)",
        expr=sp.Max(sp.Abs(1 - alpha * (1 - eps_box) * mu), sp.Abs(1 - alpha * (1 + eps_box) * L)),
        relation="=",
        assumptions=(
            Assumption("box", eps_box < 1, "saturation radius eps < 1 (|w_i| <= eps tau < tau)"),
        ),
        provenance=Provenance(
            "derived here (noiseless soft-bounds update W' = W - alpha q (.) grad f, q_i = 1 +-"
            " w_i/tau in [1 - eps, 1 + eps]; arXiv 2406.12774 eq. (3), 2502.06309 Thm 6 setting)",
            "derived",
            "For diagonal H with eigenvalues spanning [mu, L] the recursion decouples; each"
            " coordinate contracts by |1 - alpha q lambda|, maximal at a vertex (q, lambda) of the"
            " box; P = I attains it and the uniform gains Q = (1 -+ eps) I show nothing smaller is"
            " possible. For a rotated H this value is only a lower bound of the certified rate.",
        ),
        meanings={"epsilon_sat": "saturation radius: |w_i| <= epsilon_sat * tau"},
    )


def _tt_matrix(H: sp.Expr, q: sp.Expr) -> sp.Matrix:
    # alpha: transfer rate (W array), beta: learning rate of P (the 2024 paper's and sim.TikiTaka's names)
    return sp.Matrix([[1 - beta * kappa_P, -beta * H],
                      [alpha * q * (1 - beta * kappa_P), 1 - alpha * beta * q * H]])


@register(
    "certify.tt_linear_det",
    title="linearized Tiki-Taka (P, W) recursion, scalar: det = 1 - beta kappa,"
    " trace = 2 - beta kappa - alpha beta q lambda",
    kind="derivation",
)
def _tt_det() -> Derivation:
    A = _tt_matrix(lam, q_w)
    return Derivation(
        id="certify.tt_linear_det",
        title="linearized Tiki-Taka (P, W) recursion, scalar: det = 1 - beta kappa,"
        " trace = 2 - beta kappa - alpha beta q lambda",
        derived=sp.Matrix([sp.expand(A.det()), sp.expand(A.trace())]),
        expected=sp.Matrix([1 - beta * kappa_P, 2 - beta * kappa_P - alpha * beta * q_w * lam]),
        steps=(
            "P' = P - beta (g + |g| P/tau): linearized at (P, W) = (0, W*) with E g = H e,"
            " E|g| = E|xi| = kappa tau, so P' = (1 - beta kappa) P - beta H e",
            "W' = W + alpha P' (.) (1 - sign(P') W/tau) = W + alpha Q_W P', Q_W in [1 - eps, 1 + eps]",
            "x = (P, e): A = [[1 - beta kappa, -beta H], [alpha q (1 - beta kappa), 1 - alpha beta q H]]",
            "det A = 1 - beta kappa for every q: without the P decay (kappa = 0) the linearized"
            " recursion is not contracting, so the rate comes from the asymmetric |g| P/tau term",
        ),
        provenance=Provenance("derived here (Tiki-Taka of arXiv 2406.12774 Sec. 4, soft bounds,"
                              " mean-field)", "derived"),
    )


@register(
    "certify.worst_noise_floor",
    title="mean-field Analog SGD floor per coordinate: grad^2 <= s^2 u/(1 - u), attained by a"
    " two-point noise law",
    kind="derivation",
)
def _worst_floor() -> Derivation:
    c = sp.sqrt(mu_g**2 + s**2)
    p = (1 + mu_g / c) / 2  # P(g = +c); g takes the values +-c, so |g| = c surely
    mean_g = sp.simplify(p * c - (1 - p) * c)
    var_xi = sp.simplify(p * c**2 + (1 - p) * c**2 - mean_g**2)
    u = sp.Symbol("u", positive=True)
    floor = s**2 * u / (1 - u)
    # at the fixed point grad = -m w/tau, u = w^2/tau^2, and m = c: grad^2 = c^2 u; solve for grad^2
    g2 = sp.solve(sp.Eq(mu_g**2, (mu_g**2 + s**2) * u), mu_g**2)[0]
    return Derivation(
        id="certify.worst_noise_floor",
        title="mean-field Analog SGD floor per coordinate: grad^2 <= s^2 u/(1 - u), attained by a"
        " two-point noise law",
        derived=sp.Matrix([mean_g, var_xi, g2]),
        expected=sp.Matrix([mu_g, s**2, floor]),
        steps=(
            "stationary mean (alpha -> 0): grad_d = -m_d w_d/tau with m_d = E|grad_d + xi_d|",
            "Cauchy-Schwarz: m^2 <= E (grad + xi)^2 = grad^2 + s^2, so grad^2 = m^2 u <= (grad^2 + s^2) u,"
            " i.e. grad^2 <= s^2 u/(1 - u), u = w^2/tau^2",
            "equality iff |grad + xi| is constant: the two-point law g = +-c, c = sqrt(grad^2 + s^2),"
            " P(g = c) = (1 + grad/c)/2, has mean grad, noise variance s^2 and E|g| = c",
        ),
        provenance=Provenance(
            "derived here; compare asgd.upper.derived (floor sigma^2 Stilde_K/(1 - rho^2), which"
            " equals s^2 u/(1 - u) at the fixed point) and asgd.lower.floor (Rademacher, 1 - u short)",
            "derived",
        ),
        assumptions=(Assumption("inside", tau > 0, "tau > 0"),),
    )


# --- SDP: common Lyapunov rate -------------------------------------------------------------------------


@dataclass(frozen=True)
class RateCertificate:
    """Result of :func:`lyapunov_rate`.

    Attributes
    ----------
    rate
        Certified rate :math:`\\rho_P` recomputed in numpy from ``P`` (valid for every switching
        sequence over the convex hull of the vertices).
    lower
        :math:`\\max_v \\rho(A_v)`, the largest vertex spectral radius: no common Lyapunov rate is
        smaller.
    P
        The Lyapunov matrix (normalized so that :math:`I \\preceq P \\preceq` ``cond_max`` I).
    width
        Final bisection bracket ``hi - lo``.
    statuses
        Solver status of every bisection step (``"optimal"``, ``"infeasible"``, ...).
    solver, feas_tol
        Solver used and its feasibility tolerance (the slack the solver may leave in an LMI).
    """

    rate: float
    lower: float
    P: np.ndarray
    width: float
    statuses: tuple[str, ...]
    solver: str
    feas_tol: float
    details: dict = field(default_factory=dict)

    @property
    def solves(self) -> int:
        return len(self.statuses)


def certified_rate(P: np.ndarray, vertices: Sequence[np.ndarray]) -> float:
    r""":math:`\max_v \sqrt{\lambda_{\max}(C^{-1}A_v^\top P A_v C^{-\top})}`, :math:`P = CC^\top`.

    The smallest :math:`\rho` with :math:`A_v^\top P A_v \preceq \rho^2 P` for all vertices; raises
    ``ValueError`` if ``P`` is not symmetric positive definite.
    """
    P = np.asarray(P, dtype=float)
    P = (P + P.T) / 2
    try:
        C = np.linalg.cholesky(P)
    except np.linalg.LinAlgError:
        raise ValueError("P must be symmetric positive definite") from None
    Ci = np.linalg.inv(C)
    worst = 0.0
    for A in vertices:
        M = Ci @ A.T @ P @ A @ Ci.T
        worst = max(worst, float(np.linalg.eigvalsh((M + M.T) / 2)[-1]))
    return float(np.sqrt(max(worst, 0.0)))


def _check_vertices(vertices: Sequence[np.ndarray]) -> list[np.ndarray]:
    vs = [np.atleast_2d(np.asarray(A, dtype=float)) for A in vertices]
    if not vs:
        raise ValueError("vertices: need at least one matrix, got none")
    n = vs[0].shape[0]
    for A in vs:
        if A.shape != (n, n) or not np.all(np.isfinite(A)):
            raise ValueError(f"vertices must be finite square matrices of one shape ({n}, {n}),"
                             f" got shape {A.shape}")
    return vs


def lyapunov_rate(
    vertices: Sequence[np.ndarray],
    *,
    width: float = 1e-4,
    cond_max: float = 1e4,
    solver: str = "CLARABEL",
    feas_tol: float = 1e-9,
    max_solves: int = 60,
) -> RateCertificate:
    r"""Smallest common-Lyapunov contraction rate over the vertices, by bisection on an SDP.

    For a trial :math:`\rho` the SDP is: find symmetric :math:`P` with
    :math:`I \preceq P \preceq c_{\max} I` and :math:`\rho^2 P - A_v^\top P A_v \succeq 0` for every
    vertex. The bracket starts at :math:`[\max_v\rho(A_v), \max_v\|A_v\|_2]` (the upper end is
    certified by :math:`P = I`) and halves until its width is below ``width``.

    Parameters
    ----------
    vertices
        The matrices :math:`A_v` (all ``(n, n)``).
    width
        Bisection stopping width (absolute, in :math:`\rho`); must be in (0, 1).
    cond_max
        Bound on the condition number of :math:`P` (keeps the SDP bounded; >= 1).
    solver
        ``"CLARABEL"`` (interior point) or ``"SCS"`` (first order).
    feas_tol
        Solver feasibility tolerance (passed to the solver; reported with the result).

    Returns
    -------
    RateCertificate
        ``rate`` recomputed from the best :math:`P` found (see the module docstring).
    """
    cp = _cvxpy()

    vs = _check_vertices(vertices)
    if not 0 < width < 1:
        raise ValueError(f"width must be in (0, 1), got {width}")
    if cond_max < 1:
        raise ValueError(f"cond_max must be >= 1, got {cond_max}")
    if solver not in SOLVERS:
        raise ValueError(f"solver must be one of {SOLVERS}, got {solver!r}")
    n = vs[0].shape[0]
    lower = max(float(np.max(np.abs(np.linalg.eigvals(A)))) for A in vs)
    best_P = np.eye(n)
    best = certified_rate(best_P, vs)
    lo, hi = lower, best
    P = cp.Variable((n, n), symmetric=True)
    rho2 = cp.Parameter(nonneg=True)
    cons = [P >> np.eye(n), cond_max * np.eye(n) - P >> 0]
    for A in vs:
        M = rho2 * P - A.T @ P @ A
        cons.append((M + M.T) / 2 >> 0)
    prob = cp.Problem(cp.Minimize(0), cons)
    statuses: list[str] = []
    while hi - lo > width and len(statuses) < max_solves:
        mid = (lo + hi) / 2
        rho2.value = mid**2
        status = _solve(prob, solver, feas_tol)
        statuses.append(status)
        if status == _OK and P.value is not None:
            try:
                r = certified_rate(P.value, vs)
            except ValueError:
                r = np.inf
            if r < best:
                best, best_P = r, np.array((P.value + P.value.T) / 2)
            hi = mid
        else:  # infeasible, or not solved well enough to certify anything
            lo = mid
    return RateCertificate(rate=best, lower=lower, P=best_P, width=hi - lo,
                           statuses=tuple(statuses), solver=solver, feas_tol=feas_tol)


# --- vertex families -----------------------------------------------------------------------------------


def _check_box(epsilon_sat: float) -> None:
    if not 0 <= epsilon_sat < 1:
        raise ValueError(f"epsilon_sat (saturation radius, |w_i| <= epsilon_sat tau) must be in [0, 1),"
                         f" got {epsilon_sat}")


def agd_vertices(H: np.ndarray, alpha: float, epsilon_sat: float) -> list[np.ndarray]:
    r"""Vertices :math:`I - \alpha\,\mathrm{Diag}(1 + s\epsilon) H`, :math:`s \in \{\pm1\}^D`.

    Linearized noiseless Analog GD on the soft-bounds device: coordinate :math:`i` moves by
    :math:`-\alpha q_i [\nabla f]_i` with :math:`q_i = 1 + \mathrm{sign}(\nabla_i f) w_i/\tau
    \in [1-\epsilon, 1+\epsilon]` (arXiv 2406.12774 eq. (3)); the error :math:`e = W - W^*` obeys
    :math:`e' = (I - \alpha Q H) e` exactly while :math:`|w_i| \le \epsilon\tau`.
    """
    H = np.atleast_2d(np.asarray(H, dtype=float))
    _check_box(epsilon_sat)
    if alpha <= 0:
        raise ValueError(f"alpha must be > 0, got {alpha}")
    D = H.shape[0]
    if D > 10:
        raise ValueError(f"H: at most 10 coordinates (2^D vertices), got D = {D}")
    eye = np.eye(D)
    return [eye - alpha * np.diag(1 + epsilon_sat * np.array(sg)) @ H
            for sg in itertools.product((-1.0, 1.0), repeat=D)]


def tt_vertices(H: np.ndarray, alpha: float, beta: float, kappa_P: float,
                epsilon_sat: float) -> list[np.ndarray]:
    r"""Vertices of the linearized Tiki-Taka recursion on :math:`x = (P, W - W^*)`.

    :math:`A = \begin{pmatrix}(1-\beta\kappa)I & -\beta H\\ \alpha Q(1-\beta\kappa) &
    I - \alpha\beta Q H\end{pmatrix}` with :math:`Q = \mathrm{Diag}(1 + s\epsilon)`,
    :math:`\kappa = E|\xi|/\tau`, ``alpha`` the transfer rate (W array) and ``beta`` the learning
    rate of P (arXiv 2406.12774 Sec. 4 names; ``sim.TikiTaka``); see ``certify.tt_linear_det``.
    """
    H = np.atleast_2d(np.asarray(H, dtype=float))
    _check_box(epsilon_sat)
    for name, v in (("alpha", alpha), ("beta", beta)):
        if v <= 0:
            raise ValueError(f"{name} must be > 0, got {v}")
    if kappa_P < 0:
        raise ValueError(f"kappa_P must be >= 0, got {kappa_P}")
    D = H.shape[0]
    eye = np.eye(D)
    out = []
    for sg in itertools.product((-1.0, 1.0), repeat=D):
        Q = np.diag(1 + epsilon_sat * np.array(sg))
        out.append(np.block([[(1 - beta * kappa_P) * eye, -beta * H],
                             [alpha * (1 - beta * kappa_P) * Q, eye - alpha * beta * Q @ H]]))
    return out


def tt_scalar_rate(alpha: float, beta: float, kappa_P: float, lam: float, q: float) -> float:
    """Spectral radius of the scalar Tiki-Taka matrix from ``certify.tt_linear_det`` (det, trace)."""
    det = 1 - beta * kappa_P
    tr = 2 - beta * kappa_P - alpha * beta * q * lam
    disc = tr**2 - 4 * det
    if disc < 0:
        return float(np.sqrt(det))
    return float((abs(tr) + np.sqrt(disc)) / 2)


# --- LP: tightest empirical envelope ----------------------------------------------------------------


@dataclass(frozen=True)
class Envelope:
    """Smallest constants of :math:`C_1/\\sqrt K + C_2/K + F` above a curve (see
    :func:`empirical_constants`)."""

    C1: float
    C2: float
    floor: float
    status: str
    solver: str
    accuracy: float


_BASIS_NAMES = ("C1", "C2", "floor")


def _basis(K: np.ndarray) -> np.ndarray:
    return np.column_stack([1 / np.sqrt(K), 1 / K, np.ones_like(K)])


def empirical_constants(
    K: np.ndarray,
    curve: np.ndarray,
    *,
    minimize: str = "area",
    caps: dict[str, float] | None = None,
    solver: str = "CLARABEL",
    accuracy: float = 1e-9,
) -> Envelope:
    r"""Tightest envelope :math:`E_K \le C_1/\sqrt K + C_2/K + F` for all measured K (an LP).

    Parameters
    ----------
    K, curve
        Iteration counts (> 0) and the measured values :math:`E_K` (pass an upper confidence
        limit, mean + Z se, to make the envelope statistically conservative).
    minimize
        ``"area"``: minimize :math:`\sum_K` of the envelope (the tightest envelope in the L1 sense);
        ``"C1"``, ``"C2"`` or ``"floor"``: minimize that constant alone, the others limited by
        ``caps`` (e.g. the theory's constants) -- the smallest value of that constant compatible
        with the theory's other terms.
    caps
        Upper limits on constants (``{"C1": ..., "C2": ..., "floor": ...}``); all constants >= 0.

    Returns
    -------
    Envelope
        Constants and the solver status; ``status != "optimal"`` means no envelope is certified
        (e.g. ``"infeasible"`` when the caps cannot cover the curve).
    """
    cp = _cvxpy()

    K = np.asarray(K, dtype=float)
    y = np.asarray(curve, dtype=float)
    if K.ndim != 1 or K.shape != y.shape or K.size < 1:
        raise ValueError(f"K and curve must be 1-D of one length, got {K.shape} and {y.shape}")
    if np.any(K <= 0) or not np.all(np.isfinite(y)):
        raise ValueError("K must be > 0 and the curve finite")
    if minimize not in ("area", *_BASIS_NAMES):
        raise ValueError(f"minimize must be 'area', 'C1', 'C2' or 'floor', got {minimize!r}")
    if solver not in SOLVERS:
        raise ValueError(f"solver must be one of {SOLVERS}, got {solver!r}")
    caps = caps or {}
    bad = set(caps) - set(_BASIS_NAMES)
    if bad:
        raise ValueError(f"caps: unknown constant(s) {sorted(bad)}; allowed {_BASIS_NAMES}")
    B = _basis(K)
    c = cp.Variable(3, nonneg=True)
    cons = [B @ c >= y]
    for name, cap in caps.items():
        cons.append(c[_BASIS_NAMES.index(name)] <= cap)
    # scale each column so the LP is well conditioned whatever the range of K
    obj = cp.sum(B @ c) if minimize == "area" else c[_BASIS_NAMES.index(minimize)]
    prob = cp.Problem(cp.Minimize(obj), cons)
    status = _solve(prob, solver, accuracy)
    vals = c.value if (status == _OK and c.value is not None) else np.full(3, np.nan)
    return Envelope(float(vals[0]), float(vals[1]), float(vals[2]), status, solver, accuracy)


# --- LP: worst-case noise law for the mean-field floor -----------------------------------------------


@dataclass(frozen=True)
class NoiseWitness:
    r"""A discrete noise law maximizing :math:`E|\bar g + \xi|` (see :func:`worst_noise_law`).

    ``floor`` = :math:`\bar g^2` (the stationary squared gradient), ``u`` = saturation
    :math:`\bar w^2/\tau^2 = \bar g^2/m^2` at the fixed point, ``ratio`` = floor over the derived
    upper bound's floor term :math:`s^2 u/(1-u)`.
    """

    grad: float
    s: float
    support: np.ndarray
    probs: np.ndarray
    mean_abs: float
    status: str
    accuracy: float

    @property
    def floor(self) -> float:
        return self.grad**2

    @property
    def u(self) -> float:
        return self.grad**2 / self.mean_abs**2

    @property
    def ratio(self) -> float:
        return (self.mean_abs**2 - self.grad**2) / self.s**2


def worst_noise_law(grad: float, s: float, *, n_support: int = 401, span: float = 4.0,
                    symmetric: bool = False, accuracy: float = 1e-10) -> NoiseWitness:
    r"""Noise law on a grid maximizing :math:`m = E|\bar g + \xi|` (an LP in the probabilities).

    Constraints: :math:`\sum p_j = 1`, :math:`\sum p_j\xi_j = 0`, :math:`\sum p_j\xi_j^2 \le s^2`
    (and :math:`p_j = p_{-j}` when ``symmetric``). At the mean-field fixed point of Analog SGD the
    stationary gradient is :math:`\bar g = -m\bar w/\tau`, so a larger :math:`m` means the same
    :math:`\bar g^2` (the floor) at a smaller saturation :math:`u = \bar g^2/m^2`; the ratio to the
    derived upper bound's floor term :math:`s^2u/(1-u)` is :math:`(m^2 - \bar g^2)/s^2 \le 1`
    (``certify.worst_noise_floor``). The grid is uniform on ``[-span s, span s]``; a grid of
    spacing :math:`h` loses at most :math:`h^2/4` of variance against the exact two-point optimum,
    so ``ratio >= 1 - h^2/(4 s^2)`` (up to the solver's accuracy).
    """
    cp = _cvxpy()

    if s <= 0:
        raise ValueError(f"s (noise std) must be > 0, got {s}")
    if n_support < 3 or n_support % 2 == 0:
        raise ValueError(f"n_support must be odd and >= 3, got {n_support}")
    need = (abs(grad) + np.hypot(grad, s)) / s  # the optimal two-point law sits at -grad +- hypot
    if span <= need and not symmetric:
        raise ValueError(f"span must exceed (|grad| + sqrt(grad^2 + s^2))/s = {need:.3g}, got {span}")
    xi = np.linspace(-span * s, span * s, n_support)
    p = cp.Variable(n_support, nonneg=True)
    # scale the moments by s so the LP data are O(1)
    cons = [cp.sum(p) == 1, (xi / s) @ p == 0, (xi / s) ** 2 @ p <= 1]
    if symmetric:
        cons.append(p == p[::-1])
    prob = cp.Problem(cp.Maximize(np.abs(grad + xi) / s @ p), cons)
    status = _solve(prob, "CLARABEL", accuracy)
    if status != _OK or p.value is None:
        return NoiseWitness(grad, s, xi, np.full(n_support, np.nan), np.nan, status, accuracy)
    probs = np.clip(p.value, 0, None)
    probs /= probs.sum()
    return NoiseWitness(grad, s, xi, probs, float(np.abs(grad + xi) @ probs), status, accuracy)


# --- SDP: stability threshold of delayed recursions ---------------------------------------------------


@dataclass(frozen=True)
class ThresholdCertificate:
    """Result of :func:`delay_threshold_certified`: ``a_cert`` is certified stable (its Lyapunov
    matrix gives a numpy-recomputed rate < 1); every bisection point above it was not certified."""

    delay: int
    epsilon_sat: float
    a_cert: float
    rate_at_a_cert: float
    width: float
    statuses: tuple[str, ...]
    cond_max: float


def _stable_sdp(vertices: list[np.ndarray], cond_max: float,
                feas_tol: float) -> tuple[str, np.ndarray | None]:
    cp = _cvxpy()

    n = vertices[0].shape[0]
    P = cp.Variable((n, n), symmetric=True)
    cons = [P >> np.eye(n), cond_max * np.eye(n) - P >> 0]
    for A in vertices:
        M = P - A.T @ P @ A - np.eye(n)
        cons.append((M + M.T) / 2 >> 0)
    prob = cp.Problem(cp.Minimize(0), cons)
    return _solve(prob, "CLARABEL", feas_tol), P.value


def delay_threshold_certified(delay: int, epsilon_sat: float = 0.0, *, width: float = 1e-6,
                              cond_max: float = 1e6, feas_tol: float = 1e-9) -> ThresholdCertificate:
    r"""Largest step :math:`a` at which :math:`x_{k+1} = x_k - a q_k x_{k-d}` is certified stable.

    The gain :math:`q_k \in [1-\epsilon, 1+\epsilon]` is the soft-bounds factor of an analog write
    (``epsilon_sat = 0``: the digital recursion of ``theory.delay``). For each trial ``a`` the SDP
    :math:`I \preceq P \preceq c_{\max}I`, :math:`P - C_v^\top P C_v \succeq I` over the vertices
    :math:`C_v = C(a(1\pm\epsilon), d)` (companion matrices, :func:`theory.delay.companion_matrix`)
    is solved; ``a`` counts as certified only if the solver reports ``optimal`` and the rate
    recomputed from :math:`P` in numpy is < 1. Bisection on ``a`` in :math:`(0, 2/(1+\epsilon)]`.
    For ``epsilon_sat = 0`` the answer tends to the Levin-May threshold :math:`2\cos(d\pi/(2d+1))` as
    ``cond_max`` grows (Lyapunov matrices grow like :math:`1/(1-\rho^2)` near it).
    """
    from .delay import companion_matrix

    _check_box(epsilon_sat)
    if width <= 0 or width >= 1:
        raise ValueError(f"width must be in (0, 1), got {width}")
    lo, hi = 0.0, 2.0 / (1 + epsilon_sat)
    best_rate = float("nan")
    statuses: list[str] = []
    while hi - lo > width:
        a = (lo + hi) / 2
        vs = [companion_matrix(a * (1 + sg * epsilon_sat), delay)
              for sg in ((-1.0, 1.0) if epsilon_sat > 0 else (1.0,))]
        status, P = _stable_sdp(vs, cond_max, feas_tol)
        statuses.append(status)
        rate = np.inf
        if status == _OK and P is not None:
            try:
                rate = certified_rate(P, vs)
            except ValueError:
                rate = np.inf
        if rate < 1:
            lo, best_rate = a, rate
        else:
            hi = a
    return ThresholdCertificate(int(delay), float(epsilon_sat), lo, best_rate, hi - lo, tuple(statuses),
                                cond_max)
