"""Careless and hostile inputs to the public ``sim`` API (issue 11, section "API").

Every attempt is one parametrized case (id = short description). The contract: a bad argument is
rejected at the boundary with ``ValueError`` (``TypeError`` for an object of the wrong kind) whose
message names the parameter; a diverging run raises :class:`sim.Diverged`; nothing hangs, nothing
ends in a raw numpy error, no non-finite number flows silently into a result. The cases that
already behaved on main are kept here as regression tests (marked ``# already`` below).

``CASES`` is importable on its own (thunks resolve ``sim`` lazily), so the before/after table of
the issue's closing note can be produced by running the same thunks against another checkout.
"""

from __future__ import annotations

import numpy as np
import pytest

import sim
from sim import nets
from sim.pipeline import SeparableQuadratic, build_schedule, train_pipeline

D = 40  # dimension of the paper problem "exact_fig3"


def _prob():
    return sim.paper_problem("exact_fig3")


def _simulate(opt=None, **kw):
    kw.setdefault("steps", 3)
    kw.setdefault("progress", False)
    return sim.simulate(kw.pop("problem", _prob()), sim.DigitalSGD(0.1) if opt is None else opt, **kw)


def _data():
    return nets.teacher_student(n_train=24, n_test=8, n_features=4, hidden=4, n_classes=2)


def _train(**kw):
    args = dict(lr=0.1, epochs=1, batch_size=8, runs=2)
    args.update(kw)
    net = args.pop("net", [nets.Linear(4, 2)])
    make = args.pop("make_optimizer", sim.DigitalSGD)
    return nets.train(net, _data(), make, **args)


def _pipeline(alpha=0.1, K=3, runs=2, w0_runs=None, **kw):
    layers = [SeparableQuadratic(1.0, np.zeros(1)) for _ in range(2)]
    sched = kw.pop("schedule", build_schedule("sync", 2, 1, K))
    R0 = runs if w0_runs is None else w0_runs
    return train_pipeline(layers, [1, 2], [np.ones((R0, 1))] * 2, [sim.DigitalSGD(alpha)] * 2, sched,
                          lambda rng, j: (np.zeros((runs, 1, 1)), None), lambda out, y: np.zeros_like(out),
                          seeds=kw.pop("seeds", runs), progress=False, **kw)


def _pulse(dev, increment):
    return dev.pulsed_update(np.zeros((1, 2)), np.full((1, 2), increment), sim.BatchRNG(0, [0], "t"))


