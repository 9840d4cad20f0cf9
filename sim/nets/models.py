"""The networks of the 2024 MNIST experiments (arXiv 2406.12774 Sec. 5, Figure 5; spec Sec. 6)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from .io import IO, PERFECT_IO
from .layers import Conv2d, Flatten, Layer, Linear, MaxPool2d, Sigmoid, Tanh


def fcn(sizes: Sequence[int], activation: type[Layer] = Sigmoid, bias: bool = True,
        io: IO = PERFECT_IO) -> list[Layer]:
    """Fully connected net ``sizes[0] -> ... -> sizes[-1]`` with ``activation`` between the layers
    (the paper's FCN is ``fcn((784, 256, 128, 10))`` with sigmoid, log-softmax + NLL on top)."""
    if len(sizes) < 2:
        raise ValueError(f"sizes must list at least an input and an output size, got {sizes!r}")
    net: list[Layer] = []
    for a, b in itertools.pairwise(sizes):
        net += [Linear(int(a), int(b), bias=bias, io=io), activation()]
    return net[:-1]


def lenet(side: int = 28, in_channels: int = 1, channels: tuple[int, int] = (16, 32),
          kernels: tuple[int, int] = (5, 5), hidden: int = 128, n_classes: int = 10,
          io: IO = PERFECT_IO) -> list[Layer]:
    """The paper's LeNet-like CNN, every layer analog: conv(k1) - tanh - maxpool 2 - conv(k2) - tanh -
    maxpool 2 - tanh - flatten - linear(hidden) - tanh - linear(n_classes). With the defaults on
    28x28 MNIST the flatten size is 32 * 4 * 4 = 512 (``S4.2-mnist-CNN.py``)."""
    s1 = side - kernels[0] + 1
    if s1 < 2 or s1 % 2:
        raise ValueError(f"side - kernels[0] + 1 must be even and >= 2, got {s1} (side={side})")
    s2 = s1 // 2 - kernels[1] + 1
    if s2 < 2 or s2 % 2:
        raise ValueError(f"the second conv output side must be even and >= 2, got {s2}")
    flat = channels[1] * (s2 // 2) ** 2
    return [
        Conv2d(in_channels, channels[0], kernels[0], io=io), Tanh(), MaxPool2d(2),
        Conv2d(channels[0], channels[1], kernels[1], io=io), Tanh(), MaxPool2d(2), Tanh(), Flatten(),
        Linear(flat, hidden, io=io), Tanh(), Linear(hidden, n_classes, io=io),
    ]
