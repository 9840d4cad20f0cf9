"""Certificates: SDP rates, LP envelopes, LP noise witnesses (each with a case that must fail)."""

import numpy as np
import pytest

import theory
from theory import certify as cert
from verify.claims.certify import DiscreteNoise, bound_constants


@pytest.mark.parametrize("sid", ["certify.tt_linear_det", "certify.worst_noise_floor"])
def test_derivations_verify(sid):
    assert theory.get(sid).verify()


def _scaled_rotation(r, theta, skew=3.0):
    S = np.array([[1.0, skew], [0.0, 1.0]])
    R = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    return S @ (r * R) @ np.linalg.inv(S)


def test_single_matrix_rate_is_its_spectral_radius():
    # ||A||_2 is far above rho(A) = 0.9 (skewed rotation): P = I would not do, the SDP must
    A = _scaled_rotation(0.9, 0.4)
    assert np.linalg.norm(A, 2) > 1.5
    c = cert.lyapunov_rate([A], width=1e-6)
    assert set(c.statuses) <= {"optimal", "infeasible"}
    assert 0.9 - 1e-12 <= c.rate <= 0.9 + 1e-4  # bisection width + solver slack (cond(P) ~ 10)
    # the certificate is real: A^T P A <= rate^2 P, checked without the solver
    M = c.rate**2 * c.P - A.T @ c.P @ A
    assert np.linalg.eigvalsh((M + M.T) / 2).min() >= -1e-9 * np.abs(c.P).max()


def test_switching_can_destabilize_what_each_vertex_does_not():
    # two stable matrices whose switching is unstable: no common Lyapunov rate below 1
    A1 = np.array([[0.0, 2.0], [0.0, 0.0]]) + 0.1 * np.eye(2)
    A2 = A1.T
    c = cert.lyapunov_rate([A1, A2], width=1e-4)
    assert c.lower < 0.2 and c.rate > 1.0  # product A1 A2 has spectral radius ~4


def test_agd_diag_rate_equals_closed_form_and_control_differs():
    H = np.diag([0.25, 1.0])
    c = cert.lyapunov_rate(cert.agd_vertices(H, 0.8, 0.5), width=1e-6)
    closed = float(theory.get("certify.agd_linear_rate").evaluate(alpha=0.8, epsilon_sat=0.5, mu=0.25, L=1.0))
    assert abs(c.rate - closed) <= 1e-5
    no_sat = float(theory.get("certify.agd_linear_rate").evaluate(alpha=0.8, epsilon_sat=0.0, mu=0.25, L=1.0))
    assert abs(c.rate - no_sat) > 0.05  # the saturation gain matters


def test_scs_certificate_is_valid_if_looser():
    H = np.diag([0.25, 1.0])
    closed = 1 - 0.8 * (1 - 0.5) * 0.25  # = 0.9: the vertex 1 - alpha (1 - eps) mu binds
    c = cert.lyapunov_rate(cert.agd_vertices(H, 0.8, 0.5), solver="SCS", feas_tol=1e-7, width=1e-4)
    assert set(c.statuses) <= {"optimal", "infeasible", "optimal_inaccurate", "solver_error"}
    assert closed - 1e-12 <= c.rate <= closed + 1e-3  # recomputed from P: valid whatever SCS returned


