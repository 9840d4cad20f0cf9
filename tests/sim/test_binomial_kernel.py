"""The compiled :func:`sim.pulsed.binomial_icdf` gives the numpy route's numbers.

With numba (``sim._kernels.binomial_kernel``) the inverse-CDF binomial runs per element in a
compiled loop; without it, numpy's vectorized recursion over the count value. Tolerance: exact
equality of every value and of its bits (``tobytes``; NaN counts compared as NaN) from the same
uniforms: the kernel does the same IEEE multiplications, divisions and additions in the same
order, so no rounding difference is allowed.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import sim
from sim import BatchRNG, _kernels
from sim.pulsed import _int_power, binomial_icdf


def _numpy(u, n, p) -> np.ndarray:
    with pytest.MonkeyPatch.context() as m:
        m.setattr(_kernels, "binomial_kernel", lambda: None)
        return binomial_icdf(u, n, p)


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


def _needs_numba() -> None:
    if _kernels.binomial_kernel() is None:
        pytest.skip("numba not installed (or AIMC_VERIFY_NO_NUMBA set)")


@st.composite
def _cases(draw):
    """Uniforms in [0, 1) (0 included), probabilities in [0, 1] from none to all slots firing,
    with exact 0, exact 1, NaN and values next to 1 sprinkled in; n a scalar, one number per run
    (BL management) or one per element, 0 included."""
    R = draw(st.integers(1, 3))
    shape = (R, *draw(st.lists(st.integers(1, 30), min_size=0, max_size=2)))
    g = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    u = g.random(shape)
    scale = draw(st.sampled_from([1e-4, 1e-2, 0.1, 0.5, 1.0]))
    p = np.minimum(np.abs(g.normal(0.0, scale, shape)), 1.0)
    flat_p, flat_u = p.reshape(-1), u.reshape(-1)
    specials = [0.0, 1.0, np.nan, np.nextafter(1.0, 0.0), 1e-300]
    for special in draw(st.lists(st.sampled_from(specials), max_size=4)):
        flat_p[g.integers(flat_p.size)] = special
    if draw(st.booleans()):
        flat_u[g.integers(flat_u.size)] = 0.0
    n_max = draw(st.sampled_from([0, 1, 3, 31, 200]))
    kind = draw(st.sampled_from(["scalar", "int", "per_run", "per_element"]))
    if kind == "scalar":
        n: np.ndarray | int = np.float64(n_max)
    elif kind == "int":
        n = int(n_max)
    elif kind == "per_run":
        n = g.integers(0, n_max + 1, (R,) + (1,) * (len(shape) - 1)).astype(float)
    else:
        n = g.integers(0, n_max + 1, shape).astype(float)
    if kind in ("per_run", "per_element") and draw(st.booleans()):
        np.asarray(n).reshape(-1)[0] = np.nan  # a NaN increment upstream (BL management)
    return u, n, p


@given(_cases())
def test_compiled_binomial_is_the_numpy_route(case):
    _needs_numba()
    u, n, p = case
    with np.errstate(invalid="ignore"):
        assert _same(binomial_icdf(u, n, p), _numpy(u, n, p))


def test_underflow_and_degenerate_probabilities():
    """P(0) underflowing to 0 (scipy's ppf), p = 1 (every slot fires), p = 0, NaN p with n = 0
    (P(0) = 1: no pulse) and with n > 0 (NaN), next to ordinary draws in the same call."""
    _needs_numba()
    g = np.random.default_rng(3)
    u = g.random((2, 400))
    p = g.uniform(0.0, 1.0, u.shape)
    p[0, :4] = [1.0, 0.0, np.nan, np.nextafter(1.0, 0.0)]
    n = np.array([[5000.0], [0.0]])  # 0.5^5000 underflows in run 0; run 1 has no slot
    p[1, 0] = np.nan
    k = binomial_icdf(u, n, p)
    assert _same(k, _numpy(u, n, p))
    assert k[0, 0] == 5000 and k[0, 1] == 0 and np.isnan(k[0, 2]) and k[1, 0] == 0
    assert np.all(k[1] == 0) and 2000 < np.nanmean(k[0, 4:] / p[0, 4:]) < 8000


def test_strided_read_only_uniforms_and_broadcasting():
    """The generator's read-only strided views, uniforms broadcasting against p and a 0-d call
    give the numpy route's numbers."""
    _needs_numba()
    rng = BatchRNG(0, range(3), "binomial")
    rng.uniform(7)  # the next draw starts mid-buffer: a strided, read-only view
    u = rng.uniform((20, 9))
    assert not u.flags.c_contiguous and not u.flags.writeable
    p = np.random.default_rng(1).uniform(0.0, 0.3, u.shape)
    n = np.array([31.0, 4.0, 12.0]).reshape(3, 1, 1)
    assert _same(binomial_icdf(u, n, p), _numpy(u, n, p))
    assert _same(binomial_icdf(u[:, :1], n, p), _numpy(u[:, :1], n, p))
    assert _same(binomial_icdf(np.float64(0.7), 31, np.float64(0.05)), _numpy(0.7, 31, 0.05))
    assert _same(binomial_icdf(np.empty((0, 3)), 31, np.empty((0, 3))),
                 _numpy(np.empty((0, 3)), 31, np.empty((0, 3))))


@pytest.mark.parametrize("n, p", [(2.5, 0.3), (-1.0, 0.3), (4.0, 1.5), (4.0, -0.1)])
def test_inputs_outside_the_documented_ranges_take_the_numpy_route(n, p):
    """A non-integer or negative n or a p outside [0, 1]: the kernel declines and numpy decides
    (the numbers are numpy's whatever they mean)."""
    _needs_numba()
    u = np.random.default_rng(5).random((2, 50))
    pp = np.full(u.shape, 0.2)
    pp[1, 7] = p
    nn = np.array([[4.0], [n]])
    kernel = _kernels.binomial_kernel()
    assert kernel is not None
    k = np.empty(u.shape)
    assert kernel(u, pp, nn, float(np.nanmax(nn)), k, np.empty(u.size, dtype=np.intp)) == -1
    if n >= 0:  # a negative n hangs numpy's binary exponentiation: not called
        assert _same(binomial_icdf(u, nn, pp), _numpy(u, nn, pp))


def test_control_one_ulp_of_the_cdf_decides_a_draw():
    """Negative control: uniforms placed exactly on the second CDF value F(1) (n = 3, numpy's order
    of operations) are counted 2 by both routes, while F(1) with the two factors of the recursion
    multiplied in the other order differs by an ulp for some of them (so would count 1): a kernel
    that reordered or fused the multiplications would fail the equality tests above."""
    _needs_numba()
    p = np.random.default_rng(6).uniform(0.0, 0.3, 100_000)
    q = 1.0 - p
    p0 = q * (q * q)  # (1 - p)^3 by binary exponentiation: q, then q^2
    ratio = p / q
    f1 = p0 + (p0 * ratio) * 3.0
    f1_other = p0 + p0 * (ratio * 3.0)
    assert np.count_nonzero(f1_other > f1) > 100
    for k in (binomial_icdf(f1, 3, p), _numpy(f1, 3, p)):
        assert np.all(k >= 2)


@pytest.mark.parametrize("n", [1, 3, 31, 4096, 4097])
def test_uniforms_on_the_edge_of_no_pulse(n):
    """Uniforms exactly at the computed P(0) (a hit: one pulse or more) and one ulp below it (no
    pulse), for probabilities from 1e-12 to 1/(2n): where the kernel's no-pulse shortcut
    (``u < 1 - n p - 1e-9``, :func:`sim._kernels._binomial_icdf_py`) and the full recursion
    meet, the routes still agree, and the draws are what the placement says."""
    _needs_numba()
    p = np.geomspace(1e-12, 0.5 / n, 4000)
    p0 = _int_power(1.0 - p, float(n), p.shape)
    for u, hit in ((p0, True), (np.nextafter(p0, 0.0), False)):
        k = binomial_icdf(u, n, p)
        assert _same(k, _numpy(u, n, p))
        assert np.all((k >= 1) == hit)


def test_pulse_counts_with_bl_management_unchanged():
    """The preset path (desired_bl = 31, BL management): the compiled and numpy routes draw the
    same counts, NaN increments included."""
    _needs_numba()
    dev = sim.PulsedSoftBounds(dw_min=1e-3, w_max=0.8, w_min=-0.8, desired_bl=31, dw_min_std=0.3)
    g = np.random.default_rng(7)
    inc = g.normal(0.0, 3e-3, (3, 40, 30))
    inc[1, 0, 0] = np.nan
    inc[2, 5, 5] = 0.5  # a request above BL: p = 1 there
    a = dev.pulse_counts(inc.copy(), BatchRNG(2, range(3), "pc"))
    with pytest.MonkeyPatch.context() as m:
        m.setattr(_kernels, "binomial_kernel", lambda: None)
        b = dev.pulse_counts(inc.copy(), BatchRNG(2, range(3), "pc"))
    assert _same(a, b) and np.all(np.isnan(a[1])) and a[2, 5, 5] == 31


def test_without_numba_the_numpy_route_runs():
    """numba unimportable (the [fast] extra not installed): no kernel, the same numbers."""
    code = ("import sys; sys.modules['numba'] = None\n"
            "import numpy as np\nfrom sim import _kernels\nfrom sim.pulsed import _int_power, binomial_icdf\n"
            "assert _kernels.binomial_kernel() is None\n"
            "g = np.random.default_rng(0)\n"
            "u = g.random((3, 500)); p = g.uniform(0, 0.2, u.shape); p[0, 0] = 1.0\n"
            "n = np.array([[31.0], [4.0], [12.0]])\n"
            "print(binomial_icdf(u, n, p).tobytes().hex())\n")
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    g = np.random.default_rng(0)
    u = g.random((3, 500))
    p = g.uniform(0, 0.2, u.shape)
    p[0, 0] = 1.0
    n = np.array([[31.0], [4.0], [12.0]])
    assert out.stdout.strip() == binomial_icdf(u, n, p).tobytes().hex()