# (id, expected exception name, regex the message must contain (names the parameter), thunk)
CASES = [
    # --- devices ------------------------------------------------------------------------------
    ("SoftBounds tau='1'", "ValueError", "tau", lambda: sim.SoftBounds(tau="1")),
    ("SoftBounds tau=True", "ValueError", "tau", lambda: sim.SoftBounds(tau=True)),
    ("SoftBounds tau=nan", "ValueError", "tau", lambda: sim.SoftBounds(np.nan)),  # already
    ("SoftBounds tau=inf", "ValueError", "tau", lambda: sim.SoftBounds(np.inf)),  # already
    ("SoftBounds tau=0", "ValueError", "tau", lambda: sim.SoftBounds(0.0)),  # already
    ("SoftBounds tau=-1", "ValueError", "tau", lambda: sim.SoftBounds(-1.0)),  # already
    ("SoftBounds tau=[]", "ValueError", "tau", lambda: sim.SoftBounds([])),
    ("SoftBounds tau=None", "ValueError", "tau", lambda: sim.SoftBounds(None)),
    ("SoftBounds tau=1+1j", "ValueError", "tau", lambda: sim.SoftBounds(1 + 1j)),
    ("SoftBounds tau ragged list", "ValueError", "tau", lambda: sim.SoftBounds([[1.0], [1.0, 2.0]])),
    ("SoftBounds tau (3,1) with R=4", "ValueError", r"tau of shape \(3, 1\)",
     lambda: _simulate(sim.AnalogSGD(0.1, sim.SoftBounds(np.ones((3, 1)))), seeds=4)),
    ("SoftBounds tau (5,) with D=40", "ValueError", r"tau of shape \(5,\)",
     lambda: _simulate(sim.AnalogSGD(0.1, sim.SoftBounds(np.ones(5))), seeds=2)),
    ("GeneralizedLinear c='0.5'", "ValueError", "c ", lambda: sim.GeneralizedLinear(1.0, "0.5")),
    ("GeneralizedLinear c=nan", "ValueError", "c ", lambda: sim.GeneralizedLinear(1.0, np.nan)),  # already
    ("GeneralizedLinear tau (2,1) vs c (3,1)", "ValueError", "tau",
     lambda: sim.GeneralizedLinear(np.ones((2, 1)), np.zeros((3, 1)))),
    ("Power gamma_res='2'", "ValueError", "gamma_res", lambda: sim.Power(1.0, "2")),
    ("Exponential gamma_res=inf", "ValueError", "gamma_res", lambda: sim.Exponential(1.0, np.inf)),
    # --- pulse-level devices ----------------------------------------------------------------------
    ("PulsedSoftBounds dw_min='1e-3'", "ValueError", "dw_min", lambda: sim.PulsedSoftBounds(dw_min="1e-3")),
    ("PulsedSoftBounds dw_min=True", "ValueError", "dw_min", lambda: sim.PulsedSoftBounds(dw_min=True)),
    ("PulsedSoftBounds dw_min=nan", "ValueError", "dw_min",
     lambda: sim.PulsedSoftBounds(dw_min=np.nan)),  # already
    ("PulsedSoftBounds desired_bl=2.5", "ValueError", "desired_bl",
     lambda: sim.PulsedSoftBounds(desired_bl=2.5)),  # already
    ("PulsedSoftBounds desired_bl=True", "ValueError", "desired_bl",
     lambda: sim.PulsedSoftBounds(desired_bl=True)),
    ("PulsedSoftBounds seed=1.7", "ValueError", "seed", lambda: sim.PulsedSoftBounds(seed=1.7)),
    ("PulsedSoftBounds shape=(2.5,)", "ValueError", "shape",
     lambda: sim.PulsedSoftBounds(dw_min_dtod=0.1, shape=(2.5,))),
    ("PulsedSoftBounds up_down=1", "ValueError", "up_down",
     lambda: sim.PulsedSoftBounds(up_down=1.0)),  # already
    ("PulsedPowStep max_pulses=0", "ValueError", "max_pulses", lambda: sim.PulsedPowStep(max_pulses=0)),
    ("PulsedPowStep ~2e5 pulses in one update", "ValueError", "max_pulses",
     lambda: _simulate(sim.AnalogSGD(1e3, sim.PulsedPowStep(dw_min=1e-3), mode="pulsed"), steps=1)),
    ("PulsedExpStep infinite increment", "ValueError", "max_pulses",
     lambda: _pulse(sim.PulsedExpStep(dw_min=1e-3), np.inf)),
    # --- gradient noise ---------------------------------------------------------------------------
    ("GaussianNoise std='0.1'", "ValueError", "std", lambda: sim.GaussianNoise("0.1")),
    ("GaussianNoise std=True", "ValueError", "std", lambda: sim.GaussianNoise(True)),
    ("GaussianNoise std=-1", "ValueError", "std", lambda: sim.GaussianNoise(-1.0)),  # already
    ("GaussianNoise std 2-D", "ValueError", "std", lambda: sim.GaussianNoise(np.ones((2, 2)))),  # already
    ("GaussianNoise std of length D+3", "ValueError", "std",
     lambda: _simulate(noise=sim.GaussianNoise(0.1 * np.ones(D + 3)))),
    ("GaussianNoise.from_sigma sigma=nan", "ValueError", "sigma",
     lambda: sim.GaussianNoise.from_sigma(np.nan, 4)),
    ("GaussianNoise.from_sigma sigma='1'", "ValueError", "sigma",
     lambda: sim.GaussianNoise.from_sigma("1", 4)),
    ("GaussianNoise.from_sigma dim=2.5", "ValueError", "dim", lambda: sim.GaussianNoise.from_sigma(1.0, 2.5)),
    ("RademacherNoise scale=True", "ValueError", "scale", lambda: sim.RademacherNoise(True)),
    ("RademacherNoise scale of length D+1", "ValueError", "scale",
     lambda: _simulate(noise=sim.RademacherNoise(np.ones(D + 1)))),
    ("simulate noise='gaussian'", "TypeError", "noise", lambda: _simulate(noise="gaussian")),
    # --- problems ---------------------------------------------------------------------------------
    ("scalar_quadratic L=nan", "ValueError", "L ", lambda: sim.scalar_quadratic(L=np.nan)),
    ("scalar_quadratic L='1'", "ValueError", "L ", lambda: sim.scalar_quadratic(L="1")),
    ("scalar_quadratic L=inf", "ValueError", "L ", lambda: sim.scalar_quadratic(L=np.inf)),
    ("scalar_quadratic L=0", "ValueError", "L ", lambda: sim.scalar_quadratic(L=0.0)),  # already
    ("scalar_quadratic w_star=nan", "ValueError", "w_star", lambda: sim.scalar_quadratic(1.0, np.nan)),
    ("Quadratic NaN in H", "ValueError", "H must have finite entries",
     lambda: sim.quadratic(np.array([[1.0, np.nan], [np.nan, 1.0]]), np.zeros(2))),
    ("Quadratic H not symmetric", "ValueError", "H must be symmetric",
     lambda: sim.quadratic(np.array([[1.0, 0.5], [0.0, 1.0]]), np.zeros(2))),  # already
    ("Quadratic H not PSD", "ValueError", "semi-definite",
     lambda: sim.quadratic(-np.eye(2), np.zeros(2))),  # already
    ("Quadratic w_star=nan", "ValueError", "w_star",
     lambda: sim.quadratic(np.eye(2), np.array([0.0, np.nan]))),
    ("Quadratic H of strings", "ValueError", "H",
     lambda: sim.quadratic([["1", "0"], ["0", "1"]], np.zeros(2))),
    ("diagonal_quadratic 2-D eigenvalues", "ValueError", "eigenvalues",
     lambda: sim.diagonal_quadratic(np.ones((3, 3)), 0.0)),
    ("diagonal_quadratic w_star shape", "ValueError", "w_star",
     lambda: sim.diagonal_quadratic(np.ones(3), np.zeros(2))),
    ("least_squares NaN in A", "ValueError", "A ",
     lambda: sim.least_squares(np.full((3, 2), np.nan), np.ones(3))),
    ("random_least_squares D=2.5", "ValueError", "D ", lambda: sim.random_least_squares(D=2.5)),
    ("random_least_squares D='3'", "ValueError", "D ", lambda: sim.random_least_squares(D="3")),
    ("random_least_squares N=0", "ValueError", "N ", lambda: sim.random_least_squares(N=0)),  # already
    ("random_least_squares a_scale=nan", "ValueError", "a_scale",
     lambda: sim.random_least_squares(a_scale=np.nan)),
    ("random_least_squares seed=1.7", "ValueError", "seed", lambda: sim.random_least_squares(seed=1.7)),
    ("paper_problem unknown name", "ValueError", "exact_fig3",
     lambda: sim.paper_problem("nosuch")),  # already
    ("paper_problem name as list", "ValueError", "name", lambda: sim.paper_problem(["exact_fig3"])),
    ("paper_problem seed=-1", "ValueError", "seed", lambda: sim.paper_problem("exact_fig3", seed=-1)),
    # --- optimizers -------------------------------------------------------------------------------
    ("DigitalSGD alpha='0.1'", "ValueError", "alpha", lambda: sim.DigitalSGD("0.1")),
    ("DigitalSGD alpha=True", "ValueError", "alpha", lambda: sim.DigitalSGD(True)),
    ("DigitalSGD alpha=nan", "ValueError", "alpha", lambda: sim.DigitalSGD(np.nan)),  # already
    ("DigitalSGD alpha=0", "ValueError", "alpha", lambda: sim.DigitalSGD(0.0)),  # already
    ("DigitalSGD alpha=-inf", "ValueError", "alpha", lambda: sim.DigitalSGD(-np.inf)),  # already
    ("DigitalSGD alpha of 3 values, R=4", "ValueError", "alpha",
     lambda: _simulate(sim.DigitalSGD(np.full(3, 0.1)), seeds=4)),  # already (at the first step)
    ("AnalogSGD device='soft_bounds'", "TypeError", "device",
     lambda: sim.AnalogSGD(0.1, "soft_bounds")),  # already
    ("AnalogSGD mode='pulse'", "ValueError", "mode",
     lambda: sim.AnalogSGD(0.1, sim.SoftBounds(1), mode="pulse")),  # already
    ("AnalogSGD pulsed on a mean-field device", "ValueError", "mode",
     lambda: sim.AnalogSGD(0.1, sim.SoftBounds(1.0), mode="pulsed")),  # already (at the first step)
    ("TikiTaka beta='0.1'", "ValueError", "beta", lambda: sim.TikiTaka(0.1, "0.1", sim.SoftBounds(1.0))),
    ("TikiTaka transfer_every=2.5", "ValueError", "transfer_every",
     lambda: sim.TikiTaka(0.1, 0.1, sim.SoftBounds(1.0), transfer_every=2.5)),  # already
    ("TikiTaka transfer_every=nan", "ValueError", "transfer_every",
     lambda: sim.TikiTaka(0.1, 0.1, sim.SoftBounds(1.0), transfer_every=np.nan)),
    ("TikiTaka transfer_every=True", "ValueError", "transfer_every",
     lambda: sim.TikiTaka(0.1, 0.1, sim.SoftBounds(1.0), transfer_every=True)),
    ("TikiTaka columns_per_transfer=inf", "ValueError", "columns_per_transfer",
     lambda: sim.TikiTaka(0.1, 0.1, sim.SoftBounds(1.0), columns_per_transfer=np.inf)),
    ("TikiTaka columns_per_transfer=0", "ValueError", "columns_per_transfer",
     lambda: sim.TikiTaka(0.1, 0.1, sim.SoftBounds(1.0), columns_per_transfer=0)),  # already
    ("TikiTaka columns_per_transfer > D", "ValueError", "columns_per_transfer",
     lambda: _simulate(sim.TikiTaka(0.1, 0.1, sim.SoftBounds(1.0), columns_per_transfer=D + 1))),  # already
    ("TikiTaka gamma=-1", "ValueError", "gamma",
     lambda: sim.TikiTaka(0.1, 0.1, sim.SoftBounds(1.0), gamma=-1.0)),  # already
    ("TikiTaka gamma of 2 values, R=4", "ValueError", "gamma",
     lambda: _simulate(sim.TikiTaka(0.1, 0.1, sim.SoftBounds(1.0), gamma=np.full(2, 0.1)), seeds=4)),
    ("ResidualLearningV2 dw_min='1'", "ValueError", "dw_min",
     lambda: sim.ResidualLearningV2(0.5, 0.1, sim.SoftBounds(1.0), dw_min="1")),
    ("ResidualLearningV2 alpha=2", "ValueError", "alpha",
     lambda: sim.ResidualLearningV2(2.0, 0.1, sim.SoftBounds(1.0), dw_min=0.01)),  # already
    # --- simulate ---------------------------------------------------------------------------------
    ("simulate steps=2.5", "ValueError", "steps", lambda: _simulate(steps=2.5)),  # already
    ("simulate steps=0", "ValueError", "steps", lambda: _simulate(steps=0)),  # already
    ("simulate steps='10'", "ValueError", "steps", lambda: _simulate(steps="10")),  # already
    ("simulate steps=True", "ValueError", "steps", lambda: _simulate(steps=True)),
    ("simulate steps=nan", "ValueError", "steps", lambda: _simulate(steps=np.nan)),
    ("simulate steps=inf", "ValueError", "steps", lambda: _simulate(steps=np.inf)),
    ("simulate seeds=0", "ValueError", "seeds", lambda: _simulate(seeds=0)),  # already
    ("simulate seeds=True", "ValueError", "seeds", lambda: _simulate(seeds=True)),
    ("simulate seeds=nan", "ValueError", "seeds", lambda: _simulate(seeds=np.nan)),
    ("simulate seeds=[-1]", "ValueError", "seeds", lambda: _simulate(seeds=[-1])),
    ("simulate seeds=[0.5]", "ValueError", "seeds", lambda: _simulate(seeds=[0.5])),  # already
    ("simulate seed=1.7", "ValueError", "seed", lambda: _simulate(seed=1.7)),
    ("simulate seed='3'", "ValueError", "seed", lambda: _simulate(seed="3")),
    ("simulate seed=-1", "ValueError", "seed", lambda: _simulate(seed=-1)),  # already
    ("simulate record=['nope']", "ValueError", "record", lambda: _simulate(record=["nope"])),  # already
    ("simulate record_every=nan", "ValueError", "record_every", lambda: _simulate(record_every=np.nan)),
    ("simulate record_every=0", "ValueError", "record_every", lambda: _simulate(record_every=0)),  # already
    ("simulate average_from=2.5", "ValueError", "average_from", lambda: _simulate(average_from=2.5)),
    ("simulate average_from=steps", "ValueError", "average_from",
     lambda: _simulate(average_from=3)),  # already
    ("simulate steps=1e12 recorded every step", "ValueError", "record_every",
     lambda: _simulate(steps=1e12)),
    ("simulate steps=10**400", "ValueError", "record_every", lambda: _simulate(steps=10**400)),
    ("SoftBounds tau=10**400", "ValueError", "tau", lambda: sim.SoftBounds(10**400)),
    ("DigitalSGD alpha=-10**400", "ValueError", "alpha", lambda: sim.DigitalSGD(-(10**400))),
    ("simulate w0='0.5'", "ValueError", "w0", lambda: _simulate(w0="0.5")),
    ("simulate w0=nan", "ValueError", "W0", lambda: _simulate(w0=np.nan)),  # already
    ("simulate w0 of shape (3,)", "ValueError", "W0", lambda: _simulate(w0=np.zeros(3))),  # already
    ("simulate w0 outside tau", "ValueError", "W0",
     lambda: _simulate(sim.AnalogSGD(0.1, sim.SoftBounds(0.5)), w0=0.6)),  # already
    ("simulate problem=None", "TypeError", "problem", lambda: _simulate(problem=None)),
    ("simulate algorithm=None", "TypeError", "algorithm", lambda: sim.simulate(_prob(), None, steps=3)),
    ("simulate divergence", "Diverged", "simulate diverged",
     lambda: _simulate(sim.DigitalSGD(100.0), steps=400, seeds=2)),
    # --- networks ---------------------------------------------------------------------------------
    ("nets.train lr='0.1'", "ValueError", "lr", lambda: _train(lr="0.1")),
    ("nets.train lr=nan", "ValueError", "lr", lambda: _train(lr=np.nan)),  # already
    ("nets.train lr of 3 values, runs=2", "ValueError", "lr", lambda: _train(lr=np.full(3, 0.1))),  # already
    ("nets.train epochs=0", "ValueError", "epochs", lambda: _train(epochs=0)),  # already
    ("nets.train epochs=True", "ValueError", "epochs", lambda: _train(epochs=True)),
    ("nets.train epochs=nan", "ValueError", "epochs", lambda: _train(epochs=np.nan)),
    ("nets.train batch_size=0", "ValueError", "batch_size", lambda: _train(batch_size=0)),  # already
    ("nets.train batch_size=2.5", "ValueError", "batch_size", lambda: _train(batch_size=2.5)),  # already
    ("nets.train runs=True", "ValueError", "runs", lambda: _train(runs=True)),
    ("nets.train runs=[1.5]", "ValueError", "runs", lambda: _train(runs=[1.5])),
    ("nets.train runs=[]", "ValueError", "runs", lambda: _train(runs=[])),  # already
    ("nets.train seed=1.7", "ValueError", "seed", lambda: _train(seed=1.7)),
    ("nets.train eval_batch=0", "ValueError", "eval_batch", lambda: _train(eval_batch=0)),
    ("nets.train loss='l1'", "ValueError", "loss", lambda: _train(loss="l1")),  # already
    ("nets.train make_optimizer='sgd'", "TypeError", "make_optimizer", lambda: _train(make_optimizer="sgd")),
    ("nets.train net=[]", "ValueError", "net", lambda: _train(net=[])),
    ("nets.train schedule=0.1", "TypeError", "schedule", lambda: _train(schedule=0.1)),
    ("nets.train divergence", "Diverged", "nets.train diverged",
     lambda: _train(lr=1e3, epochs=50, loss="mse", net=[nets.Linear(4, 2)])),
    ("StepLR gamma='0.5'", "ValueError", "gamma", lambda: nets.StepLR(2, "0.5")),
    ("StepLR gamma=0", "ValueError", "gamma", lambda: nets.StepLR(2, 0.0)),  # already
    ("StepLR step_size=True", "ValueError", "step_size", lambda: nets.StepLR(True)),
    ("Linear in_features=True", "ValueError", "in_features", lambda: nets.Linear(True, 3)),
    ("Linear in_features=nan", "ValueError", "in_features", lambda: nets.Linear(np.nan, 3)),
    ("Linear out_features=2.5", "ValueError", "out_features", lambda: nets.Linear(3, 2.5)),  # already
    ("Linear io='perfect'", "TypeError", "io", lambda: nets.Linear(3, 2, io="perfect")),
    ("Conv2d kernel_size=0", "ValueError", "kernel_size", lambda: nets.Conv2d(1, 2, 0)),  # already
    ("MaxPool2d kernel_size=2.5", "ValueError", "kernel_size", lambda: nets.MaxPool2d(2.5)),  # already
    ("nets.accuracy batch=0", "ValueError", "batch",
     lambda: nets.accuracy([nets.Linear(4, 2)], [np.zeros((1, 2, 5))], np.zeros((3, 4)),
                           np.zeros(3, int), batch=0)),
    ("nets.init_params scale=nan", "ValueError", "scale",
     lambda: nets.init_params([nets.Linear(4, 2)], sim.BatchRNG(0, [0], "t"), scale=np.nan)),
    ("nets.load_digits test_fraction='0.2'", "ValueError", "test_fraction",
     lambda: nets.load_digits(test_fraction="0.2")),
    ("nets.load_digits seed=1.7", "ValueError", "seed", lambda: nets.load_digits(seed=1.7)),
    ("nets.load_digits layout='img'", "ValueError", "layout",
     lambda: nets.load_digits(layout="img")),  # already
    ("nets.teacher_student n_train=True", "ValueError", "n_train",
     lambda: nets.teacher_student(n_train=True)),
    ("nets.teacher_student n_train=nan", "ValueError", "n_train",
     lambda: nets.teacher_student(n_train=np.nan)),
    ("nets.IO out_noise='0.1'", "ValueError", "out_noise", lambda: nets.IO(out_noise="0.1")),
    ("nets.IO inp_bits=nan", "ValueError", "inp_bits", lambda: nets.IO(inp_bits=np.nan)),
    ("nets.fcn sizes=[4, 0]", "ValueError", "out_features", lambda: nets.fcn([4, 0])),  # already
    # --- pipelines --------------------------------------------------------------------------------
    ("build_schedule stages=0", "ValueError", "stages", lambda: build_schedule("sync", 0, 2)),  # already
    ("build_schedule stages=nan", "ValueError", "stages", lambda: build_schedule("sync", np.nan, 2)),
    ("build_schedule stages=True", "ValueError", "stages",
     lambda: build_schedule("sync", True, 2)),  # already
    ("build_schedule micro_batches=2.5", "ValueError", "micro_batches",
     lambda: build_schedule("async", 2, 2.5)),  # already
    ("build_schedule mini_batches=inf", "ValueError", "mini_batches",
     lambda: build_schedule("sync", 2, 2, np.inf)),
    ("build_schedule kind='foo'", "ValueError", "kind", lambda: build_schedule("foo", 2, 2)),  # already
    ("build_schedule kind=None", "ValueError", "kind", lambda: build_schedule(None, 2, 2)),  # already
    ("train_pipeline seed=1.7", "ValueError", "seed", lambda: _pipeline(seed=1.7)),
    ("train_pipeline seeds=True", "ValueError", "seeds", lambda: _pipeline(seeds=True)),
    ("train_pipeline w0 with 3 runs, seeds=2", "ValueError", "w0", lambda: _pipeline(w0_runs=3)),
    ("train_pipeline schedule='sync'", "TypeError", "schedule", lambda: _pipeline(schedule="sync")),
    ("train_pipeline micro_batch=0", "ValueError", "micro_batch",
     lambda: _pipeline(micro_batch=0)),  # already
    ("train_pipeline divergence", "Diverged", "train_pipeline diverged", lambda: _pipeline(alpha=1e3, K=200)),
    ("pipeline.staged_mlp stages=0", "ValueError", "stages", lambda: sim.pipeline.staged_mlp((3, 2), 0)),
]

