"""MLP: Dense(50) -> Dense(100) on the flattened window, with dropout, as in the classic tutorial."""

COST = 0.05  # training time relative to an LSTM (results/PERFORMANCE.md); only orders the work

CHANNELS = True  # reads every input channel: the target, then the --covariates columns

FASTEST = {"backend": "jax"}  # --speed fastest: JAX epochs 4.63x shorter (results/PERFORMANCE.md, full grid)

DEFAULTS = {"units": (50, 100), "dropout": 0.2, "activation": "relu"}


def build(input_shape, horizon, options, units, dropout, activation, layers=None):
    import keras

    from benchmark.models.architectures import stacked

    def dense(n):
        return keras.layers.Dense(n, activation=activation)

    return stacked(dense, input_shape, horizon, units, layers, dropout, unroll=options.unroll, flatten=True)
