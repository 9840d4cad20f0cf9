r"""``sim.simulate`` at the cost of its arithmetic: the fig-3 problem against a plain numpy loop.

Problem ``sim.paper_problem("exact_fig3")`` (D = 40), R = 256 runs, K = 2500 iterations, Gaussian
gradient noise (std 0.1), recording the loss :math:`f(W_k) - f^*` at every step. The reference
loops below do the arithmetic of :func:`sim.simulate` and nothing else, with preallocated buffers:

* gradient :math:`\nabla f(W) = (W - W^*) H` (one 2-D product over the stacked runs) and loss
  :math:`\tfrac12 \langle W - W^*, \nabla f(W)\rangle`, recorded in an ``(R, K + 1)`` array;
* noise :math:`\xi = \sigma z`, :math:`z` drawn through the same :class:`sim.BatchRNG`
  (seed 0, runs ``0..R-1``, stream ``"gradient_noise"``);
* digital SGD :math:`W \leftarrow W - \alpha g`; mean-field Analog SGD on soft bounds
  :math:`W \leftarrow \mathrm{clip}(W + \Delta - |\Delta| W/\tau)` with :math:`\Delta = -\alpha g`
  (arXiv 2406.12774), in the operation order of :meth:`sim.SoftBounds.update`, so the reference
  loss equals ``simulate``'s bit for bit (``tests/test_benchmarks.py`` checks it).

Targets (issue 15): ``simulate`` / reference <= 1.15 for both optimizers, all timed interleaved in
one call (rows also report ``simulate`` recording ``grad_norm2`` and the default record
``("loss", "grad_norm2", "sat")``, without a target). The cost of the random numbers alone
(``K`` draws of ``(R, D)`` normals through the same ``BatchRNG``) is reported beside them as the
floor neither loop can go under.
"""

from __future__ import annotations

import numpy as np

import sim
from sim import BatchRNG

from ._common import Result, Target, best_times

ALPHA, TAU, STD = 0.03, 1.0, 0.1


def reference_loop(problem: sim.Quadratic, steps: int, runs: int, *, alpha: float = ALPHA,
                   tau: float | None = TAU, std: float = STD, seed: int = 0) -> np.ndarray:
    """Plain numpy loop of ``steps`` iterations for ``runs`` runs from ``W_0 = 0``.

    ``tau=None`` is digital SGD, else mean-field Analog SGD on ``SoftBounds(tau)``. Returns the
    loss at iterations ``0..steps``, shape ``(runs, steps + 1)``.
    """
    H, w_star = problem.H, problem.w_star
    R, D = runs, problem.dim
    rng = BatchRNG(seed, range(R), "gradient_noise")
    W, W_new = np.zeros((R, D)), np.empty((R, D))
    diff, grad, g = np.empty((R, D)), np.empty((R, D)), np.empty((R, D))
    loss = np.empty((R, steps + 1))
    for k in range(steps + 1):
        np.subtract(W, w_star, out=diff)
        np.matmul(diff, H, out=grad)
        np.einsum("...i,...i->...", diff, grad, out=loss[:, k])
        if k == steps:
            break
        np.multiply(rng.normal(D), std, out=g)
        g += grad
        g *= -alpha  # the increment
        if tau is None:
            W += g
        else:
            np.abs(g, out=W_new)
            W_new *= W
            W_new /= -tau
            W_new += W
            W_new += g
            np.clip(W_new, -tau, tau, out=W_new)
            W, W_new = W_new, W
    loss *= 0.5
    return loss


def rng_floor(problem: sim.Quadratic, steps: int, runs: int, seed: int = 0) -> None:
    """Draw the ``steps`` Gaussian noise samples of a run alone (the random-number cost)."""
    rng = BatchRNG(seed, range(runs), "gradient_noise")
    D = problem.dim
    for _ in range(steps):
        rng.normal(D)


def run(smoke: bool = False) -> list[Result]:
    R, K, reps = (16, 50, 1) if smoke else (256, 2500, 7)
    prob = sim.paper_problem("exact_fig3")
    noise = sim.GaussianNoise(STD)

    def sim_run(algo, record=("loss",)):
        return lambda: sim.simulate(prob, algo, steps=K, seeds=R, noise=noise, record=record,
                                    progress=False)

    fns = {
        "digital SGD: simulate": sim_run(sim.DigitalSGD(ALPHA)),
        "digital SGD: reference loop": lambda: reference_loop(prob, K, R, tau=None),
        "Analog SGD mean-field: simulate": sim_run(sim.AnalogSGD(ALPHA, sim.SoftBounds(TAU))),
        "Analog SGD mean-field: reference loop": lambda: reference_loop(prob, K, R, tau=TAU),
        "Analog SGD mean-field: simulate, loss + grad_norm2": sim_run(
            sim.AnalogSGD(ALPHA, sim.SoftBounds(TAU)), ("loss", "grad_norm2")),
        "Analog SGD mean-field: simulate, default record": sim_run(
            sim.AnalogSGD(ALPHA, sim.SoftBounds(TAU)), ("loss", "grad_norm2", "sat")),
        "Gaussian noise alone (BatchRNG)": lambda: rng_floor(prob, K, R),
    }
    t = best_times(fns, reps)
    res = Result(f"simulate vs a plain numpy loop, fig-3 problem, D=40, R={R}, K={K}, recording the"
                 f" loss (best of {reps})")
    for k in fns:
        res.rows.append((f"{k}: per run-iteration", t[k] / (R * K) * 1e6, "us"))
    r_dig = t["digital SGD: simulate"] / t["digital SGD: reference loop"]
    r_ana = t["Analog SGD mean-field: simulate"] / t["Analog SGD mean-field: reference loop"]
    r_gn = t["Analog SGD mean-field: simulate, loss + grad_norm2"] / t[
        "Analog SGD mean-field: reference loop"]
    r_def = t["Analog SGD mean-field: simulate, default record"] / t[
        "Analog SGD mean-field: reference loop"]
    floor = t["Gaussian noise alone (BatchRNG)"]
    res.rows += [("digital simulate / reference", r_dig, "x"),
                 ("analog simulate / reference", r_ana, "x"),
                 ("analog simulate (+grad_norm2) / reference", r_gn, "x"),
                 ("analog simulate (loss, grad_norm2, sat) / reference", r_def, "x"),
                 ("noise alone / analog reference (floor)", floor / t[
                     "Analog SGD mean-field: reference loop"], "x"),
                 ("noise alone / digital reference (floor)", floor / t[
                     "digital SGD: reference loop"], "x")]
    res.targets = [Target("digital simulate / reference", r_dig, 1.15, "x"),
                   Target("analog simulate / reference", r_ana, 1.15, "x")]
    return [res]
