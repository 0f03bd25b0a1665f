"""TCN: a temporal convolutional network, residual blocks of dilated causal convolutions (Bai, Kolter & Koltun 2018,
"An Empirical Evaluation of Generic Convolutional and Recurrent Networks for Sequence Modeling", arXiv:1803.01271).

Kernel 3 and dilations 1, 2, 4, 8, 16 see 125 past steps (the default window is 60); 48 filters give about as many
weights as the classic 50/100 LSTM. The last step's features forecast the horizon. Each causal convolution is
written as one Dense layer over the window's shifted copies (step t reads t - 2d, t - d and t): the arithmetic of
`Conv1D(padding="causal")`, but bit-identical whatever the thread count, which Keras' CPU convolution is not (its
results moved in the eighth digit between a one-thread worker and a multi-thread process), so `--jobs` never
changes a TCN's numbers.
"""

COST = 0.6  # training time relative to an LSTM (a guess until results/PERFORMANCE.md measures it); orders the work

CHANNELS = True  # reads every input channel: the target, then the --covariates columns

DEFAULTS = {"filters": 48, "kernel_size": 3, "dilations": (1, 2, 4, 8, 16), "dropout": 0.2}


def build(input_shape, horizon, options, filters, kernel_size, dilations, dropout):
    import keras

    def causal(x, rate):
        """Step t of the output reads steps t - (kernel_size - 1) * rate, ..., t of `x` (zeros before the start)."""
        pad = (kernel_size - 1) * rate
        padded = keras.layers.ZeroPadding1D((pad, 0))(x)
        taps = [keras.layers.Cropping1D((k * rate, pad - k * rate))(padded) for k in range(kernel_size)]
        return keras.layers.Dense(filters, activation="relu")(keras.layers.Concatenate()(taps))

    inputs = keras.Input(shape=input_shape)  # [batch, lookback, channels]
    x = inputs
    for rate in dilations:
        skip = x if x.shape[-1] == filters else keras.layers.Dense(filters)(x)  # 1x1 to match the width
        for _ in range(2):  # two causal convolutions per block
            x = keras.layers.Dropout(dropout)(causal(x, rate))
        x = keras.layers.Activation("relu")(keras.layers.Add()([x, skip]))
    last = keras.layers.Lambda(lambda t: t[:, -1, :], name="last_step")(x)  # [batch, filters]
    return keras.Model(inputs, keras.layers.Dense(horizon)(last))
