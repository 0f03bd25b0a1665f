"""A fused CPU kernel for the LSTM: `FusedLSTM` is `keras.layers.LSTM` (the same weights, gate layout, initialisers
and everything else) whose forward and backward pass over the whole window run in one TensorFlow op,
`BlockLSTM`, instead of one step of Python-built graph per time step.

Keras keeps the gates as [input | forget | cell | output]; `BlockLSTM` wants [input | cell | forget | output], so
the kernel's and bias's columns are reordered inside the call (by slices: dense gradients flow back to the Keras
layout). `BlockLSTMV2` takes Keras's layout directly, but TensorFlow registers the first version's gradient for it,
which assumes the other layout: its gradients are wrong (measured against finite differences), so it is not used.
Forward outputs and gradients equal `keras.layers.LSTM`'s on the same weights to float32 rounding (tested).

Where the op cannot serve the call (another Keras backend, a mask, recurrent dropout, an initial state, reversed
or stateful layers, a TensorFlow without the op), the layer is exactly `keras.layers.LSTM`; `available` says which
(the trial records it).
"""

from __future__ import annotations

import functools


@functools.lru_cache(maxsize=1)
def available(backend: str) -> bool:
    """Whether the fused kernel serves LSTM layers under this Keras backend here."""
    if backend != "tensorflow":
        return False
    try:
        import tensorflow as tf
    except ImportError:
        return False
    return hasattr(tf.raw_ops, "BlockLSTM")


def _layer_class():
    import keras

    class FusedLSTM(keras.layers.LSTM):
        """keras.layers.LSTM on TensorFlow's BlockLSTM kernel (see the module's docstring)."""

        def _fusable(self, mask, initial_state) -> bool:
            return (available(keras.config.backend()) and mask is None and initial_state is None
                    and not self.cell.recurrent_dropout and not self.cell.dropout and not self.go_backwards
                    and not self.stateful and self.cell.activation is keras.activations.tanh
                    and self.cell.recurrent_activation is keras.activations.sigmoid)

        def call(self, sequences, initial_state=None, mask=None, training=False):
            if not self._fusable(mask, initial_state):
                return super().call(sequences, initial_state=initial_state, mask=mask, training=training)
            import tensorflow as tf

            units, cell = self.units, self.cell
            x = tf.transpose(tf.convert_to_tensor(sequences, dtype=self.compute_dtype), [1, 0, 2])  # time-major
            steps, batch = tf.shape(x)[0], tf.shape(x)[1]
            zeros = tf.zeros(tf.stack([batch, units]), dtype=x.dtype)
            def icfo(t):  # i f c o -> i c f o, by slices (dense gradients, unlike a gather's)
                u = units
                return tf.concat([t[..., :u], t[..., 2 * u:3 * u], t[..., u:2 * u], t[..., 3 * u:]], axis=-1)

            weights = icfo(tf.concat([cell.kernel, cell.recurrent_kernel], axis=0))
            bias = icfo(cell.bias) if cell.use_bias else tf.zeros([4 * units], dtype=x.dtype)
            peephole = tf.zeros([units], dtype=x.dtype)
            gates = tf.raw_ops.BlockLSTM(seq_len_max=tf.cast(steps, tf.int64), x=x, cs_prev=zeros, h_prev=zeros,
                                         w=tf.cast(weights, x.dtype), wci=peephole, wcf=peephole, wco=peephole,
                                         b=tf.cast(bias, x.dtype), forget_bias=0.0, cell_clip=-1.0,
                                         use_peephole=False)
            cs, h = gates[1], gates[6]  # [time, batch, units]: cell states and outputs
            outputs = tf.transpose(h, [1, 0, 2]) if self.return_sequences else h[-1]
            return [outputs, h[-1], cs[-1]] if self.return_state else outputs  # Keras' [output, h, c]

    # Keras files weights under each layer's class name: spelt as Keras' own, the weights a fused model saves load into
    # a keras.layers.LSTM model and back (tested), as the same layer's should.
    FusedLSTM.__name__ = FusedLSTM.__qualname__ = "LSTM"
    return FusedLSTM


@functools.lru_cache(maxsize=1)
def fused_lstm():
    """The FusedLSTM layer class (built on first use: importing this module imports no Keras)."""
    return _layer_class()
