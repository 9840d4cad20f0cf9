"""sim._rng.BatchRNG: one sequence per (seed, stream, run, kind), read with a position per row.

The reference for run r is the generator itself: ``SeedSequence(seed, spawn_key=(r, stream_id,
kind))`` read front to back. Every test compares a row of a batch against it bit for bit.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sim
from sim._rng import KINDS, BatchRNG, stream_id


def _reference(seed: int, r: int, stream: str, kind: str, n: int) -> np.ndarray:
    gen = np.random.Generator(np.random.SFC64(
        np.random.SeedSequence(seed, spawn_key=(r, stream_id(stream), KINDS[kind]))))
    if kind == "bits":  # the low, then the high half of each 64-bit output
        return gen.bit_generator.random_raw((n + 1) // 2).astype("<u8").view("<u4")[:n]
    return gen.standard_normal(n) if kind == "normal" else gen.random(n)


def test_concatenation_invariance_of_the_generator():
    """The premise of the layout: 7 + 500 + 493 values drawn in pieces equal one draw of 1000
    (SFC64 standard_normal and random keep no cache between calls; the 32-bit words have their own
    test below)."""
    for kind in ("normal", "uniform"):
        whole = _reference(1, 2, "s", kind, 1000)
        gen = np.random.Generator(np.random.SFC64(
            np.random.SeedSequence(1, spawn_key=(2, stream_id("s"), KINDS[kind]))))
        draw = gen.standard_normal if kind == "normal" else gen.random
        parts = np.concatenate([draw(7), draw(500), draw(493)])
        np.testing.assert_array_equal(parts, whole)


# a program: a list of (kind, shape) draws, or ("normal_ragged"/"uniform_ragged", counts, shape)
_shapes = st.lists(st.integers(0, 5), min_size=0, max_size=3).map(tuple)


@st.composite
def _programs(draw: st.DrawFn, n_rows: int) -> list[tuple]:
    prog = []
    for _ in range(draw(st.integers(1, 12))):
        kind = draw(st.sampled_from(("normal", "uniform", "bits", "normal_ragged", "uniform_ragged",
                                     "big")))
        if kind == "big":  # larger than any buffer so far: forces growth and refills
            prog.append((draw(st.sampled_from(("normal", "uniform", "bits"))),
                         (draw(st.integers(900, 9000)),)))
        elif kind.endswith("ragged"):
            counts = draw(st.lists(st.integers(0, 4), min_size=n_rows, max_size=n_rows))
            prog.append((kind, counts, draw(_shapes)))
        else:
            prog.append((kind, draw(_shapes)))
    return prog


@settings(max_examples=80, deadline=None)
@given(data=st.data(), seed=st.integers(0, 2**40), n_rows=st.integers(1, 6))
def test_each_row_reads_its_own_sequence_in_order(data, seed, n_rows):
    """Mixed kinds and shapes, ragged counts, repeated run indices and buffer refills: row i of the
    batch receives exactly the next values of run runs[i]'s sequence of each kind, in order,
    whatever the other rows draw."""
    runs = data.draw(st.lists(st.integers(0, 4), min_size=n_rows, max_size=n_rows))
    prog = data.draw(_programs(n_rows))
    rng = BatchRNG(seed, runs, "prog")
    got: dict[tuple[int, str], list[np.ndarray]] = {(i, k): [] for i in range(n_rows) for k in KINDS}
    for step in prog:
        if step[0].endswith("ragged"):
            kind, counts, shape = step[0].split("_")[0], step[1], step[2]
            out = getattr(rng, step[0])(counts, shape)
            assert out.shape == (n_rows, max(counts), *shape)
            for i in range(n_rows):
                got[i, kind].append(out[i, :counts[i]].ravel())
                assert np.all(np.isnan(out[i, counts[i]:]))
        else:
            kind, shape = step
            out = getattr(rng, "bits32" if kind == "bits" else kind)(shape)
            assert out.shape == (n_rows, *shape)
            for i in range(n_rows):
                got[i, kind].append(out[i].ravel())
    for (i, kind), pieces in got.items():
        seq = np.concatenate([np.zeros(0), *pieces])
        np.testing.assert_array_equal(seq, _reference(seed, runs[i], "prog", kind, seq.size))


def test_words_are_halves_of_the_generator_output_and_concatenation_invariant():
    """bits32: two 32-bit words per 64-bit SFC64 output, low half first; odd-sized draws carry the
    unused half to the next refill, so pieces of 1 + 4095 + 3 + ... words equal one long draw."""
    gen = np.random.Generator(np.random.SFC64(
        np.random.SeedSequence(5, spawn_key=(1, stream_id("w"), KINDS["bits"]))))
    raw = gen.bit_generator.random_raw(40000)
    rng = BatchRNG(5, [1, 0], "w")
    sizes = [1, 4104, 3, 1, 2, 7, 61500]  # 4104 refills with 4103 words left (an odd fill), 61500
    # refills again (the carried half comes first)
    pieces = [rng.bits32(n) for n in sizes]
    assert all(p.dtype == np.uint32 and not p.flags.writeable for p in pieces)
    got = np.concatenate([p[0] for p in pieces]).astype(np.uint64)
    np.testing.assert_array_equal(got[0::2] | (got[1::2] << np.uint64(32)), raw[:got.size // 2])
    np.testing.assert_array_equal(np.concatenate([p[1] for p in pieces]),
                                  _reference(5, 0, "w", "bits", sum(sizes)))
    u = sim.pulsed.rounding_uniforms(BatchRNG(5, [1], "w"), (3,))
    np.testing.assert_array_equal(u[0], got[:3] * 2.0 ** -32)
    assert u.dtype == np.float64 and np.all((u >= 0) & (u < 1))


def test_views_stay_valid_after_refills():
    """Draws are read-only views of a buffer; refilling allocates a new buffer, so a view handed out
    earlier keeps its values."""
    rng = BatchRNG(0, range(3), "v")
    first = rng.normal(10)
    kept = first.copy()
    assert not first.flags.writeable
    for _ in range(50):
        rng.normal(4000)
    np.testing.assert_array_equal(first, kept)


def test_unreferenced_buffers_are_reused_without_changing_values():
    """A refill writes into the buffer before the current one when no view of it is alive (no page
    faults on a fresh allocation); the values are still the sequence's, and a view kept alive
    through the reuse cycle keeps its values."""
    rng = BatchRNG(3, range(2), "reuse")
    got = [rng.uniform(3000).copy() for _ in range(400)]  # views dropped at once: buffers recycled
    seq = rng._seqs["uniform"]
    assert seq.spare is not None and seq.spare.shape == seq.buf.shape  # two buffers in rotation
    ids = {id(seq.buf), id(seq.spare)}
    got.append(rng.uniform(seq.cap).copy())  # one more refill rotates the two, no third buffer
    assert {id(seq.buf), id(seq.spare)} == ids
    held = rng.uniform(5)  # a view of the current buffer, kept through several refills
    kept = held.copy()
    got += [kept, *[rng.uniform(3000).copy() for _ in range(200)]]
    np.testing.assert_array_equal(held, kept)
    for i in range(2):
        row = np.concatenate([g[i] for g in got])
        np.testing.assert_array_equal(row, _reference(3, i, "reuse", "uniform", row.size))


def test_repeated_indices_share_draws_until_their_counts_differ():
    rng = BatchRNG(7, [3, 1, 3], "rep")
    a = rng.normal(5)
    np.testing.assert_array_equal(a[0], a[2])
    assert not np.array_equal(a[0], a[1])
    b = rng.normal_ragged([2, 1, 1], 3)  # the two copies of run 3 now diverge
    c = rng.normal(4)
    ref3 = _reference(7, 3, "rep", "normal", 5 + 6 + 4)
    np.testing.assert_array_equal(np.concatenate([a[0], b[0].ravel(), c[0]]), ref3)
    np.testing.assert_array_equal(np.concatenate([a[2], b[2, :1].ravel(), c[2]]), ref3[:5 + 3 + 4])
    ref1 = _reference(7, 1, "rep", "normal", 5 + 3 + 4)
    np.testing.assert_array_equal(np.concatenate([a[1], b[1, :1].ravel(), c[1]]), ref1)


@pytest.mark.parametrize("R", [1, 2, 7, 300])
def test_row_independent_of_batch_size_across_many_refills(R):
    """Many draws of growing and odd sizes (several buffer refills): run 0 equals its reference
    whatever R (buffer sizes depend on R; the values must not)."""
    rng = BatchRNG(11, range(R), "refill")
    sizes = [1, 3, 1023, 1024, 1025, 17, 4096, 5, 9000, 2]
    got = np.concatenate([rng.uniform(n)[0] for n in sizes])
    np.testing.assert_array_equal(got, _reference(11, 0, "refill", "uniform", sum(sizes)))


def test_substreams_and_kinds_are_independent():
    rng = BatchRNG(0, [0], "algorithm")
    x = rng.normal(20).copy()
    fresh = BatchRNG(0, [0], "algorithm")
    fresh.uniform(1000)
    fresh.substream("write_noise").normal(1000)
    np.testing.assert_array_equal(fresh.normal(20), x)
    assert not np.array_equal(rng.substream("write_noise").normal(20)[0], x[0])
    assert rng.substream("write_noise") is rng.substream("write_noise")


def test_rademacher_is_a_sign_of_the_uniform_stream():
    rng, ref = BatchRNG(2, [5], "rad"), _reference(2, 5, "rad", "uniform", 64)
    np.testing.assert_array_equal(rng.rademacher(64)[0], np.where(ref < 0.5, -1.0, 1.0))


@pytest.mark.parametrize("seed", [1.7, "3", True, -1, None, np.float64(0.5)])
def test_seed_must_be_a_non_negative_integer(seed):
    with pytest.raises(ValueError, match="seed"):
        BatchRNG(seed, [0], "x")


def test_numpy_integer_seeds_and_runs_are_accepted():
    b = BatchRNG(3, [2, 0], "x").normal(4)
    for seed, runs in ((np.int64(3), np.array([2, 0], dtype=np.int32)), (3.0, [2.0, 0.0])):
        np.testing.assert_array_equal(BatchRNG(seed, runs, "x").normal(4), b)


@pytest.mark.parametrize("runs", [[1.5], [True, False], [-1], [], [[0, 1]], "01", 3, ["1"]])
def test_runs_must_be_non_negative_integers(runs):
    with pytest.raises(ValueError, match="runs"):
        BatchRNG(0, runs, "x")


@pytest.mark.parametrize("counts", [[1], [1, 2, 3], [-1, 0], [0.5, 1], [True, False]])
def test_ragged_counts_validated(counts):
    with pytest.raises(ValueError, match="counts"):
        BatchRNG(0, [0, 1], "x").normal_ragged(counts, 2)


@pytest.mark.parametrize("bad", [dict(seed=1.7), dict(seed="3"), dict(seed=True), dict(seed=-2),
                                 dict(seeds=[0.5]), dict(seeds=[True]), dict(seeds=True),
                                 dict(seeds=[-1]), dict(seeds=2.5)])
def test_simulate_rejects_non_integer_seeds_and_runs(bad):
    kw = dict(steps=2, progress=False) | bad
    with pytest.raises(ValueError, match="seed"):
        sim.simulate(sim.scalar_quadratic(), sim.DigitalSGD(0.1), **kw)
