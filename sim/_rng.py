"""Per-run random streams, sampled for all runs at once.

Run ``r`` of a batch draws from its own generator, seeded by ``SeedSequence(seed, spawn_key=(r,
stream))``. So a run is a pure function of (config, seed, r): it gives the same numbers bit for bit
whether it is simulated alone or inside a batch of any size, and two simulations that share
``(seed, r)`` see the same noise (common random numbers, which makes paired comparisons cheap).

Draws are buffered in blocks of iterations: every ``block`` calls, each run's generator fills its
contiguous slab of an ``(R, block, *shape)`` buffer, and one call returns the ``(R, *shape)`` view
of the current iteration. The Python loop over runs is paid once per block, not per iteration.
The bit generator is SFC64 (numpy's fastest; ~20% cheaper normals than PCG64 here).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np

_BUFFER_DOUBLES = 1 << 22  # ~32 MB per buffered stream


def stream_id(name: str) -> int:
    """A stable integer for a stream name (crc32; Python's ``hash`` is salted per process)."""
    return zlib.crc32(name.encode())


class BatchRNG:
    """Independent per-run random streams drawn as one batch.

    Parameters
    ----------
    seed
        Base seed of the simulation (non-negative int).
    runs
        Run indices ``r``; run ``runs[i]`` occupies row ``i`` of every sample. Use ``range(R)`` for
        R seeds; repeat indices to give several grid points the same noise.
    stream
        Name of the purpose (``"gradient_noise"``, ``"pulses"``...); different names are
        independent.
    """

    def __init__(self, seed: int, runs: Sequence[int], stream: str) -> None:
        if int(seed) < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed}")
        self.seed = int(seed)
        self.runs = np.asarray(runs, dtype=np.int64)
        if self.runs.ndim != 1 or self.runs.size == 0:
            raise ValueError(f"runs must be a non-empty 1-D sequence of indices, got {runs!r}")
        if np.any(self.runs < 0):
            raise ValueError("run indices must be non-negative")
        self.stream = stream
        key = stream_id(stream)
        # One generator per distinct run index; repeated indices share the draws.
        uniq, self._inverse = np.unique(self.runs, return_inverse=True)
        self._gens = [
            np.random.Generator(np.random.SFC64(np.random.SeedSequence(self.seed, spawn_key=(int(r), key))))
            for r in uniq
        ]
        self._buffers: dict[tuple[str, tuple[int, ...]], list] = {}
        self._children: dict[str, BatchRNG] = {}

    def substream(self, name: str) -> BatchRNG:
        """An independent child stream ``"<stream>/<name>"`` over the same seed and runs, created
        once and then reused. Draws from it never shift this stream's draws (e.g. write noise
        drawn beside the pulse noise)."""
        child = self._children.get(name)
        if child is None:
            child = BatchRNG(self.seed, self.runs.tolist(), f"{self.stream}/{name}")
            self._children[name] = child
        return child

    @property
    def size(self) -> int:
        return int(self.runs.size)

    def _draw(self, kind: str, shape: tuple[int, ...]) -> np.ndarray:
        key = (kind, shape)
        entry = self._buffers.get(key)
        if entry is None or entry[1] >= entry[0].shape[1]:
            per = int(np.prod(shape, dtype=np.int64)) * len(self._gens)
            block = int(max(1, min(256, _BUFFER_DOUBLES // max(per, 1))))
            # (runs, block, *shape): each generator fills a contiguous slab in place
            buf = np.empty((len(self._gens), block, *shape))
            for i, gen in enumerate(self._gens):
                if kind == "normal":
                    gen.standard_normal((block, *shape), out=buf[i])
                elif kind == "uniform":
                    gen.random((block, *shape), out=buf[i])
                else:  # pragma: no cover - internal
                    raise ValueError(kind)
            buf.flags.writeable = False  # callers get views; they must not write into them
            entry = [buf, 0]
            self._buffers[key] = entry
        out = entry[0][:, entry[1]]
        entry[1] += 1
        if len(self._gens) != self.size:
            return out[self._inverse]
        return out

    def normal(self, shape: tuple[int, ...] | int) -> np.ndarray:
        """Standard normal draws, shape ``(R, *shape)``."""
        return self._draw("normal", _as_shape(shape))

    def uniform(self, shape: tuple[int, ...] | int) -> np.ndarray:
        """Uniform [0, 1) draws, shape ``(R, *shape)``."""
        return self._draw("uniform", _as_shape(shape))

    def rademacher(self, shape: tuple[int, ...] | int) -> np.ndarray:
        """Random signs +-1, shape ``(R, *shape)``."""
        return np.where(self.uniform(shape) < 0.5, -1.0, 1.0)

    def generator(self, i: int) -> np.random.Generator:
        """The generator behind row ``i`` (for one-off draws such as device-to-device variation)."""
        return self._gens[int(self._inverse[i])]


def _as_shape(shape: tuple[int, ...] | int) -> tuple[int, ...]:
    return (int(shape),) if np.isscalar(shape) else tuple(int(x) for x in shape)
