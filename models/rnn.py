"""SimpleRNN: two stacked Elman RNN layers, stacked like the classic LSTM."""

COST = 0.45  # training time relative to an LSTM (results/PERFORMANCE.md); only orders the work

CHANNELS = True  # reads every input channel: the target, then the --covariates columns

FASTEST = {"unroll": True}  # --speed fastest: unrolled, fastest in the default run (docs/performance.md)

DEFAULTS = {"units": (50, 100), "dropout": 0.2}


def build(input_shape, horizon, options, units, dropout, layers=None):
    import keras

    from benchmark.models.architectures import stacked

    return stacked(keras.layers.SimpleRNN, input_shape, horizon, units, layers, dropout, unroll=options.unroll)
