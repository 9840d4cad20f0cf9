r"""Analog multi-layer networks in numpy: layers, losses, IO non-idealities, data, training loop.

Every layer of a network is an analog tile trained through a device model (arXiv 2406.12774 Sec. 5,
Figure 5: FCN and CNN on MNIST with every layer analog). R independent networks are stacked on a
leading axis, so one numpy call advances all runs (seeds, or a grid of tau / learning rates).

The layer contract (stable; the pipeline simulator splits networks into stages with it)
--------------------------------------------------------------------------------------
* A **network** is a plain ``list`` of layers. ``params`` is a list of the same length: the weight
  tile of each parameterised layer, ``None`` for parameter-free ones.
* A **parameterised layer** (:class:`Linear`, :class:`Conv2d`) has

  - ``param_shape``: ``(out, in)`` or ``(out, in + 1)`` with a bias column (``bias=True``);
  - ``init_params(rng, scale=None) -> W`` of shape ``(R, *param_shape)`` where ``R = rng.size``,
    run r drawn from its own stream of the :class:`~sim._rng.BatchRNG` ``rng``;
  - ``forward(W, x, rng=None) -> (y, cache)`` with ``x`` of shape ``(R, B, ...)`` (R runs, B
    samples; ``rng`` only feeds IO noise);
  - ``backward(W, cache, dy) -> (dx, dW)``, ``dy`` = gradient of the **mean loss over the batch**
    w.r.t. ``y``; ``dW`` has ``W``'s shape and is the gradient of that mean loss.

* A **parameter-free layer** (:class:`Sigmoid`, :class:`Tanh`, :class:`ReLU`, :class:`MaxPool2d`,
  :class:`Flatten`) takes ``W=None`` and returns ``dW=None``; ``param_shape`` is ``None``.
* Helpers: :func:`init_params`, :func:`forward`, :func:`backward` run through the list;
  :func:`nll_loss` (log-softmax + NLL) and :func:`mse_loss` return ``(loss (R,), dL/dy)``;
  :func:`loss_and_grads` does one forward + backward pass; :func:`accuracy` evaluates.
* **Optimizers**: any object of the :class:`sim.optimizers.Algorithm` protocol (``DigitalSGD``,
  ``AnalogSGD``, ``TikiTaka``; ``mode="mean_field"`` or ``"pulsed"``) steps one layer's tile:
  ``state = opt.init(W0)``; the gradient is taken at ``opt.query(state)``; the model weights are
  ``opt.weights(state)``; ``state = opt.step(state, dW, rng)``. :func:`train` builds one optimizer per
  epoch from a factory ``make_optimizer(lr)`` so that learning-rate schedules reach it.

>>> import numpy as np, sim
>>> from sim import nets
>>> net = [nets.Linear(4, 3), nets.Sigmoid(), nets.Linear(3, 2)]
>>> params = nets.init_params(net, sim.BatchRNG(0, range(5), "nets.init"))
>>> [None if W is None else W.shape for W in params]
[(5, 3, 5), None, (5, 2, 4)]
>>> loss, grads = nets.loss_and_grads(net, params, np.ones((5, 7, 4)), np.zeros((5, 7), int))
>>> loss.shape, grads[0].shape
((5,), (5, 3, 5))
"""

from .data import (
    Dataset,
    load_digits,
    load_mnist,
    load_mnist5k,
    split_indices,
    teacher_student,
)
from .io import AIHWKIT_IO, IO, PERFECT_IO
from .layers import Conv2d, Flatten, Layer, Linear, MaxPool2d, ReLU, Sigmoid, Tanh, col2im, im2col
from .models import fcn, lenet
from .network import (
    LOSSES,
    accuracy,
    backward,
    directional_gradient_check,
    forward,
    init_params,
    log_softmax,
    loss_and_grads,
    mse_loss,
    nll_loss,
    predict,
)
from .train import StepLR, TrainResult, tile_saturation, train

__all__ = [
    "AIHWKIT_IO",
    "IO",
    "LOSSES",
    "PERFECT_IO",
    "Conv2d",
    "Dataset",
    "Flatten",
    "Layer",
    "Linear",
    "MaxPool2d",
    "ReLU",
    "Sigmoid",
    "StepLR",
    "Tanh",
    "TrainResult",
    "accuracy",
    "backward",
    "col2im",
    "directional_gradient_check",
    "fcn",
    "forward",
    "im2col",
    "init_params",
    "lenet",
    "load_digits",
    "load_mnist",
    "load_mnist5k",
    "log_softmax",
    "loss_and_grads",
    "mse_loss",
    "nll_loss",
    "predict",
    "split_indices",
    "teacher_student",
    "tile_saturation",
    "train",
]
