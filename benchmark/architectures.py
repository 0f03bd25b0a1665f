"""The layer stack the classic architectures share, so each model file stays a few lines."""

from __future__ import annotations


def stacked(layer, input_shape: tuple[int, ...], horizon: int, units, dropout: float, flatten: bool = False):
    """layer(units[0]) -> Dropout -> ... -> layer(units[-1]) -> Dropout -> Dense(horizon), uncompiled.

    Recurrent layers return sequences except the last one; with `flatten` the window is flattened first (MLP).
    """
    import keras

    inputs = keras.Input(shape=input_shape)  # [batch, lookback, 1]
    x = keras.layers.Flatten()(inputs) if flatten else inputs  # MLP: -> [batch, lookback]
    for i, n in enumerate(units):
        more = i < len(units) - 1
        x = layer(n)(x) if flatten else layer(n, return_sequences=more)(x)  # last -> [batch, units]
        x = keras.layers.Dropout(dropout)(x)
    outputs = keras.layers.Dense(horizon)(x)  # [batch, horizon]
    return keras.Model(inputs, outputs)
