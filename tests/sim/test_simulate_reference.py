"""``sim.simulate`` against a straightforward loop (its code before the issue-15 speed-up).

The fast loop keeps preallocated buffers, checks finiteness on the loss only, keeps the running
maximum of |W| per element, halves the recorded loss and forms the cumulative sums at the end.
None of that may change a number: every recorded array must equal, bit for bit, the one of the
plain loop below, which evaluates every metric through :class:`sim.trajectory.Point` at every
iteration and adds the running sums as it goes.
"""

from __future__ import annotations

import numpy as np
import pytest

import sim
from sim._rng import BatchRNG
from sim.trajectory import MAXIMA, METRICS, Point, Trajectory


def plain_simulate(problem, algorithm, *, steps, seeds, seed=0, noise=None, record=("loss",),
                   record_every=1) -> Trajectory:
    """The simulation loop written plainly (no buffers, every metric every iteration)."""
    noise = sim.NoNoise() if noise is None else noise
    runs = np.arange(seeds) if np.ndim(seeds) == 0 else np.asarray(seeds)
    R, D = runs.size, problem.dim
    device = algorithm.device
    analog = bool(np.isfinite(np.asarray(device.tau)).all())
    state = algorithm.init(np.zeros((R, D)))
    noise_rng, algo_rng = BatchRNG(seed, runs, "gradient_noise"), BatchRNG(seed, runs, "algorithm")
    snaps = [*range(0, steps, record_every), steps]
    n = len(snaps)
    values = {m: np.empty((R, n)) for m in record}
    sums = {m: np.zeros((R, n)) for m in record}
    running = {m: np.zeros(R) for m in record}
    maxima = {m: np.zeros(R) for m in MAXIMA}
    first_saturated = np.full(R, -1)
    i = 0
    for k in range(steps + 1):
        x = algorithm.query(state)
        grad = problem.grad(x)
        W = algorithm.weights(state)
        grad_W = grad if W is x else problem.grad(W)
        loss = problem.loss_from_grad(W, grad_W)
        point = Point(W, grad_W, loss, device)
        current = {m: METRICS[m](point) for m in record}
        np.maximum(maxima["w_inf"], point.w_inf, out=maxima["w_inf"])
        if analog:
            np.maximum(maxima["sat"], point.sat, out=maxima["sat"])
            first_saturated[(first_saturated < 0) & (point.sat >= 1)] = k
        if not (np.isfinite(point.w_inf).all() and np.isfinite(loss).all()):
            bad = ~(np.isfinite(point.w_inf) & np.isfinite(loss))
            raise sim.Diverged("simulate", k, runs[bad].tolist(), np.flatnonzero(bad).tolist())
        if i < n and snaps[i] == k:
            for m in record:
                values[m][:, i] = current[m]
                sums[m][:, i] = running[m]
            i += 1
        if k == steps:
            break
        for m in record:
            running[m] += current[m]
        xi = noise.sample(noise_rng, D)
        state = algorithm.step(state, grad if xi is None else grad + xi, algo_rng)
    return Trajectory(steps=steps, k=np.asarray(snaps), values=values, sums=sums, maxima=maxima,
                      final_weights=np.array(algorithm.weights(state)),
                      first_saturated=first_saturated)


PROB = sim.paper_problem("exact_fig3")
TAU_ROWS = np.array([0.02, 0.05, 0.3, 1.0, 0.04, 2.0]).reshape(6, 1)
CASES = {
    "digital": (sim.DigitalSGD(0.03), sim.GaussianNoise(0.1)),
    "digital, per-run alpha": (sim.DigitalSGD(np.linspace(0.01, 0.06, 6)), sim.RademacherNoise(0.2)),
    "soft bounds": (sim.AnalogSGD(0.03, sim.SoftBounds(1.0)), sim.GaussianNoise(0.1)),
    "soft bounds, exact gradients": (sim.AnalogSGD(0.03, sim.SoftBounds(0.5)), None),
    # increments larger than tau: the update clips to the bound, sat = 1 exactly in some runs
    "soft bounds clipping, per-run tau": (sim.AnalogSGD(0.5, sim.SoftBounds(TAU_ROWS)),
                                          sim.GaussianNoise(1.0)),
    "power": (sim.AnalogSGD(0.2, sim.Power(0.05, 1.5)), sim.GaussianNoise(0.5)),
    "pulsed": (sim.AnalogSGD(0.03, sim.PulsedSoftBounds(dw_min=1 / 300, w_max=1.0, w_min=-1.0,
                                                        dw_min_std=0.3), mode="pulsed"),
               sim.GaussianNoise(0.1)),
    "tiki-taka": (sim.TikiTaka(0.03, 0.1, sim.SoftBounds(1.0), gamma=0.2), sim.GaussianNoise(0.1)),
}


@pytest.mark.parametrize("record_every", [1, 7])
@pytest.mark.parametrize("case", sorted(CASES))
def test_simulate_equals_plain_loop_bitwise(case, record_every):
    algo, noise = CASES[case]
    record = ("loss", "grad_norm2", "sat", "w_inf") if case != "power" else tuple(METRICS)
    kw = dict(steps=120, seeds=[4, 0, 9, 2, 7, 3], seed=5, noise=noise, record=record,
              record_every=record_every)
    fast = sim.simulate(PROB, algo, progress=False, **kw)
    ref = plain_simulate(PROB, algo, **kw)
    np.testing.assert_array_equal(fast.k, ref.k)
    for m in record:
        assert fast.values[m].tobytes() == ref.values[m].tobytes(), m
        assert fast.sums[m].tobytes() == ref.sums[m].tobytes(), m
    for m in MAXIMA:
        assert fast.maxima[m].tobytes() == ref.maxima[m].tobytes(), m
    assert fast.final_weights.tobytes() == ref.final_weights.tobytes()
    np.testing.assert_array_equal(fast.first_saturated, ref.first_saturated)
    if case.startswith("soft bounds clipping"):  # the case does exercise saturation
        assert (fast.first_saturated >= 0).any() and (fast.first_saturated < 0).any()


def test_simulate_diverges_where_the_plain_loop_does():
    algo = sim.DigitalSGD(np.array([0.01, 5.0, 0.02, 8.0]))  # rows 1 and 3 beyond 2 / L
    kw = dict(steps=3000, seeds=[3, 1, 8, 6], noise=sim.GaussianNoise(0.1), record=("loss",))
    with pytest.raises(sim.Diverged) as ref, np.errstate(over="ignore", invalid="ignore"):
        plain_simulate(PROB, algo, **kw)
    with pytest.raises(sim.Diverged) as fast:
        sim.simulate(PROB, algo, progress=False, **kw)
    assert fast.value.iteration == ref.value.iteration
    assert fast.value.runs == ref.value.runs and fast.value.rows == ref.value.rows
    assert ref.value.runs  # it did diverge
