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


def pinball(levels: tuple[float, ...]):
    """The mean pinball (quantile) loss over the levels: y_true [batch, horizon], y_pred [batch, horizon, levels]."""
    keras = _keras()
    tau = keras.ops.convert_to_tensor(list(levels), dtype="float32")

    def loss(y_true, y_pred):
        error = keras.ops.expand_dims(y_true, -1) - y_pred
        return keras.ops.mean(keras.ops.maximum(tau * error, (tau - 1.0) * error), axis=(-2, -1))

    return loss


def quantile_head(model, horizon: int, levels: tuple[float, ...]):
    """`model` (its output [batch, horizon * levels]) reshaped to [batch, horizon, levels] and sorted along the
    levels, so its quantiles never cross."""
    keras = _keras()
    inputs = keras.Input(model.input_shape[1:])
    shaped = keras.layers.Reshape((horizon, len(levels)))(model(inputs))
    return keras.Model(inputs, keras.layers.Lambda(lambda t: keras.ops.sort(t, axis=-1), name="sorted")(shaped))
