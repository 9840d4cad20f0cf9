"""Verdict stamps on every figure, the paper's values as reference marks, the pipeline ablations."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from paper_figures import _figure, all_figures, status
from paper_figures._style import stamp_verdict

FIGS = all_figures()
RECORDS = status.records()


@pytest.mark.parametrize("fid", list(FIGS))
def test_every_figure_gets_its_verdict_stamp(fid):
    fig, _ = plt.subplots()
    txt = stamp_verdict(fig, fid)
    rec = RECORDS[fid][1]
    assert txt is not None and txt in fig.texts
    assert txt.get_text().startswith(f"{fid}: {rec.verdict} ({rec.regime})")
    plt.close(fig)


def test_unknown_figure_is_not_stamped():
    fig, _ = plt.subplots()
    assert stamp_verdict(fig, "no_such_figure") is None
    assert fig.texts == []
    plt.close(fig)


def test_save_figure_stamps(monkeypatch, tmp_path):
    """The save path of every figure (``_figure.save_figure``) applies the stamp."""
    seen: list[list[str]] = []
    close = plt.close

    def spy(fig):
        seen.append([t.get_text() for t in fig.texts])
        close(fig)

    monkeypatch.setattr(plt, "close", spy)
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    paths = _figure.save_figure(fig, tmp_path, "pipeline_speedup")
    assert [p.suffix for p in paths] == [".png", ".pdf"] and all(p.stat().st_size > 0 for p in paths)
    rec = RECORDS["pipeline_speedup"][1]
    assert seen == [[f"pipeline_speedup: {rec.verdict} ({rec.regime}); `python -m paper_figures status`"]]


# --- the pipeline speedup ablation ------------------------------------------------------------


def test_step_rule_halves_below_the_levin_may_threshold():
    from paper_figures.pipeline_speedup_ablation import step_for
    from theory.delay import levin_may_threshold

    assert [step_for("kept", 0.17, M) for M in (1, 8, 16)] == [0.17] * 3
    # a*(7) = 0.209 > 0.17 > a*(11) = 0.136 and 0.085 < a*(15) = 0.101: one halving at 12 and 16
    assert [step_for("halve", 0.17, M) for M in (1, 8, 12, 16)] == [0.17, 0.17, 0.085, 0.085]
    for M in range(1, 17):
        a = step_for("halve", 0.5, M)
        assert a < float(levin_may_threshold(M - 1)) <= 2 * a or a == 0.5
    for kw, msg in ((dict(rule="x", a1=0.1, M=2), "rule"), (dict(rule="kept", a1=0.0, M=2), "a1"),
                    (dict(rule="kept", a1=0.1, M=0), "M")):
        with pytest.raises(ValueError, match=msg):
            step_for(**kw)


@pytest.mark.parametrize("kind", ["none", "async"])
def test_cycles_after_equals_the_schedules_cycles_until(kind):
    from paper_figures.pipeline_speedup_ablation import cycles_after
    from sim.pipeline import build_schedule

    sched = build_schedule(kind, 5, 1, 30) if kind == "none" else build_schedule(kind, 5, 30, 1)
    assert cycles_after(sched).tolist() == [sched.cycles_until(k) for k in range(1, 31)]


def test_m_stage_async_run_is_the_last_m_stages_of_a_deeper_run():
    """The reuse behind the ablation: stages are independent quadratics fed the same noise, so the
    M-stage asynchronous run equals, bitwise, the last M stages of a deeper run."""
    import sim
    from paper_figures.pipeline_speedup_ablation import SpreadQuadratic
    from sim.pipeline import build_schedule, train_pipeline

    lam = np.geomspace(0.1, 1.0, 3)

    def run(M):
        return train_pipeline([SpreadQuadratic(lam, np.zeros(3))] * M, list(range(1, M + 1)),
                              [np.full((2, 3), 0.5)] * M, [sim.AnalogSGD(np.array([0.1, 0.2]),
                                                                         sim.SoftBounds(4.0))] * M,
                              build_schedule("async", M, 40, 1),
                              lambda rng, j: (0.01 * rng.normal((1, 3)), None),
                              lambda out, y: np.zeros_like(out), seeds=2, seed=1, progress=False)

    deep, shallow = run(5), run(3)
    for W_deep, W in zip(deep.weights[2:], shallow.weights, strict=True):
        np.testing.assert_array_equal(W_deep, W)


def test_ablation_quick_reproduces_the_drop_by_the_step_rule():
    from paper_figures import pipeline_speedup_ablation as abl

    cfg = abl.FIGURE.config("quick")
    data = abl.compute(cfg)
    Ms = list(data["stages"])
    sp, se = data["speedup"], data["speedup_se"]
    ref = next(i for i, v in enumerate(abl.VARIANTS) if "reference" in v[0])
    kept = next(i for i, v in enumerate(abl.VARIANTS) if v[1] == "kept" and v[2] == 0.17)
    assert sp[ref, 0] == 1.0  # M = 1: the same run
    # the bounds sit more than 3 s.e. (quick: <= 0.21) away from the measured bars
    for M in (2, 4, 8):
        assert sp[ref, Ms.index(M)] > 0.85 * M, M
    for M in (12, 16):
        assert 0.4 * M < sp[ref, Ms.index(M)] < 0.65 * M, M
        assert 3 * se[ref, Ms.index(M)] < 0.1 * M
    assert np.isnan(sp[kept, Ms.index(16)])  # the kept step never reaches the target at 16


# --- pipeline_fig1_schedule annotations ---------------------------------------------------------


@pytest.mark.parametrize(("M", "B"), [(4, 5), (3, 6), (2, 4)])
def test_schedule_phases_read_off_the_log(M, B):
    """Fill lasts 2(M-1) cycles, the sync steady part 2(B-M+1), the flush ends the drain at
    2(B+M-1); the async steady part lasts 2(K-M+1) for K micro-batches."""
    from paper_figures.pipeline_fig1_schedule import phases
    from sim.pipeline import build_schedule

    sync = build_schedule("sync", M, B, 2)
    ph = phases(sync.grid, int(sync.update_cycle.min()))
    assert ph["fill"] == (0, 2 * (M - 1))
    assert ph["steady"] == (2 * (M - 1), 2 * B)
    assert ph["drain"] == (2 * B, 2 * (B + M - 1))
    assert ph["bubble"][0] == 2 * B and ph["bubble"][1] > 2 * (B + M - 1)
    K = 3 * M
    asy = phases(build_schedule("async", M, K, 1).grid)
    assert asy["steady"] == (2 * (M - 1), 2 * K)
    assert "bubble" not in asy


def test_schedule_figure_states_finite_and_steady_state_density(monkeypatch, tmp_path):
    from paper_figures import pipeline_fig1_schedule as mod

    figs = []
    monkeypatch.setattr(mod, "save_figure", lambda fig, out_dir, stem: figs.append(fig) or [])
    cfg = mod.FIGURE.config("quick")
    mod.render(mod.compute(cfg), cfg, tmp_path)
    titles = [ax.get_title() for ax in figs[0].axes]
    assert "density 0.800 over this finite run (K/(K+M−1) = 12/15); 1 in steady state (K → ∞)" in titles[2]
    texts = {t.get_text() for ax in figs[0].axes for t in ax.texts}
    assert {"fill", "drain", "bubble\n(idle)", "steady state: every stage busy"} <= texts
    plt.close(figs[0])


# --- pipeline_curves_ablation -------------------------------------------------------------------


def test_curves_ablation_equal_samples_and_time_units():
    """Every variant sees the same number of samples; time is counted in cycles of a b-sample
    micro-batch: sync 2(B+M-1) per mini-batch of B b, async 2 per micro-batch plus the 2(M-1)
    fill, scaled by the micro-batch size over b."""
    from paper_figures import pipeline_curves_ablation as abl

    cfg = abl.FIGURE.config("quick")
    data = abl.compute(cfg)
    B, M, b, N = cfg.B, cfg.stages, cfg.b, cfg.samples
    for key, *_ in abl.VARIANTS:
        assert data[f"{key}_samples"][-1] == N, key
    assert data["sync_time"][-1] == (N // (B * b)) * 2 * (B + M - 1)
    assert data["async_b_time"][-1] == 2 * (N // b) + 2 * (M - 1)
    assert data["async_Bb_time"][-1] == B * (2 * (N // (B * b)) + 2 * (M - 1))
    for key, *_ in abl.VARIANTS:
        assert np.all(np.isfinite(data[f"{key}_loss_mean"])), key
        assert np.all(np.diff(data[f"{key}_time"]) > 0), key


def test_paper_bars_are_the_spec_midpoints():
    from paper_figures._pipeline_reference import paper_bars

    np.testing.assert_allclose(paper_bars([1, 12, 16], "async"), [1.0, 5.79, 7.74])
    np.testing.assert_allclose(paper_bars([2, 8], "sync"), [1.765, 4.245])
    assert np.isnan(paper_bars([3], "sync")[0])
    with pytest.raises(ValueError, match="kind"):
        paper_bars([1], "none")
