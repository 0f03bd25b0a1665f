"""Transformer: a small encoder over the window (Vaswani et al. 2017, "Attention Is All You Need"; for time series
as in Zerveas et al. 2021, "A Transformer-based Framework for Multivariate Time Series Representation Learning").

Each step's channels are projected to 64 features plus the sinusoidal position encoding; two encoder blocks (4-head
self-attention and a 128-unit feed-forward layer, each residual with layer normalisation) about match the weights
of the classic 50/100 LSTM. The last step's features forecast the horizon.
"""

COST = 1.2  # training time relative to an LSTM (a guess until results/PERFORMANCE.md measures it); orders the work

CHANNELS = True  # reads every input channel: the target, then the --covariates columns

DEFAULTS = {"width": 64, "heads": 4, "blocks": 2, "feed_forward": 128, "dropout": 0.1}


def build(input_shape, horizon, options, width, heads, blocks, feed_forward, dropout):
    import keras
    import numpy as np

    steps = input_shape[0]
    position = np.arange(steps)[:, None] / np.power(10000.0, (2 * (np.arange(width) // 2)) / width)[None, :]
    encoding = np.where(np.arange(width) % 2 == 0, np.sin(position), np.cos(position)).astype("float32")

    inputs = keras.Input(shape=input_shape)  # [batch, lookback, channels]
    x = keras.layers.Dense(width)(inputs)
    x = keras.layers.Lambda(lambda t: t + encoding, name="positions")(x)
    for _ in range(blocks):
        attended = keras.layers.MultiHeadAttention(heads, width // heads, dropout=dropout)(x, x)
        x = keras.layers.LayerNormalization()(x + keras.layers.Dropout(dropout)(attended))
        hidden = keras.layers.Dense(feed_forward, activation="relu")(x)
        x = keras.layers.LayerNormalization()(x + keras.layers.Dropout(dropout)(keras.layers.Dense(width)(hidden)))
    last = keras.layers.Lambda(lambda t: t[:, -1, :], name="last_step")(x)  # [batch, width]
    return keras.Model(inputs, keras.layers.Dense(horizon)(last))
