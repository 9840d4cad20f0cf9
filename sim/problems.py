r"""Test problems with known minimizers: quadratics and the papers' least-squares instances.

Every problem here is a quadratic :math:`f(W) = f^* + \frac12 (W - W^*)^\top H (W - W^*)`, so
:math:`\nabla f(W) = H(W - W^*)` and :math:`f(W) - f^* = \frac12\langle W - W^*, \nabla f(W)\rangle`
costs one dot product once the gradient is known. Weights are batched: ``W`` has shape ``(R, D)``.

Named instances (:func:`paper_problem`) reproduce the settings of arXiv 2406.12774's scripts
(spec ``exact_training.md`` Sec. 6); the data are drawn with numpy from seed 42, not with torch, so
the matrices differ from the authors' while following the same distribution.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ._checks import as_real_array, check_int, check_real, check_seed


@dataclass(frozen=True)
class Quadratic:
    r"""A quadratic :math:`f(W) = f^* + \tfrac12 (W - W^*)^\top H (W - W^*)`.

    Parameters
    ----------
    H
        Symmetric positive semi-definite Hessian, shape ``(D, D)``.
    w_star
        A minimizer, shape ``(D,)``.
    f_star
        Minimal value.
    name
        Label used in figures and reports.
    """

    H: np.ndarray
    w_star: np.ndarray
    f_star: float = 0.0
    name: str = "quadratic"
    meta: dict = field(default_factory=dict, compare=False)
    if TYPE_CHECKING:  # set in __post_init__ (object.__setattr__); declared for the type checker
        _eig: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        H = as_real_array("H", self.H)
        w_star = as_real_array("w_star", self.w_star)
        if H.ndim != 2 or H.shape[0] != H.shape[1] or H.shape[0] == 0:
            raise ValueError(f"H must be a non-empty square matrix (D, D), got shape {H.shape}")
        if w_star.shape != (H.shape[0],):
            raise ValueError(f"w_star must have shape ({H.shape[0]},), got {w_star.shape}")
        for nm, arr in (("H", H), ("w_star", w_star)):
            bad = ~np.isfinite(arr)
            if bad.any():
                i = np.unravel_index(np.argmax(bad), arr.shape)
                raise ValueError(f"{nm} must have finite entries; {int(bad.sum())} entr"
                                 f"{'y is' if bad.sum() == 1 else 'ies are'} not (entry {tuple(map(int, i))}"
                                 f" is {arr[i]!r})")
        object.__setattr__(self, "f_star", check_real("f_star", self.f_star))
        if not isinstance(self.name, str):
            raise ValueError(f"name must be a str, got {self.name!r}")
        if not np.allclose(H, H.T, rtol=1e-12, atol=1e-12 * max(1.0, np.abs(H).max())):
            i = np.unravel_index(np.argmax(np.abs(H - H.T)), H.shape)
            raise ValueError(f"H must be symmetric; H{tuple(map(int, i))} = {H[i]:.6g} but"
                             f" H{tuple(map(int, i[::-1]))} = {H[i[::-1]]:.6g}")
        eig = np.linalg.eigvalsh(H)
        if eig[0] < -1e-10 * max(1.0, eig[-1]):
            raise ValueError(f"H must be positive semi-definite; smallest eigenvalue {eig[0]:.3g}")
        object.__setattr__(self, "H", H)
        object.__setattr__(self, "w_star", w_star)
        object.__setattr__(self, "_eig", eig)

    @property
    def dim(self) -> int:
        return self.H.shape[0]

    @property
    def L(self) -> float:
        """Smoothness constant (largest Hessian eigenvalue)."""
        return float(self._eig[-1])

    @property
    def mu(self) -> float:
        """Strong-convexity constant (smallest Hessian eigenvalue, clipped at 0)."""
        return float(max(self._eig[0], 0.0))

    def grad(self, W: np.ndarray) -> np.ndarray:
        """Exact gradient, shape like ``W``."""
        return (W - self.w_star) @ self.H

    def loss(self, W: np.ndarray) -> np.ndarray:
        """Suboptimality ``f(W) - f*``, shape ``W.shape[:-1]``."""
        return self.loss_from_grad(W, self.grad(W))

    def loss_from_grad(self, W: np.ndarray, grad: np.ndarray) -> np.ndarray:
        """``f(W) - f*`` from a gradient already computed at ``W`` (one dot product)."""
        return 0.5 * np.einsum("...i,...i->...", W - self.w_star, grad)

    def value(self, W: np.ndarray) -> np.ndarray:
        """``f(W)``."""
        return self.f_star + self.loss(W)


def quadratic(H: np.ndarray, w_star: np.ndarray, name: str = "quadratic") -> Quadratic:
    """Quadratic with a chosen Hessian and minimizer (``f* = 0``)."""
    return Quadratic(as_real_array("H", H), as_real_array("w_star", w_star), 0.0, name)


def diagonal_quadratic(eigenvalues: np.ndarray, w_star: np.ndarray, name: str = "diag") -> Quadratic:
    """Separable quadratic ``sum_d lambda_d (w_d - w*_d)^2 / 2``."""
    lam = as_real_array("eigenvalues", eigenvalues)
    if lam.ndim != 1 or lam.size == 0:
        raise ValueError("eigenvalues must be a non-empty 1-D array (one per coordinate), got shape"
                         f" {lam.shape}")
    ws = as_real_array("w_star", w_star)
    if ws.shape not in ((), lam.shape):
        raise ValueError(f"w_star must be a scalar or have the shape of eigenvalues {lam.shape}, got"
                         f" {ws.shape}")
    return Quadratic(np.diag(lam), np.broadcast_to(ws, lam.shape).copy(), 0.0, name)


def scalar_quadratic(L: float = 1.0, w_star: float = 0.5) -> Quadratic:
    r"""The 1-D lower-bound instance :math:`f(w) = \frac{L}{2}(w - w^*)^2` (spec Sec. 4.3)."""
    L = check_real("L", L, 0.0, lo_open=True)
    w_star = check_real("w_star", w_star)
    return Quadratic(np.array([[float(L)]]), np.array([float(w_star)]), 0.0,
                     f"scalar(L={L:g}, w*={w_star:g})")


def least_squares(
    A: np.ndarray, y: np.ndarray, *, halved: bool = True, name: str = "least_squares"
) -> Quadratic:
    r"""Least squares :math:`f(x) = c\,\|Ax - y\|^2 / N` with :math:`c = 1/2` (``halved``) or 1.

    The torch ``MSELoss`` used by arXiv 2406.12774's Fig. 1 script is the un-halved mean.
    """
    A = as_real_array("A", A)
    y = as_real_array("y", y)
    if A.ndim != 2 or A.size == 0 or y.shape != (A.shape[0],):
        raise ValueError(f"need A of shape (N, D) and y of shape (N,), got {A.shape}, {y.shape}")
    for nm, arr in (("A", A), ("y", y)):
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{nm} must have finite entries; {int((~np.isfinite(arr)).sum())} are not")
    N = A.shape[0]
    c = 0.5 if halved else 1.0
    H = 2 * c * (A.T @ A) / N
    H = (H + H.T) / 2
    w_star, *_ = np.linalg.lstsq(A, y, rcond=None)
    resid = A @ w_star - y
    f_star = float(c * resid @ resid / N)
    return Quadratic(H, w_star, f_star, name, {"A": A, "y": y, "halved": halved})


def random_least_squares(
    D: int = 40,
    N: int = 100,
    *,
    a_scale: float = 1.0,
    w_scale: float = 0.3,
    halved: bool = True,
    bias: float | None = None,
    seed: int = 42,
    name: str | None = None,
) -> Quadratic:
    r"""Realizable least squares: :math:`A \sim a\,N(0,1)^{N\times D}`, :math:`x^* \sim w\,N(0, I)`,
    :math:`y = A x^*` (so :math:`f^* = 0` and :math:`W^* = x^*` when :math:`N \ge D`).

    With ``bias`` set, a constant column of ones is appended (D + 1 weights) whose true weight is
    ``bias``, as in the initialization ablation of arXiv 2406.12774 (Fig. 4 right).
    """
    D, N = check_int("D", D), check_int("N", N)
    a_scale = check_real("a_scale", a_scale, 0.0, lo_open=True)
    w_scale = check_real("w_scale", w_scale, 0.0)
    if bias is not None:
        bias = check_real("bias", bias)
    seed = check_seed("seed", seed)
    rng = np.random.default_rng(seed)
    A = a_scale * rng.standard_normal((N, D))
    x_star = w_scale * rng.standard_normal(D)
    if bias is not None:
        A = np.column_stack([A, np.ones(N)])
        x_star = np.append(x_star, bias)
    label = name or f"least_squares(D={D}, N={N})"
    return least_squares(A, A @ x_star, halved=halved, name=label)


#: The least-squares problems of arXiv 2406.12774's scripts (spec exact_training.md Sec. 6, 9).
PAPER_PROBLEMS: dict[str, dict[str, Any]] = {
    # Fig. 1 (S1-SGD-diff-lr.py): A ~ N(0,1), x* = 0.45 N(0, I), torch MSELoss (not halved).
    "exact_fig1": dict(D=40, N=100, a_scale=1.0, w_scale=0.45, halved=False),
    # Fig. 3 and the D = 40 problem of spec Sec. 9: A = N(0,1)/2, x* = 0.3 N(0, I), MSE/2.
    "exact_fig3": dict(D=40, N=100, a_scale=0.5, w_scale=0.3, halved=True),
    # Fig. 4 middle (S3.2-ablation-sigma.py): D = 50, A ~ N(0,1), x* = 0.5 N(0, I), MSE/2.
    "exact_fig4_sigma": dict(D=50, N=100, a_scale=1.0, w_scale=0.5, halved=True),
    # Fig. 4 right (S3.3-ablation-init.py): D = 50 plus a bias column (true bias 0.1). The scale of
    # x* is not recovered; 0.3 N(0, I) is assumed so that W* lies inside the tau = 1 box.
    "exact_fig4_init": dict(D=50, N=100, a_scale=1.0, w_scale=0.3, halved=True, bias=0.1),
    # Fig. 2 of 2502.06309 (S1-TT-fails.py): D = 50, N = 100, A ~ N(0,1), W* ~ 0.5 N(0,1).
    "response_fig2": dict(D=50, N=100, a_scale=1.0, w_scale=0.5, halved=True),
}


def paper_problem(name: str, seed: int = 42) -> Quadratic:
    """One of :data:`PAPER_PROBLEMS` (data seed 42 as in the authors' scripts, numpy RNG)."""
    if not isinstance(name, str):
        raise ValueError(f"name must be one of {sorted(PAPER_PROBLEMS)}, got {name!r}")
    try:
        kw = PAPER_PROBLEMS[name]
    except KeyError:
        raise ValueError(f"unknown paper problem {name!r}; choose from {sorted(PAPER_PROBLEMS)}") from None
    return random_least_squares(**kw, seed=seed, name=name)
