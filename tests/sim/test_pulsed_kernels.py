"""The three routes of the stochastically rounded pulse update give the dense formula's numbers.

``PulsedLinearStep.pulsed_update`` of a noiseless symmetric device has a compiled route (numba,
``sim._kernels``), a sparse numpy route (only the elements that may get a pulse) and the dense
closed form every other device uses. Tolerance: exact equality of every value (``==``, NaN equal
to NaN) from the same uniforms. The only bit allowed to differ is the sign of an exact zero weight
that receives no pulse (the dense formula adds ``+-0`` to it).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import sim
from sim import BatchRNG, _kernels


def _dense(dev: sim.PulsedSoftBounds, w: np.ndarray, inc: np.ndarray, seed: int) -> np.ndarray:
    """The dense route: pulse counts for every element, then the closed form on all of them."""
    rng = BatchRNG(seed, range(w.shape[0]), "kernels")
    with np.errstate(invalid="ignore"):  # inf increments: inf - inf in the fractional part
        n = dev.pulse_counts(np.array(inc), rng)
        bound = np.copysign(dev._t_up, inc + 0.0)
        return dev._closed_form(w, n, None, bound, rng)


def _route(dev, w, inc, seed, numba: bool) -> np.ndarray:
    with pytest.MonkeyPatch.context() as m, np.errstate(invalid="ignore"):
        if not numba:
            m.setattr(_kernels, "pulse_kernels", lambda: None)
        return dev.pulsed_update(w, inc, BatchRNG(seed, range(w.shape[0]), "kernels"))


@st.composite
def _cases(draw):
    R = draw(st.integers(1, 3))
    shape = (R, *draw(st.lists(st.integers(1, 40), min_size=1, max_size=2)))
    seed = draw(st.integers(0, 2**31 - 1))
    g = np.random.default_rng(seed)
    dw_min = draw(st.sampled_from([1e-4, 1e-3, 1e-2]))
    tau = draw(st.sampled_from([0.3, 0.7, 1.0]))
    # from almost no pulses (sparse) to several per element (dense); some weights off the bounds
    scale = dw_min * draw(st.sampled_from([0.01, 0.1, 1.0, 10.0]))
    w = g.uniform(-1.3 * tau, 1.3 * tau, shape)
    inc = g.normal(0.0, scale, shape)
    flat = inc.reshape(-1)
    for special in draw(st.lists(st.sampled_from([np.nan, np.inf, -np.inf, 0.0, -0.0]), max_size=4)):
        flat[g.integers(flat.size)] = special
    return sim.PulsedSoftBounds(dw_min=dw_min, w_max=tau, w_min=-tau), w, inc, seed


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=True))


@given(_cases())
def test_sparse_numpy_route_is_the_dense_formula(case):
    dev, w, inc, seed = case
    assert _same(_route(dev, w, inc, seed, numba=False), _dense(dev, w, inc, seed))


@given(_cases())
def test_compiled_route_is_the_dense_formula(case):
    if _kernels.pulse_kernels() is None:
        pytest.skip("numba not installed (or AIMC_VERIFY_NO_NUMBA set)")
    dev, w, inc, seed = case
    assert _same(_route(dev, w, inc, seed, numba=True), _dense(dev, w, inc, seed))


def test_routes_leave_inputs_alone_and_return_fresh_arrays():
    dev = sim.PulsedSoftBounds(dw_min=1e-3, w_max=0.7, w_min=-0.7)
    g = np.random.default_rng(1)
    w = g.uniform(-0.7, 0.7, (2, 30, 20))
    inc = g.normal(0, 1e-4, w.shape)
    w0, inc0 = w.copy(), inc.copy()
    for numba in (False, True):
        out = _route(dev, w, inc, 3, numba)
        assert out is not w and not np.shares_memory(out, w)
        assert np.array_equal(w, w0) and np.array_equal(inc, inc0)


def test_non_contiguous_weights():
    """A transposed (F-ordered) weight array gives the numbers of its C-ordered copy."""
    dev = sim.PulsedSoftBounds(dw_min=1e-3, w_max=0.7, w_min=-0.7)
    g = np.random.default_rng(2)
    w = np.asfortranarray(g.uniform(-0.7, 0.7, (2, 17, 9)))
    inc = g.normal(0, 3e-4, w.shape)
    for numba in (False, True):
        assert _same(_route(dev, w, inc, 5, numba), _dense(dev, np.ascontiguousarray(w), inc, 5))


def test_control_a_one_ulp_change_is_caught():
    """Negative control: the comparison sees a single last-bit difference (a route that rounded
    differently in one element would fail the tests above)."""
    dev = sim.PulsedSoftBounds(dw_min=1e-3, w_max=0.7, w_min=-0.7)
    g = np.random.default_rng(4)
    w = g.uniform(-0.7, 0.7, (1, 40))
    inc = g.normal(0, 3e-3, w.shape)
    ref = _dense(dev, w, inc, 9)
    moved = np.flatnonzero(ref != np.clip(w, -0.7, 0.7))
    assert moved.size > 0
    off = ref.copy()
    off.reshape(-1)[moved[0]] = np.nextafter(off.reshape(-1)[moved[0]], np.inf)
    assert not _same(off, ref)
    assert _same(_route(dev, w, inc, 9, numba=False), ref)


def test_without_numba_the_numpy_route_runs():
    """numba unimportable (the [fast] extra not installed): no kernels, the same numbers."""
    code = ("import sys; sys.modules['numba'] = None\n"
            "import numpy as np, sim\nfrom sim import _kernels, BatchRNG\n"
            "assert _kernels.pulse_kernels() is None\n"
            "d = sim.PulsedSoftBounds(dw_min=1e-3, w_max=0.7, w_min=-0.7)\n"
            "g = np.random.default_rng(0)\n"
            "w = g.uniform(-.7, .7, (2, 50)); inc = g.normal(0, 1e-4, w.shape)\n"
            "print(d.pulsed_update(w, inc, BatchRNG(1, range(2), 'kernels')).tobytes().hex())\n")
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    dev = sim.PulsedSoftBounds(dw_min=1e-3, w_max=0.7, w_min=-0.7)
    g = np.random.default_rng(0)
    w = g.uniform(-.7, .7, (2, 50))
    inc = g.normal(0, 1e-4, w.shape)
    assert out.stdout.strip() == _dense(dev, w, inc, 1).tobytes().hex()


# --- closed form with additive cycle-to-cycle noise (the paper presets: BL trains, dw_min_std) ---


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    """Bitwise equal (``tobytes``, so the sign of zeros counts) except inside NaN: NaN at the same
    places, whatever their sign bit and payload (IEEE 754 leaves them unspecified for arithmetic
    results, and numpy's SIMD loops and compiled code propagate them differently)."""
    nan = np.isnan(a)
    return (a.shape == b.shape and bool(np.array_equal(nan, np.isnan(b)))
            and a[~nan].tobytes() == b[~nan].tobytes())


def _noisy_route(dev, w, inc, seed, numba: bool) -> np.ndarray:
    with pytest.MonkeyPatch.context() as m, np.errstate(invalid="ignore"):
        if not numba:
            m.setattr(_kernels, "noisy_kernels", lambda: None)
        return dev.pulsed_update(w, inc, BatchRNG(seed, range(w.shape[0]), "noisy"))


def _noisy_dense(dev, w, inc, seed) -> np.ndarray:
    """The dense route the numpy code takes: pulse counts, then the closed form on every element
    with the bound and constants picked by ``d >= 0``."""
    rng = BatchRNG(seed, range(w.shape[0]), "noisy")
    with np.errstate(invalid="ignore"):
        n = dev.pulse_counts(np.array(inc), rng)
        return dev._closed_form(w, n, np.asarray(inc) >= 0, None, rng)


@st.composite
def _noisy_cases(draw):
    R = draw(st.integers(1, 3))
    shape = (R, *draw(st.lists(st.integers(1, 30), min_size=1, max_size=2)))
    seed = draw(st.integers(0, 2**31 - 1))
    g = np.random.default_rng(seed)
    dw_min = draw(st.sampled_from([1e-4, 1e-3, 1e-2]))
    tau = draw(st.sampled_from([0.3, 0.8, 1.0]))
    bl = draw(st.sampled_from([None, 1, 31]))
    # the paper preset (symmetric, no variation: scalar constants) or aihwkit's device-to-device
    # variation, asymmetric steps, linear-step slopes and a reference (per-element constants)
    varied = draw(st.booleans())
    extra = dict(dw_min_dtod=0.3, up_down_dtod=0.01, w_max_dtod=0.3, w_min_dtod=0.3,
                 shape=shape[1:], seed=draw(st.integers(0, 99)),
                 up_down=draw(st.sampled_from([0.0, 0.2, -0.1])),
                 subtract_symmetry_point=draw(st.booleans())) if varied else {}
    cls = sim.PulsedSoftBounds
    if varied and draw(st.booleans()):
        cls = sim.PulsedLinearStep
        extra.update(gamma_up=draw(st.sampled_from([0.5, 1.0])), gamma_down=0.8)
    dev = cls(dw_min=dw_min, w_max=tau, w_min=-tau, desired_bl=bl,
              dw_min_std=draw(st.sampled_from([0.05, 0.3, 1.0])), mult_noise=False,
              update_bl_management=draw(st.booleans()), **extra)
    scale = dw_min * draw(st.sampled_from([0.01, 0.1, 1.0, 10.0, 100.0]))
    w = g.uniform(-1.3 * tau, 1.3 * tau, shape)
    w.reshape(-1)[g.integers(w.size)] = draw(st.sampled_from([0.0, -0.0, tau, -tau]))
    inc = g.normal(0.0, scale, shape)
    flat = inc.reshape(-1)
    for special in draw(st.lists(st.sampled_from([np.nan, np.inf, -np.inf, 0.0, -0.0]),
                                 max_size=3)):
        flat[g.integers(flat.size)] = special
    return dev, w, inc, seed


@given(_noisy_cases())
def test_compiled_noisy_closed_form_is_the_numpy_route(case):
    """Bitwise equal (:func:`_same_bits`) to the numpy route of ``pulsed_update`` and to the dense
    closed form picking by ``d >= 0``, except for a symmetric device with stochastic rounding,
    whose numpy route takes the bound ``copysign(T_+, d + 0)``: it differs from
    ``where(d >= 0, ...)`` only at a NaN increment, whose result is NaN on both."""
    if _kernels.noisy_kernels() is None:
        pytest.skip("numba not installed (or AIMC_VERIFY_NO_NUMBA set)")
    dev, w, inc, seed = case
    got = _noisy_route(dev, w, inc, seed, numba=True)
    assert _same_bits(got, _noisy_route(dev, w, inc, seed, numba=False))
    if dev.desired_bl is not None or not dev._sym_bound:
        assert _same_bits(got, _noisy_dense(dev, w, inc, seed))


def test_noisy_route_non_contiguous_weights_and_inputs_untouched():
    """F-ordered weights give the numbers of their C-ordered copy; inputs are left alone and the
    result is a fresh array."""
    dev = sim.PulsedSoftBounds(dw_min=1e-3, w_max=0.8, w_min=-0.8, desired_bl=31, dw_min_std=0.3,
                               mult_noise=False)
    g = np.random.default_rng(8)
    w = np.asfortranarray(g.uniform(-0.8, 0.8, (2, 17, 9)))
    inc = g.normal(0, 2e-3, w.shape)
    w0, inc0 = w.copy(), inc.copy()
    for numba in (False, True):
        out = _noisy_route(dev, w, inc, 5, numba)
        assert _same_bits(out, _noisy_dense(dev, np.ascontiguousarray(w), inc, 5))
        assert out is not w and not np.shares_memory(out, w)
        assert np.array_equal(w, w0) and np.array_equal(inc, inc0)


def test_without_numba_the_noisy_numpy_route_runs():
    """numba unimportable: no noisy kernels, the numbers of the compiled route."""
    code = ("import sys; sys.modules['numba'] = None\n"
            "import numpy as np, sim\nfrom sim import _kernels, BatchRNG\n"
            "assert _kernels.noisy_kernels() is None\n"
            "d = sim.PulsedSoftBounds(dw_min=1e-3, w_max=0.8, w_min=-0.8, desired_bl=31,"
            " dw_min_std=0.3, mult_noise=False)\n"
            "g = np.random.default_rng(0)\n"
            "w = g.uniform(-.8, .8, (2, 50)); inc = g.normal(0, 2e-3, w.shape)\n"
            "print(d.pulsed_update(w, inc, BatchRNG(1, range(2), 'noisy')).tobytes().hex())\n")
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    dev = sim.PulsedSoftBounds(dw_min=1e-3, w_max=0.8, w_min=-0.8, desired_bl=31, dw_min_std=0.3,
                               mult_noise=False)
    g = np.random.default_rng(0)
    w = g.uniform(-.8, .8, (2, 50))
    inc = g.normal(0, 2e-3, w.shape)
    assert out.stdout.strip() == _noisy_route(dev, w, inc, 1, numba=True).tobytes().hex()


def test_dense_hint_keeps_the_numbers():
    """A device that saw mostly pulsed updates takes the dense route for the next calls of that
    shape (a speed hint); over a run that turns from dense to sparse and back, every call still
    equals the dense formula on the same stream."""
    dev = sim.PulsedSoftBounds(dw_min=1e-3, w_max=0.7, w_min=-0.7)
    g = np.random.default_rng(6)
    w = g.uniform(-0.7, 0.7, (2, 30, 20))
    rng_a, rng_b = BatchRNG(8, range(2), "kernels"), BatchRNG(8, range(2), "kernels")
    dense_calls = 0
    for step in range(100):
        scale = 1e-2 if (step // 40) % 2 == 0 else 1e-5  # dense, then sparse, then dense again
        inc = g.normal(0.0, scale, w.shape)
        hinted = dev.__dict__.get("_dense_hint") is not None
        dense_calls += hinted
        out = dev.pulsed_update(w, inc, rng_a)
        n = dev.pulse_counts(inc.copy(), rng_b)
        ref = dev._closed_form(w, n, None, np.copysign(dev._t_up, inc + 0.0), rng_b)
        assert _same(out, ref), step
        w = out
    assert dense_calls > 0  # the hint was used (else this test checks nothing new)
