"""LSTM: two stacked LSTM layers, as in the classic tutorial."""

COST = 1.0  # training time relative to an LSTM (results/PERFORMANCE.md); only orders the work

CHANNELS = True  # reads every input channel: the target, then the --covariates columns

FASTEST = {"kernel": "fused"}  # --speed fastest: the fused kernel, 1.66x on the full grid (docs/performance.md)

DEFAULTS = {"units": (50, 100), "dropout": 0.2}


def build(input_shape, horizon, options, units, dropout, layers=None):
    import keras

    from benchmark.models.architectures import stacked
    from benchmark.models.fused import fused_lstm

    layer = fused_lstm() if options.fused else keras.layers.LSTM  # the same layer on a fused kernel (--kernel)
    return stacked(layer, input_shape, horizon, units, layers, dropout, unroll=options.unroll)
