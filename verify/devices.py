r"""One definition per device: a simulator device built from a symbolic response.

A device type is defined once, as a :class:`theory.devices.Response` (sympy :math:`q_\pm(w)`,
parameters, dynamic range). :func:`device_from_response` turns it into a :class:`sim.Device` whose
response functions are the lambdified sympy expressions, so the simulator runs exactly the
response the theory talks about:

.. math::  F = \tfrac12 (q_- + q_+), \qquad G = \tfrac12 (q_- - q_+), \qquad M = q_+ q_-,
           \qquad U(w, \Delta) = w + \Delta F(w) - |\Delta| G(w)

(arXiv 2502.06309 eq. (3)-(5)). The symmetric point (the root of :math:`G` in the dynamic range)
is solved with sympy and checked numerically (:math:`|G(w^\diamond)|` at rounding level); when
sympy finds no closed form it is found by bisection, vectorized over array parameters.

The hand-written built-ins of :mod:`sim.devices` (``SoftBounds``, ``Power``, ...) are kept for speed
(``SoftBounds.update`` is the hot path of most claims) and are tested against this path on grids
(``tests/verify/test_devices.py``).

>>> import numpy as np
>>> from theory.devices import soft_bounds
>>> dev = device_from_response(soft_bounds(), tau=2.0)
>>> dev.G(np.array([1.0, -2.0])), float(dev.symmetric_point())
(array([ 0.5, -1. ]), 0.0)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import sympy as sp

import sim
from theory.devices import Response
from theory.symbols import domain_of, w

__all__ = ["ResponseDevice", "device_from_response"]

ArrayLike = float | np.ndarray

#: points of the grid on which the responses are checked (positive, finite) at construction
CHECK_POINTS = 257
#: bisection steps of the numeric symmetric point (the bracket shrinks by 2^-STEPS)
BISECTION_STEPS = 200
#: a symmetric point is accepted when |G(w*)| <= SYM_RTOL * (1 + sup |G| on the range)
SYM_RTOL = 1e-9


def _lambdify(expr: sp.Expr, syms: tuple[sp.Symbol, ...]) -> Callable[..., np.ndarray]:
    return sp.lambdify((w, *syms), expr, modules="numpy")


class ResponseDevice(sim.Device):
    r"""A :class:`sim.Device` whose :math:`q_\pm`, :math:`F`, :math:`G`, :math:`M` are a theory
    response's sympy expressions, lambdified (build it with :func:`device_from_response`).

    Parameters
    ----------
    response
        The symbolic response.
    params
        A value for every parameter of ``response`` (``response.params``), scalar or array that
        broadcasts against the weights (e.g. ``tau`` of shape ``(R, 1)``, one device per run).

    Notes
    -----
    ``tau`` (the radius of the saturation :math:`\|W\|_\infty/\tau` that the trajectories record)
    is the parameter ``tau`` when the response has one, else :math:`\max(|lo|, |hi|)` of the
    dynamic range. The bounds ``w_min``, ``w_max`` are the dynamic range; the update clips to
    them (a no-op for an unbounded range). Only the mean-field model exists (``mode="mean_field"``).
    """

    def __init__(self, response: Response, params: Mapping[str, ArrayLike]) -> None:
        if not isinstance(response, Response):
            raise TypeError(f"response must be a theory.devices.Response, got {type(response).__name__}")
        names = tuple(response.params)
        missing = sorted(set(names) - set(params))
        unknown = sorted(set(params) - set(names))
        if missing or unknown:
            raise ValueError(f"{response.name}: parameters must be exactly {sorted(names)};"
                             f" missing {missing}, unknown {unknown}")
        values = {}
        for n in names:
            arr = domain_of(response.params[n]).check(f"{response.name} parameter {n}", params[n])
            values[n] = float(arr) if arr.ndim == 0 else arr
        self.response = response
        self.name = response.name
        self.params: dict[str, ArrayLike] = values
        self._syms = tuple(response.params[n] for n in names)
        self._args = tuple(values[n] for n in names)
        try:
            shape = np.broadcast_shapes(*(np.shape(v) for v in self._args))
        except ValueError:
            shapes = ", ".join(f"{k} {np.shape(v)}" for k, v in values.items())
            raise ValueError(f"the parameters of {response.name} must broadcast against each other,"
                             f" got shapes {shapes}") from None
        self._shape = shape
        fns = {k: _lambdify(getattr(response, k), self._syms)
               for k in ("q_plus", "q_minus", "F", "G", "M")}
        self._fns = fns
        lo, hi = (self._const(e) for e in response.w_range)
        if np.any(lo >= hi):
            raise ValueError(f"{response.name}: the dynamic range must have lo < hi, got"
                             f" [{np.min(lo):g}, {np.max(hi):g}]")
        self._lo, self._hi = lo, hi
        self.tau = (values["tau"] if "tau" in values else
                    (lambda r: float(r) if r.ndim == 0 else r)(np.maximum(-lo, hi)))
        self._check_responses()
        self._sym = self._solve_symmetric_point()

    # -- construction helpers ---------------------------------------------------------------------
    def _const(self, expr: sp.Expr) -> np.ndarray:
        """A parameter expression (range end, root) as a float array of the parameters' shape."""
        if expr in (sp.oo, -sp.oo):
            return np.full(self._shape, float(expr))
        fn = sp.lambdify(self._syms, expr, modules="numpy")
        with np.errstate(all="ignore"):
            out = np.asarray(fn(*self._args))
        if np.iscomplexobj(out):
            out = np.where(np.abs(np.imag(out)) <= 1e-12 * (1 + np.abs(np.real(out))), np.real(out),
                           np.nan)
        return np.broadcast_to(np.asarray(out, dtype=float), self._shape)

    def _grid(self, n: int = CHECK_POINTS) -> np.ndarray:
        """``n`` points across the dynamic range (``[-1, 1]`` replaces an infinite end), shape
        ``(n, *param shape)``."""
        lo = np.where(np.isfinite(self._lo), self._lo, -1.0)
        hi = np.where(np.isfinite(self._hi), self._hi, 1.0)
        t = np.linspace(0.0, 1.0, n).reshape((n,) + (1,) * len(self._shape))
        return lo + t * (hi - lo)

    def _check_responses(self) -> None:
        """q_+ and q_- must be finite and >= 0 on the dynamic range (checked on a grid)."""
        grid = self._grid()
        for which in ("q_plus", "q_minus"):
            with np.errstate(all="ignore"):
                q = getattr(self, which)(grid)
            bad = ~np.isfinite(q) | (q < 0)
            if np.any(bad):
                i = np.unravel_index(np.argmax(bad), bad.shape)
                raise ValueError(f"{self.name}: {which} must be finite and >= 0 on the dynamic range;"
                                 f" {which}({float(grid[i]):.6g}) = {float(q[i]):.6g} at {self.params}")

    def _solve_symmetric_point(self) -> np.ndarray:
        """Root of G in the range: sympy's roots first, bisection where none is a checked root."""
        grid = self._grid()
        scale = 1 + np.max(np.abs(self.G(grid)), axis=0)
        tol = SYM_RTOL * scale
        found = np.zeros(self._shape, dtype=bool)
        out = np.full(self._shape, np.nan)
        G = self.response.G
        if sp.simplify(G) == 0:
            roots: list[sp.Expr] = [sp.Integer(0)]
        else:
            try:
                roots = list(sp.solve(sp.Eq(G, 0), w))
            except (NotImplementedError, ValueError):
                roots = []
        for root in roots:
            r = self._const(root)
            with np.errstate(all="ignore"):
                ok = (~found & np.isfinite(r) & (r >= self._lo) & (r <= self._hi)
                      & (np.abs(self.G(r)) <= tol))
            out = np.where(ok, r, out)
            found |= ok
        if not np.all(found):
            out = np.where(found, out, self._bisect_symmetric_point(tol))
        return out

    def _bisect_symmetric_point(self, tol: np.ndarray) -> np.ndarray:
        """Bisection on G over the range (vectorized over array parameters)."""
        lo = np.where(np.isfinite(self._lo), self._lo, -1e6)
        hi = np.where(np.isfinite(self._hi), self._hi, 1e6)
        g_lo, g_hi = self.G(lo), self.G(hi)
        if np.any(np.sign(g_lo) == np.sign(g_hi)) and not np.all(
                (np.abs(g_lo) <= tol) | (np.abs(g_hi) <= tol)):
            raise ValueError(f"{self.name}: G has no root in the dynamic range at {self.params}"
                             " (no symmetric point): G keeps one sign at both ends")
        for _ in range(BISECTION_STEPS):  # iterations of the bracket, vectorized over parameters
            mid = (lo + hi) / 2
            g_mid = self.G(mid)
            left = np.sign(g_mid) == np.sign(g_lo)
            lo, g_lo = np.where(left, mid, lo), np.where(left, g_mid, g_lo)
            hi = np.where(left, hi, mid)
        root = (lo + hi) / 2
        if np.any(np.abs(self.G(root)) > tol):
            raise ValueError(f"{self.name}: bisection found no root of G in the range at {self.params}")
        return root

    # -- sim.Device interface ---------------------------------------------------------------------
    def _eval(self, which: str, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        out = np.asarray(self._fns[which](x, *self._args), dtype=float)
        return out if out.shape == x.shape else np.broadcast_to(
            out, np.broadcast_shapes(out.shape, x.shape)).copy()

    def q_plus(self, w: np.ndarray) -> np.ndarray:
        return self._eval("q_plus", w)

    def q_minus(self, w: np.ndarray) -> np.ndarray:
        return self._eval("q_minus", w)

    def F(self, w: np.ndarray) -> np.ndarray:
        return self._eval("F", w)

    def G(self, w: np.ndarray) -> np.ndarray:
        return self._eval("G", w)

    def M(self, w: np.ndarray) -> np.ndarray:
        return self._eval("M", w)

    def symmetric_point(self) -> ArrayLike:
        """Root of G in the dynamic range (sympy solve, checked numerically; else bisection)."""
        return float(self._sym) if self._sym.ndim == 0 else self._sym

    def array_params(self) -> dict[str, ArrayLike]:
        return {k: v for k, v in self.params.items() if np.ndim(v) > 0}

    @property
    def w_min(self) -> ArrayLike:
        return float(self._lo) if self._lo.ndim == 0 else self._lo

    @property
    def w_max(self) -> ArrayLike:
        return float(self._hi) if self._hi.ndim == 0 else self._hi

    def clip(self, w: np.ndarray) -> np.ndarray:
        if not (np.any(np.isfinite(self._lo)) or np.any(np.isfinite(self._hi))):
            return w
        return np.clip(w, self._lo, self._hi)

    def sup(self, which: str = "F", lo: ArrayLike | None = None, hi: ArrayLike | None = None,
            points: int = 2001) -> float:
        """Largest value of ``which`` (``F``, ``G``, ``M``, ``q_plus``, ``q_minus``) on a grid of
        ``points`` points over ``[lo, hi]`` (default: the dynamic range), all parameters at once."""
        return float(np.max(self._on_grid(which, lo, hi, points)))

    def inf(self, which: str = "M", lo: ArrayLike | None = None, hi: ArrayLike | None = None,
            points: int = 2001) -> float:
        """Smallest value of ``which`` on a grid over ``[lo, hi]`` (see :meth:`sup`)."""
        return float(np.min(self._on_grid(which, lo, hi, points)))

    def _on_grid(self, which: str, lo: ArrayLike | None, hi: ArrayLike | None,
                 points: int) -> np.ndarray:
        if which not in self._fns:
            raise ValueError(f"which must be one of {sorted(self._fns)}, got {which!r}")
        lo = self._lo if lo is None else np.asarray(lo, dtype=float)
        hi = self._hi if hi is None else np.asarray(hi, dtype=float)
        if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
            raise ValueError(f"{self.name}: the range is unbounded; pass finite lo and hi")
        t = np.linspace(0.0, 1.0, points).reshape((points,) + (1,) * np.ndim(lo))
        return self._eval(which, lo + t * (hi - lo))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"ResponseDevice({self.name}{', ' if args else ''}{args})"

    def __reduce__(self) -> tuple:
        # lambdified functions do not pickle: rebuild from the response (worker processes, caches)
        return (_rebuild, (self.response, self.params))


def _rebuild(response: Response, params: Mapping[str, ArrayLike]) -> ResponseDevice:
    return ResponseDevice(response, params)


def device_from_response(response: Response, **params: ArrayLike) -> ResponseDevice:
    r"""Build a simulator device from a theory response, the one definition of a device type.

    Parameters
    ----------
    response
        A :class:`theory.devices.Response` (a built-in such as ``theory.devices.power()`` or your
        own: ``Response("mine", q_plus, q_minus, {"tau": tau}, (-tau, tau))``).
    **params
        A value for every parameter of the response, by name (``tau=1.0, gamma_res=0.5``); each is
        checked against its symbol's domain (``theory.symbols.DOMAINS``). Arrays broadcast against
        the weights (``(R, 1)``: one device per run).

    Returns
    -------
    ResponseDevice
        A :class:`sim.Device` usable by every simulator optimizer in mean-field mode
        (``sim.AnalogSGD``, ``sim.TikiTaka``, ...).

    Raises
    ------
    ValueError
        A parameter is missing, unknown or outside its domain; :math:`q_\pm` is negative or not
        finite somewhere on the dynamic range; :math:`G` has no root in the range.

    Examples
    --------
    >>> import numpy as np, sim
    >>> from theory.devices import power
    >>> dev = device_from_response(power(), tau=1.0, gamma_res=0.5)
    >>> tr = sim.simulate(sim.scalar_quadratic(1.0, 0.3), sim.AnalogSGD(0.1, dev), steps=200,
    ...                   seeds=2, progress=False)
    >>> bool(np.allclose(tr.final_weights, 0.3, atol=1e-3))
    True
    """
    return ResponseDevice(response, params)
