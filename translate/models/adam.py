"""Adam whose per-variable update is TensorFlow's fused ApplyAdam kernel.

Keras's Adam writes the update as about a dozen element-wise ops per variable, each a pass over
memory; a U-Net's 54M weights make that a tenth of a Pix2Pix step on one CPU core. The fused
kernel computes the same formula in one pass:

    m += (g - m) * (1 - beta_1);  v += (g^2 - v) * (1 - beta_2)
    variable -= lr * sqrt(1 - beta_2^t) / (1 - beta_1^t) * m / (sqrt(v) + epsilon)

The slots, their names and the checkpoint layout are Keras's own, so runs resume either way.
"""

from __future__ import annotations

import keras
import tensorflow as tf


class FusedAdam(keras.optimizers.Adam):
    """keras.optimizers.Adam, the dense float update done by tf.raw_ops.ResourceApplyAdam."""

    def update_step(self, gradient, variable, learning_rate):
        value = variable.value if isinstance(variable, keras.Variable) else variable
        fusable = (
            not self.amsgrad
            and keras.backend.backend() == "tensorflow"
            and not isinstance(gradient, tf.IndexedSlices)
            and value.dtype in (tf.float32, tf.float64, tf.float16, tf.bfloat16)
        )
        if not fusable:
            return super().update_step(gradient, variable, learning_rate)
        dtype = value.dtype
        index = self._get_variable_index(variable)
        m, v = self._momentums[index].value, self._velocities[index].value
        step = tf.cast(self.iterations + 1, dtype)
        beta_1, beta_2 = tf.cast(self.beta_1, dtype), tf.cast(self.beta_2, dtype)
        return tf.raw_ops.ResourceApplyAdam(
            var=value.handle, m=m.handle, v=v.handle,
            beta1_power=tf.pow(beta_1, step), beta2_power=tf.pow(beta_2, step),
            lr=tf.cast(learning_rate, dtype), beta1=beta_1, beta2=beta_2,
            epsilon=tf.cast(self.epsilon, dtype), grad=tf.cast(gradient, dtype),
            use_locking=False,
        )
