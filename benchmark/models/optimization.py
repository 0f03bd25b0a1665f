"""The losses and optimizers a run may train with: name -> Keras object factory. The settings table takes its
choices from these tables, so a new entry here is a new valid `--loss` / `--optimizer` value."""

from __future__ import annotations

from collections.abc import Callable


def _keras():
    import keras

    return keras


LOSSES: dict[str, Callable[[], object]] = {
    "mse": lambda: "mse",
    "mae": lambda: "mae",
    "huber": lambda: _keras().losses.Huber(),
}

OPTIMIZERS: dict[str, Callable[[float], object]] = {
    "rmsprop": lambda rate: _keras().optimizers.RMSprop(learning_rate=rate),
    "adam": lambda rate: _keras().optimizers.Adam(learning_rate=rate),
}


def loss(name: str):
    return LOSSES[name]()


def optimizer(name: str, learning_rate: float):
    return OPTIMIZERS[name](learning_rate)
