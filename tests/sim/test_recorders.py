"""State-aware recorders (``sim.simulate(recorders=...)``) against plain loops, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

import sim
from sim import BatchRNG

PROB = sim.paper_problem("exact_fig3")
NOISE = sim.GaussianNoise(0.1)
K, RUNS = 80, [3, 0, 5, 1]


def _tt(gamma=0.0):
    return sim.TikiTaka(0.05, 0.1, sim.GeneralizedLinear(1.0, 0.1), device_w=sim.SoftBounds(1.0),
                        gamma=gamma)


def _plain(algo, k0):
    """The loop the Tiki-Taka claims used to write by hand (verify/claims/tt.py before issue 14)."""
    R, D = len(RUNS), PROB.dim
    state = algo.init(np.zeros((R, D)))
    noise_rng, algo_rng = BatchRNG(0, RUNS, "gradient_noise"), BatchRNG(0, RUNS, "algorithm")
    out = {n: np.zeros(R) for n in ("avg_bar", "floor", "loss", "p_max", "s_rl")}
    p_sum = np.zeros((R, D))
    for k in range(K):
        x, W = algo.query(state), algo.weights(state)
        gx = PROB.grad(x)
        gW = gx if x is W else PROB.grad(W)
        out["avg_bar"] += np.einsum("rd,rd->r", gx, gx)
        if k >= k0:
            out["floor"] += np.einsum("rd,rd->r", gW, gW)
            out["loss"] += PROB.loss_from_grad(W, gW)
            p_sum += state.P
        np.maximum(out["p_max"], np.abs(state.P).max(axis=1), out=out["p_max"])
        out["s_rl"] += (algo.device.G(state.P) ** 2 / algo.device.F(state.P)).max(axis=1)
        state = algo.step(state, gx + NOISE.sample(noise_rng, D), algo_rng)
    for n in ("avg_bar", "s_rl"):
        out[n] /= K
    for n in ("floor", "loss"):
        out[n] /= K - k0
    out["p_mean"] = p_sum / (K - k0)
    return out, state


def _recorders(algo, k0):
    return {"avg_bar": sim.Mean(sim.query_grad_norm2), "floor": sim.Mean("grad_norm2", start=k0),
            "loss": sim.Mean("loss", start=k0), "p_max": sim.Max(sim.p_inf),
            "s_rl": sim.Mean(sim.s_rl_terms(algo.device)), "p_mean": sim.Mean(sim.p_array, start=k0)}


@pytest.mark.parametrize("gamma", [0.0, 0.3])
@pytest.mark.parametrize("record", [(), ("loss", "grad_norm2")])
def test_tiki_taka_recorders_equal_the_plain_loop_bitwise(gamma, record):
    algo, k0 = _tt(gamma), K // 2
    ref, state = _plain(algo, k0)
    traj = sim.simulate(PROB, algo, steps=K, seeds=RUNS, noise=NOISE, record=record,
                        recorders=_recorders(algo, k0), progress=False)
    assert sorted(traj.recorded) == sorted(ref)
    for name, value in ref.items():
        assert traj.recorded[name].tobytes() == value.tobytes(), name
    assert traj.final_weights.tobytes() == state.W.tobytes()
    assert (traj.recorded["p_max"] > 0).all() and (traj.recorded["p_max"] <= 1).all()


def test_recorders_do_not_change_the_run():
    algo = _tt(0.3)
    kw = dict(steps=K, seeds=RUNS, noise=NOISE, record=("loss", "grad_norm2", "sat"), progress=False)
    bare = sim.simulate(PROB, algo, **kw)
    rec = sim.simulate(PROB, algo, recorders=_recorders(algo, 10), **kw)
    assert bare.final_weights.tobytes() == rec.final_weights.tobytes()
    for m in kw["record"]:
        assert bare.values[m].tobytes() == rec.values[m].tobytes()
        assert bare.sums[m].tobytes() == rec.sums[m].tobytes()
    assert bare.recorded == {}


@pytest.mark.parametrize("record", [("loss", "grad_norm2"), ("sat",)])
def test_mean_and_max_of_metrics_equal_the_trajectory(record):
    """Mean over 0 <= k < K is the trajectory's exact average; Max over 0..K its running maximum
    (the loss the recorders see is the halved one even when simulate halves its record at the end)."""
    traj = sim.simulate(PROB, sim.AnalogSGD(0.05, sim.SoftBounds(1.0)), steps=K, seeds=RUNS, noise=NOISE,
                        record=("loss", "grad_norm2"), progress=False,
                        recorders={"loss": sim.Mean("loss"), "g": sim.Mean("grad_norm2"),
                                   "w": sim.Max("w_inf", stop=K + 1), "last": sim.Mean("loss", K, K + 1)})
    assert traj.recorded["loss"].tobytes() == traj.average("loss").tobytes()
    assert traj.recorded["g"].tobytes() == traj.average("grad_norm2").tobytes()
    assert traj.recorded["w"].tobytes() == traj.maxima["w_inf"].tobytes()
    assert traj.recorded["last"].tobytes() == traj["loss"][:, -1].tobytes()


def test_max_ratio_is_the_worst_lyapunov_decrease():
    """Noiseless Analog GD: MaxRatio(V) against V computed pair by pair on the trajectory."""
    A = np.diag(np.linspace(1.0, 2.0, PROB.dim))
    algo = sim.AnalogSGD(0.5, sim.SoftBounds(1.0))
    w0 = np.linspace(-0.2, 0.2, 4 * PROB.dim).reshape(4, PROB.dim)
    traj = sim.simulate(PROB, algo, steps=30, seeds=4, w0=w0, record=(), progress=False,
                        recorders={"r": sim.MaxRatio(sim.quadratic_form(A, PROB.w_star))})
    state, V = algo.init(w0), []
    for _ in range(31):
        e = state.W - PROB.w_star
        V.append(np.einsum("ri,ij,rj->r", e, A, e))
        state = algo.step(state, PROB.grad(state.W), BatchRNG(0, range(4), "algorithm"))
    V = np.array(V)
    np.testing.assert_array_equal(traj.recorded["r"], (V[1:] / V[:-1]).max(axis=0))
    assert (traj.recorded["r"] < 1).all()  # gradient descent on a convex quadratic: V decreases


def test_a_recorder_restarts_with_every_simulate_call():
    mean = sim.Mean("grad_norm2")
    kw = dict(steps=K, seeds=RUNS, noise=NOISE, record=(), recorders={"m": mean}, progress=False)
    first = sim.simulate(PROB, sim.DigitalSGD(0.05), **kw).recorded["m"]
    again = sim.simulate(PROB, sim.DigitalSGD(0.05), **kw).recorded["m"]
    assert first.tobytes() == again.tobytes()


def test_a_custom_recorder_sees_the_state_before_its_step():
    class Steps:
        def start(self, runs, steps):
            self.ks = []

        def observe(self, k, state, point):
            self.ks.append((k, state.k))

        def result(self):
            return self.ks

    ks = sim.simulate(PROB, _tt(), steps=5, seeds=2, record=(), recorders={"s": Steps()},
                      progress=False).recorded["s"]
    assert ks == [(k, k) for k in range(6)]  # k = 0..K, TikiTakaState.k = P updates done so far
    assert isinstance(Steps(), sim.Recorder)


@pytest.mark.parametrize("recorder, match", [
    (sim.Mean("grad_norm2", start=K), "start must be in \\[0, stop\\) = \\[0, 80\\), got 80"),
    (sim.Max("grad_norm2", stop=K + 2), "stop must be in \\[1, K \\+ 1\\] = \\[1, 81\\].*got 82"),
])
def test_windows_are_checked_against_K_before_running(recorder, match):
    with pytest.raises(ValueError, match=match):
        sim.simulate(PROB, sim.DigitalSGD(0.05), steps=K, recorders={"r": recorder}, progress=False)


def test_bad_recorders_are_rejected_naming_the_argument():
    with pytest.raises(ValueError, match=r"quantity must be a metric name in .* got 'nope'"):
        sim.Mean("nope")
    with pytest.raises(TypeError, match=r"quantity must be a metric name .* got int"):
        sim.Max(3)
    with pytest.raises(ValueError, match="start must be a non-negative integer"):
        sim.Mean("loss", start=-1)
    with pytest.raises(ValueError, match="floor must be"):
        sim.MaxRatio("loss", floor=-1.0)
    with pytest.raises(TypeError, match="recorders\\['x'\\] must have start"):
        sim.simulate(PROB, sim.DigitalSGD(0.05), steps=3, recorders={"x": object()})
    with pytest.raises(TypeError, match="recorders must be a mapping"):
        sim.simulate(PROB, sim.DigitalSGD(0.05), steps=3, recorders=[sim.Mean("loss")])
    with pytest.raises(TypeError, match="needs an optimizer state with an auxiliary array P"):
        sim.simulate(PROB, sim.DigitalSGD(0.05), steps=3, recorders={"p": sim.Max(sim.p_inf)})
    with pytest.raises(RuntimeError, match="observed no iteration"):
        sim.Mean("loss").result()
