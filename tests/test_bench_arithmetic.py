"""bench/arithmetic.py's count of a network's multiply-adds, on networks whose count is known by hand:
the speed limits it prints rest on it."""

from __future__ import annotations

import sys

import pytest

from tests.conftest import load_bench

ov = pytest.importorskip("openvino")


def test_multiply_adds_counts_convolutions_transposed_convolutions_and_dense_layers():
    from ais_qt.models.backend import keras

    k = keras()
    sys.modules.setdefault("openvino_telemetry", None)
    inputs = k.Input((None, None, 1))
    x = k.layers.Conv2D(4, 3, padding="same")(inputs)  # 16 x 16 x 4 outputs, 1 x 3 x 3 each: 9216
    x = k.layers.MaxPooling2D()(x)  # free
    x = k.layers.Conv2DTranspose(2, 2, strides=2)(x)  # 8 x 8 inputs x 4 in x 2 out x 2 x 2: 2048
    x = k.layers.Dense(3)(x)  # 16 x 16 pixels x 2 in x 3 out: 1536
    model = k.Model(inputs, x)
    converted = ov.convert_model(model, input=[1, 16, 16, 1])
    assert load_bench("arithmetic").multiply_adds(converted, 16) == 9216 + 2048 + 1536


def test_the_default_unet_costs_about_a_hundred_gflop_per_1024_px_slice():
    """The figure the live-prediction target is weighed against (by hand: ~45 000 multiply-adds per
    pixel over the four levels, on a 1056 px tile)."""
    from ais_qt.models.learning.architectures import ArchitectureLibrary

    sys.modules.setdefault("openvino_telemetry", None)
    model = ArchitectureLibrary().get("unet").create(64, {})
    flops = 2 * load_bench("arithmetic").multiply_adds(ov.convert_model(model), 1056)
    assert 95e9 < flops < 110e9