IDS = [c[0] for c in CASES]
assert len(set(IDS)) == len(IDS), "case ids must be unique"


def _expected(name: str) -> type[BaseException]:
    return {"ValueError": ValueError, "TypeError": TypeError, "Diverged": sim.Diverged}[name]


@pytest.mark.parametrize("expected, match, thunk", [c[1:] for c in CASES], ids=IDS)
def test_bad_input_is_rejected_with_a_message_naming_the_parameter(expected, match, thunk):
    with pytest.raises(_expected(expected), match=match):
        thunk()


# --- behaviour that is not an exception --------------------------------------------------------------


def test_diverged_carries_iteration_and_runs_and_is_a_floating_point_error():
    with pytest.raises(sim.Diverged) as err:
        _simulate(sim.DigitalSGD(100.0), steps=400, seeds=[3, 7])
    e = err.value
    assert isinstance(e, FloatingPointError)
    assert e.where == "simulate" and e.runs == [3, 7] and e.rows == [0, 1]
    # |1 - alpha lambda_max| > 1: |W_k| grows geometrically, so it overflows well after k = 1 and
    # long before the 400 steps end
    assert 1 < e.iteration < 400
    assert f"iteration {e.iteration}" in str(e)


def test_diverged_in_nets_train_names_epoch_and_mini_batch():
    with pytest.raises(sim.Diverged) as err:
        _train(lr=1e3, epochs=50, loss="mse", runs=[5])
    e = err.value
    assert e.where == "nets.train" and e.runs == [5] and e.epoch is not None
    assert e.epoch * 3 <= e.iteration < (e.epoch + 1) * 3  # 24 samples / batch 8 = 3 mini-batches


