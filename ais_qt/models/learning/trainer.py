"""The model a training runs: a layer-by-layer copy of the architecture's model, made for speed.

The network that is saved, calibrated and used for inference is always the architecture's own
float32 model; training runs a copy with the same weights (they go back when it ends), in which
- batch normalisation uses TensorFlow's fused kernel (one pass forward and one back, as Keras 2's
  layer did; Keras 3's composes it of separate moments and arithmetic, which cost our UNet about
  11 % more CPU per training tile than Ais's Keras 2 on the same layers, bench/train_throughput.py);
- with a ``precision`` of mixed_bfloat16 (precision.py), layers compute in bfloat16, output
  layers in float32 so the loss sees exact probabilities.
Other backends than TensorFlow keep Keras's own batch normalisation; a model that cannot be
copied (a plugin's subclassed model) trains as it is.
"""

from __future__ import annotations

import functools

from ais_qt.models.backend import keras


def trainer_for(model, policy: str | None = None):
    """A copy of ``model`` for training (see the module's docstring), or ``model`` itself."""
    k = keras()
    fused = fused_batch_normalization()
    if fused is None and policy is None:
        return model
    outputs = _output_layers(model)

    def clone(layer):
        config = layer.get_config()
        if policy is not None:
            config["dtype"] = "float32" if layer.name in outputs else policy
        cls = fused if fused is not None and type(layer) is k.layers.BatchNormalization else layer.__class__
        return cls.from_config(config)

    try:
        copy = k.models.clone_model(model, clone_function=clone)
        copy.set_weights(model.get_weights())
    except Exception:  # noqa: BLE001 - any failure to copy means: train the model itself
        return model
    return copy


def _output_layers(model) -> set[str]:
    names = set()
    for tensor in model.outputs:
        history = getattr(tensor, "_keras_history", None)
        if history is not None:
            names.add(history[0].name)
    return names or {model.layers[-1].name}


@functools.lru_cache(maxsize=1)
def fused_batch_normalization():
    """Keras's BatchNormalization with TensorFlow's fused kernel in training; None on other backends."""
    k = keras()
    if k.backend.backend() != "tensorflow":
        return None
    import tensorflow as tf

    class FusedBatchNormalization(k.layers.BatchNormalization):
        """Same variables, same results (the moving variance kept biased, as Keras keeps it)."""

        def call(self, inputs, training=None, mask=None):
            if (not (training and self.trainable) or mask is not None or self.renorm or len(inputs.shape) != 4
                    or self.axis % 4 != 3 or not (self.center and self.scale)):
                return super().call(inputs, training=training, mask=mask)
            x = tf.cast(inputs, tf.float32)  # as Keras's layer: statistics in float32 whatever the policy
            y, mean, variance = tf.compat.v1.nn.fused_batch_norm(
                x, self.gamma, self.beta, epsilon=self.epsilon, data_format="NHWC", is_training=True)
            count = tf.cast(tf.size(x) // tf.shape(x)[-1], tf.float32)
            variance = variance * (count - 1) / tf.maximum(count, 2)  # the kernel's is Bessel-corrected
            self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1 - self.momentum))
            self.moving_variance.assign(self.moving_variance * self.momentum + variance * (1 - self.momentum))
            return tf.cast(y, self.compute_dtype)

    return FusedBatchNormalization
