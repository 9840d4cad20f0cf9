"""Layer core of sim.nets: shapes, exact backprop against finite differences, losses, contract."""

from __future__ import annotations

import numpy as np
import pytest

import sim
from sim import nets


def _rng(R: int, stream: str = "test", seed: int = 0) -> sim.BatchRNG:
    return sim.BatchRNG(seed, range(R), stream)


def _cnn(act=nets.Tanh):
    return [nets.Conv2d(2, 3, 3), act(), nets.MaxPool2d(2), nets.Conv2d(3, 4, 2), act(), nets.Flatten(),
            nets.Linear(4 * 3 * 3, 5), act(), nets.Linear(5, 3)]


def _fcn(act=nets.Sigmoid, bias=True):
    return [nets.Linear(6, 5, bias=bias), act(), nets.Linear(5, 4, bias=bias), act(),
            nets.Linear(4, 3, bias=bias)]


def _directions(params, R, seed=1):
    rng = _rng(R, "dir", seed)
    return [None if W is None else rng.normal(W.shape[1:]) for W in params]


@pytest.mark.parametrize("act", [nets.Sigmoid, nets.Tanh, nets.ReLU])
@pytest.mark.parametrize("loss", ["nll", "mse"])
def test_fcn_backprop_matches_finite_differences(act, loss):
    R, B = 3, 7
    net = _fcn(act)
    params = nets.init_params(net, _rng(R, "init"), scale=0.8)
    x = _rng(R, "x").normal((B, 6))
    target = (np.arange(R * B).reshape(R, B) % 3) if loss == "nll" else _rng(R, "t").normal((B, 3))
    a, n = nets.directional_gradient_check(net, params, x, target, _directions(params, R), loss)
    # central differences: error O(eps^2 f''') + O(u f / eps) ~ 1e-10 relative in float64
    np.testing.assert_allclose(a, n, rtol=1e-7, atol=1e-9)


def test_cnn_backprop_matches_finite_differences():
    R, B = 2, 3
    net = _cnn()
    params = nets.init_params(net, _rng(R, "init"), scale=0.6)
    x = _rng(R, "x").normal((B, 2, 10, 10))
    labels = np.arange(R * B).reshape(R, B) % 3
    a, n = nets.directional_gradient_check(net, params, x, labels, _directions(params, R))
    np.testing.assert_allclose(a, n, rtol=1e-7, atol=1e-9)


def test_single_coordinate_gradients_conv():
    """Every coordinate of a small conv tile's gradient against its own finite difference."""
    R, B = 1, 2
    net = [nets.Conv2d(1, 2, 2), nets.Flatten(), nets.Linear(2 * 3 * 3, 2)]
    params = nets.init_params(net, _rng(R, "init"))
    x = _rng(R, "x").normal((B, 1, 4, 4))
    labels = np.array([[0, 1]])
    _, grads = nets.loss_and_grads(net, params, x, labels)
    W = params[0]
    eps = 1e-6
    E = np.eye(W[0].size).reshape(-1, *W.shape[1:])  # one basis direction per coordinate, stacked as runs
    stacked = [np.repeat(p, len(E), axis=0) if p is not None else None for p in params]
    xs = np.repeat(x, len(E), axis=0)
    ls = np.repeat(labels, len(E), axis=0)
    lp, _ = nets.loss_and_grads(net, [stacked[0] + eps * E, None, stacked[2]], xs, ls)
    lm, _ = nets.loss_and_grads(net, [stacked[0] - eps * E, None, stacked[2]], xs, ls)
    np.testing.assert_allclose((lp - lm) / (2 * eps), grads[0].ravel(), rtol=1e-6, atol=1e-9)


def test_im2col_col2im_adjoint():
    rng = _rng(2, "adj")
    x = rng.normal((3, 2, 6, 5))
    c = im = nets.im2col(x, 3)
    y = rng.normal(c.shape[1:])
    lhs = np.sum(c * y)
    im = nets.col2im(y, 2, 6, 5, 3)
    np.testing.assert_allclose(lhs, np.sum(x * im), rtol=1e-12)


def test_conv_equals_direct_convolution():
    """im2col convolution equals the direct sum over kernel offsets (cross-correlation)."""
    R, B = 2, 3
    layer = nets.Conv2d(2, 3, 3)
    W = layer.init_params(_rng(R, "init"))
    x = _rng(R, "x").normal((B, 2, 5, 6))
    y, _ = layer.forward(W, x)
    K = W[..., :-1].reshape(R, 3, 2, 3, 3)
    ref = np.zeros((R, B, 3, 3, 4))
    for i in range(3):
        for j in range(3):
            ref += np.einsum("rbchw,roc->rbohw", x[:, :, :, i:i + 3, j:j + 4], K[:, :, :, i, j])
    ref += W[..., -1][:, None, :, None, None]
    np.testing.assert_allclose(y, ref, rtol=1e-12, atol=1e-12)


