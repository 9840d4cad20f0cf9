"""Network shapes shared by the typed settings of the MNIST figures (Fig. 5, its ablation, and
2502.06309 Figs. 4/5): one definition of each shape; every figure mixes it into its own ``Net``
settings (data, batch, rates, epochs, seeds), e.g. ``class FCN(Net, FCNShape)``."""

from __future__ import annotations

from dataclasses import dataclass

from sim.config import Config


@dataclass(frozen=True, kw_only=True)
class FCNShape(Config):
    """The fully connected network: layer sizes."""

    sizes: tuple[int, ...]


@dataclass(frozen=True, kw_only=True)
class CNNShape(Config):
    """The LeNet-style CNN: input side, channels, kernel sizes, hidden width."""

    side: int
    channels: tuple[int, int]
    kernels: tuple[int, int]
    hidden: int