def test_diverged_in_train_pipeline_names_the_micro_batch():
    # |W| grows by |1 - alpha| = 999 per update: 999^k overflows after ~103 updates (< 200)
    with pytest.raises(sim.Diverged) as err:
        _pipeline(alpha=1e3, K=200)
    e = err.value
    assert e.where == "train_pipeline" and e.runs == [0, 1]
    assert 90 < e.iteration < 200


def test_large_but_finite_pipeline_weights_are_returned():
    # the stability claim measures |W| ~ e^20 after a diverging but finite run: no exception there
    run = _pipeline(alpha=3.0, K=20)
    amp = np.abs(run.weights[0]).max()
    assert np.isfinite(amp) and amp > 1e5  # |1 - 3|^20 ~ 1e6


def test_pulse_loop_refuses_huge_counts_before_looping():
    # ~2e5 pulses in one update took seconds (83 s at scale in the issue); the cap refuses it before
    # the first pulse: the per-pulse rule _step is never evaluated
    calls = []

    class Spy(sim.PulsedPowStep):
        def _step(self, w, up, p):
            calls.append(1)
            return super()._step(w, up, p)

    with pytest.raises(ValueError, match="max_pulses"):
        _pulse(Spy(dw_min=1e-3), 200.0)
    assert not calls
    # below the cap, and with the cap lifted, the loop runs: 5000 pulses of the gamma = 1 power step
    # from 0 give 1 - (1 - 5e-4)^5000 = 0.918; 20_000 pulses of dw_min = 1e-2 give 1 - e^-100
    assert _pulse(Spy(dw_min=1e-3), 5.0) == pytest.approx(1 - (1 - 5e-4) ** 5000, rel=1e-9)
    assert len(calls) == 5000
    out = _pulse(sim.PulsedPowStep(dw_min=1e-2, max_pulses=None), 200.0)
    assert np.all(out > 0.99)


