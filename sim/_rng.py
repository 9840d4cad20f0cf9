r"""Per-run random streams, sampled for all runs at once.

Layout
------
Every draw comes from a generator keyed by the run, the purpose and the kind of variate:

.. math::  \text{gen}(r, \text{stream}, \text{kind}) = \text{SFC64}(\text{SeedSequence}(
           \text{seed},\ \text{spawn\_key} = (r,\ \text{crc32}(\text{stream}),\ \text{kind})))

with ``kind`` 0 for standard normals, 1 for uniforms on [0, 1) (Rademacher signs are uniforms
below 1/2) and 2 for 32-bit words (:meth:`BatchRNG.bits32`: the low, then the high half of each
64-bit SFC64 output, i.e. two words per generator step; :math:`u = \text{word}\cdot 2^{-32}` is a
uniform on [0, 1) with 32 random bits, half the cost of a float64 uniform -- the pulse counts of
stochastic rounding use it). Run ``r`` reads each of its sequences front to back with its own
position: a draw of shape ``s`` consumes exactly :math:`\prod s` values of run r's sequence of that
kind (a ragged draw, :meth:`BatchRNG.normal_ragged`, consumes ``counts[i]`` times that for row i;
32-bit words have no ragged draws). Numbers are
buffered per row and topped up from the generator when a row runs out; numpy's SFC64
``standard_normal`` and ``random`` are concatenation-invariant (drawing 7 + 500 + 493 values gives
the values of one draw of 1000), and so are the 32-bit words (a row that stops after a low half
keeps the high half for its next refill), so buffer sizes change speed only, never values.

Guarantee (tested in ``tests/reliability/test_reproducibility.py`` and ``tests/sim/test_rng.py``)
-----------------------------------------------------------------------------------------------
* **Draws.** For a given ``(seed, stream, r)`` and the same sequence of calls made on behalf of run
  r, the values run r receives are the same bit for bit, whatever the batch size R, the other run
  indices in the batch, their order, and whatever the other rows draw (ragged counts included).
  Repeated run indices (``runs=[0, 0, 1]``) receive the same values as long as they draw alike
  (common random numbers across grid points); when their ragged counts differ each row continues
  its own copy of the sequence, so each still equals the run alone.
* **Simulations** (measured on numpy 2.4 + OpenBLAS 0.3.31; the tests named below check it):

  - :func:`sim.pipeline.train_pipeline` and :func:`sim.nets.train` (FCN and conv nets, IO noise,
    digital / Analog SGD mean-field and pulsed / Tiki-Taka): run r alone (``seeds=[r]``,
    ``runs=[r]``) and run r inside a batch are **bitwise equal**. Their products are batched
    ``matmul``/``einsum`` over the stacked run axis, one product per run, whose rounding does not
    depend on R.
  - :func:`sim.simulate` on a :class:`~sim.problems.Quadratic`: every draw and every elementwise
    update is bitwise; the gradient ``(W - w*) @ H`` is one 2-D BLAS product over the stacked runs
    whose per-row rounding **does** depend on R (R = 1 goes through gemv, R >= 2 through gemm,
    differing in the last bit for D >= 8; for D >~ 100 the gemm kernel also changes with R). So
    results are equal **to rounding** (relative ~1e-16 per step, not amplified by the contracting
    updates), not bitwise; in pulse mode a last-bit difference could flip a stochastic-rounding
    decision, with probability ~1e-15 per element update. With a gradient computed per run
    (a batched matmul) ``simulate`` is bitwise for every optimizer x device x mode and every noise
    source (``tests/reliability/test_reproducibility.py``).
* Different streams (``"gradient_noise"``, ``"algorithm"``, substreams such as
  ``"algorithm/write_noise"``) are independent generators: draws from one never shift another.

The bit generator is SFC64 (numpy's fastest; ~20% cheaper normals than PCG64 here).
"""

from __future__ import annotations

import copy
import math
import sys
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._checks import check_runs, check_seed

_BUFFER_DOUBLES = 1 << 20  # ~8 MB: the most a buffer of one kind grows to (all rows together)
_ROW_DOUBLES = 1 << 17  # 1 MB: the most one row's buffer grows to -- within a core's L2, so that a
# single run's numbers are still cached when read (one 8 MB row went to memory and back: +0.1x on
# a pulse-level network epoch); many rows keep their share of _BUFFER_DOUBLES (fewer refills, each
# a Python loop over the rows)
_MIN_ROW = 1 << 10  # smallest per-row buffer (values)
KINDS: dict[str, int] = {"normal": 0, "uniform": 1, "bits": 2}
BITS32_SCALE = 2.0 ** -32  # a 32-bit word times this is a uniform on [0, 1) (exact in float64)


