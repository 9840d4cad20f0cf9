"""sim.nets.train(per_sample=True): a mini-batch written one update per sample (and per receptive
field in a convolution), as aihwkit writes it, in the mean-field model."""

from __future__ import annotations

import numpy as np
import pytest

import sim
from sim import nets
from sim.nets.network import backward, backward_abs, forward


@pytest.fixture(scope="module")
def digits():
    return nets.load_digits(seed=0)


def _fcn():
    return [nets.Linear(64, 16), nets.Sigmoid(), nets.Linear(16, 10)]


def test_conv_abs_grad_sums_every_receptive_field_of_every_sample():
    rng = np.random.default_rng(0)
    layer = nets.Conv2d(2, 3, 3)
    W = rng.normal(size=(1, 3, 2 * 9 + 1))
    x = rng.normal(size=(1, 2, 2, 5, 5))
    y, cache = layer.forward(W, x)
    dy = rng.normal(size=y.shape)
    got = layer.abs_grad(cache, dy)
    want = np.zeros_like(W)
    for b in range(2):
        for i in range(3):
            for j in range(3):
                patch = np.append(x[0, b, :, i:i + 3, j:j + 3].ravel(), 1.0)
                want[0] += np.abs(np.outer(dy[0, b, :, i, j], patch))
    np.testing.assert_allclose(got, want, rtol=1e-12)
    # the signed version is the ordinary gradient; magnitudes sum to at least its magnitude
    _, dW = layer.backward(W, cache, dy)
    assert np.all(got >= np.abs(dW) - 1e-12) and np.any(got > np.abs(dW) + 1e-6)


def test_backward_abs_matches_backward_and_linear_abs_grad(digits):
    net = _fcn()
    params = nets.init_params(net, sim.BatchRNG(0, range(2), "t"))
    x = digits.x_train[np.arange(8).reshape(2, 4)]
    y, caches = forward(net, params, x)
    dy = np.random.default_rng(1).normal(size=y.shape)
    dx, grads = backward(net, params, caches, dy)
    dx2, grads2, absg = backward_abs(net, params, caches, dy)
    np.testing.assert_array_equal(dx, dx2)
    for g, g2, a in zip(grads, grads2, absg, strict=True):
        if g is None:
            assert g2 is None and a is None
        else:
            np.testing.assert_array_equal(g, g2)
            assert np.all(a >= np.abs(g) - 1e-12)


def test_batch_of_one_is_the_summed_update(digits):
    # with one sample per mini-batch the per-sample write is the ordinary one (to rounding)
    small = digits._replace(x_train=digits.x_train[:60], y_train=digits.y_train[:60])
    kw = dict(lr=0.1, epochs=1, batch_size=1, runs=2, seed=3)
    mk = lambda lr: sim.AnalogSGD(lr, sim.SoftBounds(0.7))  # noqa: E731
    a = nets.train(_fcn(), small, mk, **kw)
    b = nets.train(_fcn(), small, mk, per_sample=True, **kw)
    for wa, wb in zip(a.weights, b.weights, strict=True):
        if wa is not None:
            np.testing.assert_allclose(wa, wb, rtol=1e-10, atol=1e-13)


def test_per_sample_drift_shrinks_analog_sgd_weights_and_leaves_digital_alone(digits):
    small = digits._replace(x_train=digits.x_train[:400], y_train=digits.y_train[:400])
    kw = dict(lr=0.1, epochs=2, batch_size=10, runs=2, seed=3)
    dig = lambda lr: sim.DigitalSGD(lr)  # noqa: E731
    a, b = (nets.train(_fcn(), small, dig, per_sample=p, **kw) for p in (False, True))
    for wa, wb in zip(a.weights, b.weights, strict=True):
        if wa is not None:
            np.testing.assert_array_equal(wa, wb)
    # soft bounds: the drift toward the symmetric point 0 acts on sum_n |g_n| >= |sum_n g_n|
    mk = lambda lr: sim.AnalogSGD(lr, sim.SoftBounds(0.3))  # noqa: E731
    a, b = (nets.train(_fcn(), small, mk, per_sample=p, **kw) for p in (False, True))
    assert np.abs(b.weights[0]).mean() < np.abs(a.weights[0]).mean()


def test_per_sample_needs_a_mean_field_analog_or_digital_optimizer(digits):
    kw = dict(lr=0.1, epochs=1, batch_size=10, runs=1, per_sample=True)
    pulsed = lambda lr: sim.AnalogSGD(lr, sim.PulsedSoftBounds(dw_min=1e-3), mode="pulsed")  # noqa: E731
    with pytest.raises(ValueError, match="per_sample=True needs mean-field"):
        nets.train(_fcn(), digits, pulsed, **kw)
    with pytest.raises(TypeError, match="per_sample must be a bool"):
        nets.train(_fcn(), digits, sim.DigitalSGD, **{**kw, "per_sample": 1})


def test_soft_bounds_update_split_is_the_generic_formula_and_keeps_float32():
    from sim.devices import Device

    d = sim.SoftBounds(0.7)
    rng = np.random.default_rng(0)
    w = rng.uniform(-0.6, 0.6, (3, 5, 4))
    inc = rng.normal(0, 1e-2, w.shape)
    a = np.abs(inc) + np.abs(rng.normal(0, 1e-2, w.shape))
    np.testing.assert_allclose(d.update_split(w, inc, a), Device.update_split(d, w, inc, a), rtol=0,
                               atol=1e-15)
    f32 = [x.astype(np.float32) for x in (w, inc, a)]
    assert d.update_split(*f32).dtype == np.float32


def test_per_sample_training_runs_in_float32(digits):
    small = digits._replace(x_train=digits.x_train[:100], y_train=digits.y_train[:100])
    res = nets.train(_fcn(), small, lambda lr: sim.TikiTaka(lr, 0.1, sim.SoftBounds(0.7)), lr=0.1,
                     epochs=1, batch_size=10, runs=1, per_sample=True, dtype="float32")
    assert all(w is None or w.dtype == np.float32 for w in res.weights)
