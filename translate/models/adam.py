"""Adam as PyTorch's torch.optim.Adam computes it, as TensorFlow's fused ApplyAdam kernel.

Keras's Adam writes the update as about a dozen element-wise ops per variable, each a pass over
memory; a U-Net's 54M weights make that a tenth of a Pix2Pix step on one CPU core. The fused
kernel computes the same formula in one pass:

    m += (g - m) * (1 - beta_1);  v += (g^2 - v) * (1 - beta_2)
    variable -= lr * sqrt(1 - beta_2^t) / (1 - beta_1^t) * m / (sqrt(v) + epsilon)

That is Keras's formula, whose epsilon sits next to sqrt(v) *before* the bias correction.
PyTorch (the reference) adds its epsilon (1e-8) after it: m_hat / (sqrt(v_hat) + eps). The two
agree when eps_keras = eps_torch * sqrt(1 - beta_2^t), which is what is passed to the kernel, so
`epsilon` here means PyTorch's. It matters: at step 1 sqrt(1 - beta_2) = 0.03, so Keras's default
1e-7 acts as 3e-6, and weights with gradients near that size (biases before a norm) move apart.

The slots, their names and the checkpoint layout are Keras's own, so runs resume either way.
"""

from __future__ import annotations

import keras
import tensorflow as tf


class FusedAdam(keras.optimizers.Adam):
    """Adam with PyTorch's epsilon placement, each dense float update one ResourceApplyAdam."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-8, **kwargs):
        super().__init__(learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, **kwargs)

    def update_step(self, gradient, variable, learning_rate):
        value = variable.value if isinstance(variable, keras.Variable) else variable
        fusable = (
            not self.amsgrad
            and keras.backend.backend() == "tensorflow"
            and not isinstance(gradient, tf.IndexedSlices)
            and value.dtype in (tf.float32, tf.float64, tf.float16, tf.bfloat16)
        )
        if not fusable:  # never in our models (dense float gradients); Keras's epsilon placement
            return super().update_step(gradient, variable, learning_rate)
        dtype = value.dtype
        index = self._get_variable_index(variable)
        m, v = self._momentums[index].value, self._velocities[index].value
        step = tf.cast(self.iterations + 1, dtype)
        beta_1, beta_2 = tf.cast(self.beta_1, dtype), tf.cast(self.beta_2, dtype)
        beta2_power = tf.pow(beta_2, step)
        return tf.raw_ops.ResourceApplyAdam(
            var=value.handle, m=m.handle, v=v.handle,
            beta1_power=tf.pow(beta_1, step), beta2_power=beta2_power,
            lr=tf.cast(learning_rate, dtype), beta1=beta_1, beta2=beta_2,
            epsilon=tf.cast(self.epsilon, dtype) * tf.sqrt(1.0 - beta2_power),
            grad=tf.cast(gradient, dtype),
            use_locking=False,
        )
