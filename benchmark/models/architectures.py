"""The layer stack the classic architectures share, so each model file stays a few lines."""

from __future__ import annotations


def layer_sizes(units, layers: int | None = None) -> list[int]:
    """`units` as one width per layer: an int repeats, a sequence is cut or extended with its last width.

    Without `layers`, a sequence keeps its length and an int means one layer.
    """
    if layers is None:
        layers = 1 if isinstance(units, int | float) else len(units)
    sizes = [int(units)] * layers if isinstance(units, int | float) else [int(u) for u in units]
    if layers < 1 or not sizes:
        raise ValueError(f"need at least one layer, got layers={layers}, units={units}")
    return (sizes + [sizes[-1]] * layers)[:layers]


def stacked(layer, input_shape: tuple[int, ...], horizon: int, units, layers: int | None, dropout: float, *,
            unroll: bool, flatten: bool = False):
    """layer(units[0]) -> Dropout -> ... -> layer(units[-1]) -> Dropout -> Dense(horizon), uncompiled.

    Recurrent layers return sequences except the last one; with `flatten` the window is flattened first (MLP).
    `unroll` (a model file passes `options.unroll`, i.e. `--unroll`) makes recurrent layers unroll their time loop:
    one larger graph, traced once (4-22 s measured), whose epochs run faster for some layers and slower for others
    (results/PERFORMANCE.md); float32 rounding differs slightly from the loop (tested). Ignored with `flatten`,
    whose layers have no time loop.
    """
    import keras

    units = layer_sizes(units, layers)
    inputs = keras.Input(shape=input_shape)  # [batch, lookback, 1]
    x = keras.layers.Flatten()(inputs) if flatten else inputs  # MLP: -> [batch, lookback]
    for i, n in enumerate(units):
        more = i < len(units) - 1
        # last -> [batch, units]
        x = layer(n)(x) if flatten else layer(n, return_sequences=more, unroll=unroll)(x)
        x = keras.layers.Dropout(dropout)(x)
    outputs = keras.layers.Dense(horizon)(x)  # [batch, horizon]
    return keras.Model(inputs, outputs)
