"""The default recipe's pieces: calibration, masked losses, automatic epochs, the emptiness warning."""

from __future__ import annotations

import numpy as np
import pytest

from ais_qt.models.backend import keras
from ais_qt.models.learning.calibration import best_threshold, calibrate, dice_at
from ais_qt.models.learning.training import (TrainSettings, bce_dice_loss, bce_loss, dice_iou, dice_loss,
                                    emptiness_warning, result_text)
from ais_qt.models.learning.training_set import TrainingSet


def test_dice_at_matches_a_direct_count():
    rng = np.random.default_rng(0)
    truth = rng.random((4, 16, 16)) > 0.7
    probability = np.clip(truth * 0.3 + rng.random(truth.shape) * 0.6, 0, 1)
    for t in (0.1, 0.35, 0.5, 0.8):
        direct = dice_iou(truth.astype(float), probability, t)[0]
        assert dice_at(truth, probability, np.array([t]))[0] == pytest.approx(direct)


def test_best_threshold_finds_an_under_confident_boundary():
    truth = np.zeros((1, 20, 20), bool)
    truth[0, 5:15, 5:15] = True
    probability = np.where(truth, 0.3, 0.1)  # right, but never above 0.5
    assert dice_at(truth, probability, np.array([0.5]))[0] == 0
    threshold, dice = best_threshold(truth, probability)
    assert 0.1 <= threshold < 0.3 and dice == 1.0


def tiny_model(bias: float):
    """A 1x1 convolution with a sigmoid: output = sigmoid(2 * x + bias)."""
    k = keras()
    inputs = k.Input((None, None, 1))
    layer = k.layers.Conv2D(1, 1, activation="sigmoid")
    model = k.Model(inputs, layer(inputs))
    layer.set_weights([np.full((1, 1, 1, 1), 2.0, np.float32), np.array([bias], np.float32)])
    return model


def test_calibration_moves_the_boundary_to_one_half_in_the_weights():
    x = np.linspace(-3, 3, 64, dtype=np.float32).reshape(1, 8, 8, 1)
    y = (x > 1.0).astype(np.float32)  # the right cut is x = 1: sigmoid(2 - 5) = 0.05 there
    model = tiny_model(-5.0)
    before = dice_iou(y, np.asarray(model.predict(x, verbose=0)))[0]
    assert before < 0.5  # 0.5 cuts at x = 2.5
    report = calibrate(model, x, y)
    assert report["threshold"] == 0.5 and report["shift"] < -2 and report["dice"] > 0.9
    after = dice_iou(y, np.asarray(model.predict(x, verbose=0)))[0]
    assert after == pytest.approx(report["dice"]) and report["dice_before"] == pytest.approx(before)


def test_calibration_without_positives_changes_nothing():
    x = np.zeros((1, 8, 8, 1), np.float32)
    model = tiny_model(-1.0)
    before = model.get_weights()
    report = calibrate(model, x, np.zeros_like(x))
    assert report["shift"] == 0 and all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_a_model_without_a_sigmoid_bias_keeps_its_threshold_instead():
    k = keras()
    inputs = k.Input((None, None, 1))
    model = k.Model(inputs, k.layers.Activation("sigmoid")(inputs * 2.0 - 3.0))
    x = np.linspace(-3, 3, 64, dtype=np.float32).reshape(1, 8, 8, 1)
    report = calibrate(model, x, (x > 1.0).astype(np.float32))
    assert report["shift"] == 0 and report["threshold"] < 0.5


def test_losses_ignore_label_two():
    ops = keras().ops
    y = np.zeros((1, 4, 4, 1), np.float32)
    y[0, :2] = 1
    p = np.where(y > 0, 0.9, 0.1).astype(np.float32)
    ignored = y.copy()
    ignored[0, 3] = 2  # a row nobody decided on...
    wrong = p.copy()
    wrong[0, 3] = 0.99  # ...where the prediction says anything
    for loss in (bce_loss, dice_loss, bce_dice_loss):
        reference = float(ops.convert_to_numpy(loss(y[:, :3], p[:, :3])))
        assert float(ops.convert_to_numpy(loss(ignored, wrong))) == pytest.approx(reference, rel=1e-5)
    assert dice_iou(ignored, wrong) == dice_iou(y[:, :3], p[:, :3])


def test_automatic_epochs_give_every_set_about_the_same_batches():
    auto = TrainSettings()
    assert auto.epochs is None and auto.epochs_for(30) == 20 and auto.epochs_for(3) == 200
    assert auto.epochs_for(5000) == 1
    assert TrainSettings(epochs=2).epochs_for(3) == 2  # what the user sets is what runs


def test_an_empty_network_is_reported_with_what_to_try():
    x = np.zeros((4, 8, 8, 1), np.float32)
    y = np.zeros_like(x)
    y[:, 2:6, 2:6] = 1
    ts = TrainingSet(x, y, np.ones(4, bool), np.arange(4), {"feature": "Membrane"})
    warning = emptiness_warning(tiny_model(-6.0), ts, 0.5)
    assert "finds almost nothing" in warning and "0 of 64" in warning
    assert "marks almost everything" in emptiness_warning(tiny_model(6.0), ts, 0.5)
    assert emptiness_warning(tiny_model(-6.0), ts, 0.001) is not None  # sigmoid(-6) = 0.0025 > 0.001 everywhere


def test_result_text_names_the_dice_the_calibration_and_the_warning():
    from ais_qt.models.learning.network import NetworkInfo

    info = NetworkInfo("Membrane", "#ff0000", "unet", "UNet", {}, 64, metrics={"dice": 0.81, "validation_tiles": 40},
                       calibration={"found": 0.23, "shift": -1.2, "threshold": 0.5})
    text = result_text(info)
    assert "Dice 0.81 on 40 held-back tiles" in text and "best threshold 0.23 is now 0.50" in text
    info.metrics["warning"] = "the network finds almost nothing"
    assert "Warning: the network finds almost nothing" in result_text(info)


def test_a_network_file_from_before_calibration_loads_and_predicts_as_before(tmp_path):
    import json
    import zipfile

    from ais_qt.models.learning.architectures import ArchitectureLibrary
    from ais_qt.models.learning.network import Network, NetworkInfo

    library = ArchitectureLibrary()
    model = library.get("unet_light").create(32, {})
    info = NetworkInfo("Membrane", "#ff0000", "unet_light", "UNet (light)", library.get("unet_light").params, 32,
                       threshold=0.3, history={"loss": [0.5]}, training={"epochs": 20, "loss": "bce"})
    path = Network(info, model).save(tmp_path / "old.aisnet")
    with zipfile.ZipFile(path) as archive:  # rewrite it as an older Ais-Qt wrote it: no calibration
        document = json.loads(archive.read("network.json"))
        weights = archive.read("model.keras")
    del document["calibration"]
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("network.json", json.dumps(document))
        archive.writestr("model.keras", weights)
    loaded = Network.load(path, library)
    assert loaded.info.calibration == {} and loaded.info.threshold == 0.3  # its own threshold, untouched
    x = np.random.default_rng(0).normal(size=(1, 32, 32, 1)).astype(np.float32)
    np.testing.assert_allclose(loaded.model.predict_on_batch(x), np.asarray(model.predict_on_batch(x)), atol=1e-6)
    assert np.abs(loaded.predict(x) - np.asarray(model.predict_on_batch(x))).max() < 1 / 255  # through the engine