def test_desired_bl_keeps_huge_increments_within_bl_pulses():
    # aihwkit's truncation: at most BL pulses per update, so the loop is short whatever the rate
    dev = sim.PulsedPowStep(dw_min=1e-3, desired_bl=31)
    out = _pulse(dev, 1e6)
    assert np.all(out > 0) and np.all(out <= 31 * 1e-3 + 1e-12)


def test_nan_increment_is_not_dropped_by_the_pulse_loop():
    out = _pulse(sim.PulsedExpStep(dw_min=1e-3), np.nan)
    assert np.isnan(out).all()


def test_nan_gradient_in_pulsed_simulation_raises_diverged():
    class NaNNoise(sim.GaussianNoise):
        def sample(self, rng, dim):
            return np.full((rng.size, dim), np.nan)

    opt = sim.AnalogSGD(0.01, sim.PulsedPowStep(dw_min=1e-3), mode="pulsed")
    with pytest.raises(sim.Diverged):
        _simulate(opt, noise=NaNNoise(0.1))


def test_record_as_a_single_string_is_one_metric():
    tr = _simulate(record="loss")
    assert list(tr.values) == ["loss"]


def test_valid_inputs_still_work():
    # the boundary checks accept what the documentation allows: numpy scalars, integral floats,
    # per-run arrays, (D,) noise, run index sequences
    tr = _simulate(sim.AnalogSGD(np.float32(0.05), sim.SoftBounds(np.full((2, 1), 1.0))), steps=4.0,
                   seeds=np.array([0, 5]), seed=np.int64(2), noise=sim.GaussianNoise(np.full(D, 0.01)),
                   average_from=1)
    assert tr["loss"].shape == (2, 5) and np.isfinite(tr["loss"]).all()
    res = _train(lr=np.array([0.1, 0.2]), runs=np.arange(2), epochs=1.0)
    assert res.test_acc.shape == (2, 2)