def test_maxpool_forward_backward():
    x = np.arange(16.0).reshape(1, 1, 1, 4, 4)
    pool = nets.MaxPool2d(2)
    y, cache = pool.forward(None, x)
    np.testing.assert_array_equal(y[0, 0, 0], [[5, 7], [13, 15]])
    dx, dW = pool.backward(None, cache, np.ones_like(y))
    assert dW is None
    assert dx.sum() == 4 and dx[0, 0, 0, 1, 1] == 1 and dx[0, 0, 0, 3, 3] == 1 and dx[0, 0, 0, 0, 0] == 0


def test_runs_are_independent_and_shapes_follow_contract():
    net = _fcn()
    p5 = nets.init_params(net, _rng(5, "init"))
    p1 = nets.init_params(net, sim.BatchRNG(0, [3], "init"))
    # run 3 of a batch of 5 equals run 3 alone (per-run streams), and runs differ from each other
    np.testing.assert_array_equal(p5[0][3], p1[0][0])
    assert not np.allclose(p5[0][0], p5[0][1])
    assert p5[0].shape == (5, 5, 7) and p5[1] is None
    x = _rng(5, "x").normal((4, 6))
    y, caches = nets.forward(net, p5, x)
    assert y.shape == (5, 4, 3) and len(caches) == len(net)
    dx, grads = nets.backward(net, p5, caches, np.ones_like(y))
    assert dx.shape == x.shape
    assert all((g is None) == (W is None) for g, W in zip(grads, p5, strict=True))
    assert all(g.shape == W.shape for g, W in zip(grads, p5, strict=True) if g is not None)


def test_nll_loss_value_and_gradient():
    y = np.array([[[2.0, 0.0, -1.0], [0.0, 0.0, 0.0]]])
    labels = np.array([[0, 2]])
    loss, dy = nets.nll_loss(y, labels)
    p = np.exp(y[0, 0]) / np.exp(y[0, 0]).sum()
    np.testing.assert_allclose(loss, [(-np.log(p[0]) + np.log(3)) / 2])
    np.testing.assert_allclose(dy.sum(axis=-1), 0, atol=1e-15)
    np.testing.assert_allclose(dy[0, 1], (np.full(3, 1 / 3) - [0, 0, 1]) / 2)


def test_validation_errors():
    with pytest.raises(ValueError, match="in_features"):
        nets.Linear(0, 3)
    with pytest.raises(ValueError, match="kernel_size"):
        nets.Conv2d(1, 2, 0)
    with pytest.raises(ValueError, match="shape"):
        nets.Linear(3, 2).forward(np.zeros((1, 2, 3)), np.zeros((1, 5, 3)))
    with pytest.raises(ValueError, match="labels"):
        nets.nll_loss(np.zeros((1, 2, 3)), np.array([[0, 3]]))
    with pytest.raises(ValueError, match="out_noise"):
        nets.IO(is_perfect=False, out_noise=-1.0)
    with pytest.raises(ValueError, match="loss"):
        nets.loss_and_grads([nets.Linear(2, 2)], [np.zeros((1, 2, 3))], np.zeros((1, 1, 2)),
                            np.zeros((1, 1), int), loss="hinge")


def test_nonideal_io_is_close_but_not_exact_and_deterministic():
    R, B = 2, 50
    layer = nets.Linear(20, 10, io=nets.AIHWKIT_IO)
    exact = nets.Linear(20, 10)
    W = exact.init_params(_rng(R, "init"))
    x = _rng(R, "x").normal((B, 20)) * 0.3
    y0, _ = exact.forward(W, x)
    y1, _ = layer.forward(W, x, _rng(R, "io"))
    y2, _ = layer.forward(W, x, _rng(R, "io"))
    np.testing.assert_array_equal(y1, y2)
    err = np.abs(y1 - y0)
    # output noise 0.06 times the abs-max scale (max |x_j| ~ 0.3 * 2.5): errors of order 0.05
    assert 0.005 < err.mean() < 0.2
    with pytest.raises(ValueError, match="rng"):
        layer.forward(W, x)


def test_nonideal_io_without_noise_or_quantization_is_exact():
    """Noise management (abs-max scaling) and the bounds alone change nothing when no value clips:
    the scaling is undone exactly, in the forward and in the backward product."""
    R, B = 2, 6
    io = nets.IO(is_perfect=False, out_noise=0.0, inp_bits=None, out_bits=None, out_bound=1e6)
    exact, managed = nets.Linear(7, 4), nets.Linear(7, 4, io=io)
    W = exact.init_params(_rng(R, "init"))
    x = 5.0 * _rng(R, "x").normal((B, 7))
    y0, c0 = exact.forward(W, x)
    y1, c1 = managed.forward(W, x)
    np.testing.assert_allclose(y1, y0, rtol=1e-12, atol=1e-12)
    dy = _rng(R, "dy").normal((B, 4))
    np.testing.assert_allclose(managed.backward(W, c1, dy)[0], exact.backward(W, c0, dy)[0], rtol=1e-12,
                               atol=1e-12)
    # a tight output bound clips: the product is no longer exact
    clipped = nets.Linear(7, 4, io=nets.IO(is_perfect=False, out_noise=0.0, inp_bits=None, out_bits=None,
                                           out_bound=0.05))
    assert not np.allclose(clipped.forward(W, x)[0], y0)
