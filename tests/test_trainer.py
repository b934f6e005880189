"""The copy of a model that training runs: fused batch normalisation, optionally bfloat16."""

from __future__ import annotations

import numpy as np
import pytest

from ais_qt.models.backend import keras
from ais_qt.models.learning.architectures import ArchitectureLibrary
from ais_qt.models.learning.trainer import fused_batch_normalization, trainer_for


@pytest.fixture(scope="module")
def unet():
    return ArchitectureLibrary().get("unet")


def tiles(n=4, size=32, seed=0):
    return np.random.default_rng(seed).normal(2.0, 3.0, size=(n, size, size, 1)).astype(np.float32)


def test_the_copy_computes_in_bfloat16_with_a_float32_output_and_the_same_weights(unet):
    model = unet.create(32, {"depth": 2, "filters": 8})
    copy = trainer_for(model, "mixed_bfloat16")
    assert copy is not model
    assert {layer.dtype_policy.name for layer in copy.layers[1:-1]} == {"mixed_bfloat16"}
    assert copy.layers[-1].dtype_policy.name == "float32" and copy.output.dtype == "float32"
    for a, b in zip(model.get_weights(), copy.get_weights()):
        assert a.dtype == b.dtype == np.float32 and np.array_equal(a, b)
    x = tiles(2, 64)
    assert np.abs(model.predict(x, verbose=0) - copy.predict(x, verbose=0)).max() < 0.05  # bfloat16: 8-bit mantissa


@pytest.mark.skipif(keras().backend.backend() != "tensorflow", reason="the fused kernel is TensorFlow's")
def test_fused_batch_normalisation_gives_keras_results_outputs_gradients_and_moving_statistics(unet):
    import tensorflow as tf

    model = unet.create(32, {"depth": 2, "filters": 8})
    copy = trainer_for(model)
    fused = fused_batch_normalization()
    kinds = [type(layer) for layer in copy.layers]
    assert fused in kinds and keras().layers.BatchNormalization not in kinds
    assert {type(layer) for layer in model.layers} & {fused} == set()  # the saved model keeps Keras's layer
    x = tiles()
    for training in (True, False):
        with tf.GradientTape(persistent=True) as tape:
            outputs = [m(x, training=training) for m in (model, copy)]
            losses = [tf.reduce_mean(tf.square(o - 0.3)) for o in outputs]
        np.testing.assert_allclose(outputs[0].numpy(), outputs[1].numpy(), atol=1e-5)
        if training:
            for g, h in zip(tape.gradient(losses[0], model.trainable_weights),
                            tape.gradient(losses[1], copy.trainable_weights)):
                # Sums over 4096 values in another order (and another thread split each run) move
                # small gradients by a percent or two; a wrong gradient is off by its own size.
                g, h = g.numpy(), h.numpy()
                assert np.linalg.norm(g - h) < 0.05 * np.linalg.norm(g)
    for a, b in zip(model.non_trainable_weights, copy.non_trainable_weights):  # moving mean and variance
        assert a.name == b.name
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)
    assert not np.allclose(model.non_trainable_weights[1].numpy(), 1)  # the variance did move


def test_a_model_that_cannot_be_copied_trains_as_it_is():
    class Opaque:
        outputs, layers = [], [type("L", (), {"name": "out"})()]

        def get_weights(self):
            raise RuntimeError("no")

    opaque = Opaque()
    assert trainer_for(opaque, "mixed_bfloat16") is opaque