def test_tt_vertex_rates_match_numpy():
    for q in (0.8, 1.0, 1.2):
        A = cert.tt_vertices(np.array([[1.5]]), 0.3, 0.7, 0.4, 0.0)[0]
        A[1] = [0.3 * q * (1 - 0.7 * 0.4), 1 - 0.3 * 0.7 * q * 1.5]  # alpha = 0.3 transfer, beta = 0.7
        assert np.isclose(cert.tt_scalar_rate(0.3, 0.7, 0.4, 1.5, q), np.abs(np.linalg.eigvals(A)).max())


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: cert.lyapunov_rate([]), "vertices"),
        (lambda: cert.lyapunov_rate([np.eye(2), np.eye(3)]), "vertices"),
        (lambda: cert.lyapunov_rate([np.eye(2)], width=2.0), "width"),
        (lambda: cert.lyapunov_rate([np.eye(2)], solver="MOSEK"), "solver"),
        (lambda: cert.agd_vertices(np.eye(2), 0.5, 1.2), "eps"),
        (lambda: cert.agd_vertices(np.eye(2), -1.0, 0.1), "alpha"),
        (lambda: cert.tt_vertices(np.eye(1), 0.5, 0.5, -1.0, 0.1), "kappa"),
        (lambda: cert.empirical_constants(np.arange(1, 4.0), np.ones(2)), "one length"),
        (lambda: cert.empirical_constants(np.arange(1, 4.0), np.ones(3), minimize="C3"), "minimize"),
        (lambda: cert.empirical_constants(np.arange(1, 4.0), np.ones(3), caps={"x": 1}), "caps"),
        (lambda: cert.empirical_constants(np.arange(1, 4.0), np.ones(3), solver="GUROBI"), "solver"),
        (lambda: cert.worst_noise_law(0.1, 0.0), "noise std"),
        (lambda: cert.worst_noise_law(0.1, 1.0, n_support=10), "odd"),
        (lambda: cert.certified_rate(-np.eye(2), [np.eye(2)]), "positive definite"),
    ],
)
def test_validation(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_envelope_recovers_known_constants_and_caps_can_be_infeasible():
    K = np.unique(np.geomspace(1, 1e4, 60).round())
    y = 0.7 / np.sqrt(K) + 2.0 / K + 0.05
    env = cert.empirical_constants(K, y)
    assert env.status == "optimal"
    assert np.allclose([env.C1, env.C2, env.floor], [0.7, 2.0, 0.05], atol=1e-6)
    tight = cert.empirical_constants(K, y, minimize="floor", caps={"C1": 0.7, "C2": 2.0})
    assert abs(tight.floor - 0.05) < 1e-7
    bad = cert.empirical_constants(K, y, minimize="floor", caps={"C1": 0.0, "C2": 0.0, "floor": 0.01})
    assert bad.status == "infeasible" and np.isnan(bad.floor)


def test_bound_constants_read_from_theory_objects():
    c = bound_constants("agd.noiseless.ald", Delta_0=1.0, L=2.0, W_max=0.5, tau=1.0)
    assert np.isclose(c["C2"], 2 * 2.0 * 1.0 / (1 - 0.25)) and abs(c["C1"]) < 1e-9 and abs(c["floor"]) < 1e-9
    c = bound_constants("asgd.upper.ald", Delta_0=0.5, L=2.0, sigma=0.3, W_max=0.5, tau=1.0, S_K=0.2)
    assert np.isclose(c["C1"], 4 / 0.75 * np.sqrt(0.5 * 0.09 * 2.0))
    assert np.isclose(c["floor"], 2 * 0.09 * 0.2)


def test_bound_constants_rejects_other_forms(monkeypatch):
    import sympy as sp

    from theory import Bound, Provenance
    from theory.symbols import K

    fake = Bound(id="x.y", title="t", lhs="E", expr=1 / K**2, relation="<=", assumptions=(),
                 provenance=Provenance("test", "derived"))
    monkeypatch.setattr(theory, "get", lambda _id: fake)
    assert isinstance(fake.expr, sp.Expr)
    with pytest.raises(ValueError, match="not of the form"):
        bound_constants("x.y")


def test_worst_noise_law_attains_cauchy_schwarz_and_symmetric_laws_do_not():
    s, u = 0.3, 0.4
    g = -s * np.sqrt(u / (1 - u))
    w = cert.worst_noise_law(g, s, n_support=801, span=4.0)
    h = 8 * s / 800
    assert w.status == "optimal"
    assert 1 - h**2 / (4 * s**2) - 1e-6 <= w.ratio <= 1 + 1e-6
    assert w.mean_abs <= np.sqrt(g**2 + s**2) * (1 + 1e-8)
    assert abs(w.probs @ w.support) < 1e-7 and w.probs @ w.support**2 <= s**2 * (1 + 1e-7)
    sym = cert.worst_noise_law(g, s, n_support=801, span=4.0, symmetric=True)
    assert sym.ratio < 0.8


def test_discrete_noise_moments_and_reproducibility():
    import sim

    law = DiscreteNoise(np.array([-0.2, 0.1]), np.array([1 / 3, 2 / 3]))
    x1 = law.sample(sim.BatchRNG(5, np.arange(4000), "t"), 3)
    x2 = law.sample(sim.BatchRNG(5, np.arange(4000), "t"), 3)
    assert np.array_equal(x1, x2) and x1.shape == (4000, 3)
    assert abs(x1.mean()) < 4 * 0.14 / np.sqrt(x1.size)  # mean 0, std ~0.14: 4 s.e.
    assert np.isclose(law.sigma2(3), 3 * 0.02)
    with pytest.raises(ValueError, match="probs"):
        DiscreteNoise(np.array([0.0, 1.0]), np.array([0.5, 0.6]))