def stream_id(name: str) -> int:
    """A stable integer for a stream name (crc32; Python's ``hash`` is salted per process)."""
    return zlib.crc32(name.encode())


def _odd_lines(n: int) -> int:
    """``n`` rounded up to an odd number of 64-byte lines (8 doubles): rows of a buffer then do not
    start at addresses a power of two apart, which would map them to the same cache sets."""
    lines = -(-n // 8)
    return 8 * (lines + 1 - lines % 2)


class _Words32:
    """Fills arrays with a generator's 32-bit words: the low, then the high half of each 64-bit
    output (little-endian order on every platform). A fill of odd length keeps the unused high half
    for the next fill, so the words are concatenation-invariant like numpy's own fills."""

    def __init__(self, gen: np.random.Generator) -> None:
        self.bitgen = gen.bit_generator
        self.carry: int | None = None

    def __call__(self, out: np.ndarray) -> None:
        m, i = out.size, 0
        if m and self.carry is not None:
            out[0], i, self.carry = self.carry, 1, None
        rest = m - i
        if rest <= 0:
            return
        words = self.bitgen.random_raw((rest + 1) // 2).astype("<u8", copy=False).view("<u4")
        out[i:] = words[:rest]
        if rest % 2:
            self.carry = int(words[rest])


class _Sequences:
    """The per-row sequences of one kind of variate (normal, uniform or 32-bit word) for a batch of
    rows.

    Rows of the batch map to *slots*; a slot owns a generator and a buffer row. Distinct runs have
    distinct slots; repeated run indices share a slot while they draw alike, and a slot is split
    (generator state and buffer copied) when its rows' ragged counts differ.
    State: ``buf`` ``(S, cap)`` (every slot holds valid values up to ``cap``) and the next unread
    value of each slot: the int ``p`` for all slots while they are in step (``pos is None``, the
    fast path), else the array ``pos`` ``(S,)`` (after a ragged draw, until the next refill).
    """

    def __init__(self, seed: int, uniq: np.ndarray, slot_of_row: np.ndarray, key: int,
                 kind: str) -> None:
        self.gens = [
            np.random.Generator(np.random.SFC64(
                np.random.SeedSequence(seed, spawn_key=(int(r), key, KINDS[kind]))))
            for r in uniq
        ]
        self.kind = kind
        self.dtype = np.dtype(np.uint32) if kind == "bits" else np.dtype(np.float64)
        self.fill = [self._filler(g) for g in self.gens]
        self.slot_of_row = slot_of_row
        self.identity = len(uniq) == slot_of_row.size  # row i is slot i
        self.buf = np.empty((len(uniq), 0), dtype=self.dtype)
        self.spare: np.ndarray | None = None  # the buffer before this one, reused when unreferenced
        self.cap = 0
        self.p = 0
        self.pos: np.ndarray | None = None

    def _filler(self, gen: np.random.Generator) -> Any:
        if self.kind == "bits":
            return _Words32(gen)
        return gen.standard_normal if self.kind == "normal" else gen.random

    def _positions(self) -> np.ndarray:
        return np.full(len(self.gens), self.p, dtype=np.int64) if self.pos is None else self.pos

    def _refill(self, need: int) -> None:
        """New buffer: each slot keeps its unread values at the front and is topped up from its
        generator to a common length ``>= need``; positions reset to 0 (all slots in step). The
        old buffer is left alone (views handed out earlier stay valid)."""
        S, cap = len(self.gens), self.cap
        left = cap - self._positions()
        target = max(min(_BUFFER_DOUBLES // max(S, 1), _ROW_DOUBLES), _MIN_ROW)
        grow = min(target, max(2 * cap, 16 * need, _MIN_ROW))
        new_cap = _odd_lines(int(max(need, int(left.max(initial=0)), grow)))
        new = self.spare
        # reuse the previous buffer when nothing but this attribute refers to it (views handed out
        # hold a reference to it, their base): a fresh one costs page faults on every refill
        if new is not None and new.shape == (S, new_cap) and sys.getrefcount(new) == 3:
            new.flags.writeable = True
        else:
            new = np.empty((S, new_cap), dtype=self.dtype)
        self.spare = self.buf
        for s, fill in enumerate(self.fill):
            n_left = int(left[s])
            if n_left:
                new[s, :n_left] = self.buf[s, cap - n_left:]
            fill(out=new[s, n_left:])
        new.flags.writeable = False  # callers get views; they must not write into them
        self.buf, self.cap, self.p, self.pos = new, new_cap, 0, None

    def _split(self, counts: np.ndarray) -> None:
        """Give rows of one slot with different counts their own slots (copies of its state)."""
        if self.identity:
            return
        if self.kind == "bits":  # a word filler carries state beside its generator
            raise ValueError("ragged draws of 32-bit words are not supported")
        pair = np.stack([self.slot_of_row, counts], axis=1)
        uniq_pairs, first, inverse = np.unique(pair, axis=0, return_index=True, return_inverse=True)
        if len(uniq_pairs) == len(self.gens):
            return
        pos = self._positions()
        slot_of_row = self.slot_of_row.copy()
        taken: set[int] = set()
        extra = []
        for j in np.argsort(first):  # pairs in order of first appearance
            s = int(uniq_pairs[j, 0])
            if s not in taken:
                taken.add(s)
                continue
            slot_of_row[inverse.reshape(-1) == j] = len(self.gens)
            gen = copy.deepcopy(self.gens[s])
            self.gens.append(gen)
            self.fill.append(self._filler(gen))
            extra.append(s)
        self.buf = np.concatenate([self.buf, self.buf[extra]], axis=0)
        self.buf.flags.writeable = False
        if self.pos is not None:
            self.pos = np.concatenate([pos, pos[extra]])
        self.slot_of_row = slot_of_row
        self.identity = len(self.gens) == slot_of_row.size and bool(
            np.array_equal(slot_of_row, np.arange(slot_of_row.size)))

    def draw(self, m: int) -> np.ndarray:
        """The next ``m`` values of every row, ``(R, m)`` (a read-only view when in step)."""
        if self.pos is None:
            p = self.p
            if self.cap - p < m:
                self._refill(m)
                p = 0
            self.p = p + m
            out = self.buf[:, p:p + m]
        elif int(self.cap - self.pos.max()) < m:
            self._refill(m)
            return self.draw(m)
        else:
            out = self._gather(self.pos, m)
            self.pos += m
        return out if self.identity else out[self.slot_of_row]

    def _gather(self, pos: np.ndarray, m: int) -> np.ndarray:
        """``buf[s, pos[s]:pos[s] + m]`` for every slot, ``(S, m)`` (needs ``pos + m <= cap``):
        one contiguous run per slot, read through a window view (no index array)."""
        S, cap = self.buf.shape
        step = self.buf.strides
        windows = np.lib.stride_tricks.as_strided(self.buf, (S, cap - m + 1, m),
                                                  (step[0], step[1], step[1]), writeable=False)
        return windows[np.arange(S), pos]

    def draw_ragged(self, n_row: np.ndarray) -> np.ndarray:
        """Row i's next ``n_row[i]`` values, ``(R, max n_row)``, NaN past each row's count."""
        self._split(n_row)
        if self.identity:
            n_slot = n_row
        else:  # after the split, all rows of a slot have the same count
            n_slot = np.zeros(len(self.gens), dtype=np.int64)
            n_slot[self.slot_of_row] = n_row
        m = int(n_slot.max(initial=0))
        short = np.flatnonzero(n_slot < m)
        if short.size == 0:
            return self.draw(m)
        room = self.cap - (self.p if self.pos is None else int(self.pos.max()))
        if room < m:  # every slot must hold a window of m values (see _gather)
            self._refill(m)
        if self.pos is None:  # in step: one slice, copied (the tails are masked below)
            out = self.buf[:, self.p:self.p + m].copy()
            self.pos = self.p + n_slot
        else:
            out = self._gather(self.pos, m)
            self.pos = self.pos + n_slot
        out[np.arange(m) >= n_slot[:, None]] = np.nan
        return out if self.identity else out[self.slot_of_row]


class BatchRNG:
    """Independent per-run random streams drawn as one batch.

    Parameters
    ----------
    seed
        Base seed of the simulation: a non-negative integer (Python or numpy integer, or an
        integral float; ``1.7``, ``'3'``, bools and negatives raise ``ValueError``).
    runs
        Run indices ``r`` (a non-empty sequence of non-negative integers, validated like the seed);
        run ``runs[i]`` occupies row ``i`` of every
        sample. Use ``range(R)`` for R seeds; repeat indices to give several grid points the same
        noise.
    stream
        Name of the purpose (``"gradient_noise"``, ``"algorithm"``...); different names are
        independent.

    Notes
    -----
    Run r's values depend only on ``(seed, stream, r)`` and on the draws made for run r (see the
    module docstring): not on R, on the other runs, or on buffer sizes.
    """

    def __init__(self, seed: int, runs: Sequence[int] | np.ndarray | range, stream: str) -> None:
        self.seed = check_seed("seed", seed)
        if np.ndim(runs) == 0:
            raise ValueError(f"runs must be a non-empty sequence of run indices, got {runs!r}")
        self.runs = check_runs("runs", runs)
        if not isinstance(stream, str):
            raise ValueError(f"stream must be a str, got {stream!r}")
        self.stream = stream
        # slots in order of first appearance, so a batch without repeats maps row i to slot i
        uniq, first, inverse = np.unique(self.runs, return_index=True, return_inverse=True)
        order = np.argsort(first)
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        self._uniq = uniq[order]
        self._slot_of_row = rank[inverse.reshape(-1)]
        self._key = stream_id(stream)
        self._seqs: dict[str, _Sequences] = {}
        self._children: dict[str, BatchRNG] = {}

    def substream(self, name: str) -> BatchRNG:
        """An independent child stream ``"<stream>/<name>"`` over the same seed and runs, created
        once and then reused. Draws from it never shift this stream's draws (e.g. write noise
        drawn beside the pulse noise)."""
        child = self._children.get(name)
        if child is None:
            child = BatchRNG(self.seed, self.runs, f"{self.stream}/{name}")
            self._children[name] = child
        return child

    @property
    def size(self) -> int:
        """Number of rows R."""
        return int(self.runs.size)

    def _seq(self, kind: str) -> _Sequences:
        seq = self._seqs.get(kind)
        if seq is None:
            seq = _Sequences(self.seed, self._uniq, self._slot_of_row.copy(), self._key, kind)
            self._seqs[kind] = seq
        return seq

    def _draw(self, kind: str, shape: tuple[int, ...] | int) -> np.ndarray:
        seq = self._seqs.get(kind) or self._seq(kind)
        if type(shape) is int and shape >= 0:  # the common call, kept cheap
            return seq.draw(shape)
        shp = _as_shape(shape)
        return seq.draw(math.prod(shp)).reshape(self.size, *shp)

    def _draw_ragged(self, kind: str, counts: Any, shape: tuple[int, ...] | int) -> np.ndarray:
        shp = _as_shape(shape)
        c = np.asarray(counts)
        if (c.shape != (self.size,) or c.dtype == np.bool_
                or not (np.issubdtype(c.dtype, np.integer)
                        or (np.issubdtype(c.dtype, np.floating) and np.all(c == np.floor(c))))
                or np.any(c < 0)):
            raise ValueError(f"counts must be {self.size} non-negative integers (one per row),"
                             f" got {counts!r}")
        c = c.astype(np.int64)
        q = math.prod(shp)
        out = self._seq(kind).draw_ragged(c * q)
        return out.reshape(self.size, int(c.max(initial=0)), *shp)

    def normal(self, shape: tuple[int, ...] | int) -> np.ndarray:
        """Standard normal draws, shape ``(R, *shape)``; each row consumes ``prod(shape)`` values
        of its run's normal sequence. Read-only (often a view of the buffer)."""
        return self._draw("normal", shape)

    def uniform(self, shape: tuple[int, ...] | int) -> np.ndarray:
        """Uniform [0, 1) draws, shape ``(R, *shape)``; each row consumes ``prod(shape)`` values
        of its run's uniform sequence. Read-only (often a view of the buffer)."""
        return self._draw("uniform", shape)

    def bits32(self, shape: tuple[int, ...] | int) -> np.ndarray:
        """Random 32-bit words (``uint32``), shape ``(R, *shape)``; each row consumes
        ``prod(shape)`` words of its run's word sequence (kind 2 of the layout: two words per
        64-bit generator output, so half the cost of :meth:`uniform`). ``word * BITS32_SCALE`` is
        a uniform on [0, 1) on the grid ``k 2^-32`` (exact in float64). Read-only (often a view
        of the buffer)."""
        return self._draw("bits", shape)

    def rademacher(self, shape: tuple[int, ...] | int) -> np.ndarray:
        """Random signs +-1, shape ``(R, *shape)`` (``uniform < 1/2`` -> -1)."""
        return np.where(self.uniform(shape) < 0.5, -1.0, 1.0)

    def normal_ragged(self, counts: Any, shape: tuple[int, ...] | int) -> np.ndarray:
        """Data-dependent numbers of normal draws: row i gets ``counts[i]`` samples of shape
        ``shape`` and consumes exactly ``counts[i] * prod(shape)`` values of its sequence.

        Returns ``(R, max(counts), *shape)``; entries of row i past ``counts[i]`` are NaN. So a
        run's position in its stream depends on its own counts only (e.g. its own pulse count,
        not the batch's largest).
        """
        return self._draw_ragged("normal", counts, shape)

    def uniform_ragged(self, counts: Any, shape: tuple[int, ...] | int) -> np.ndarray:
        """As :meth:`normal_ragged`, for uniforms on [0, 1)."""
        return self._draw_ragged("uniform", counts, shape)


def _as_shape(shape: tuple[int, ...] | int) -> tuple[int, ...]:
    shp = (int(shape),) if np.isscalar(shape) else tuple(int(x) for x in shape)  # type: ignore[arg-type, union-attr]
    if any(s < 0 for s in shp):
        raise ValueError(f"shape must have non-negative sizes, got {shape!r}")
    return shp
