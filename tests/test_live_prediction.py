"""The live overlay: predictions of the slice on screen, following slice changes, never stale."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from ais_qt.models.learning.architectures import ArchitectureLibrary
from ais_qt.models.learning.inference import SlicePredictor
from ais_qt.models.learning.training import TrainSettings, train
from tests.conftest import write_mrc
from tests.test_networks import tiny_set


def test_overlay_follows_the_slice_and_the_threshold(qtbot, window, tmp_path):
    volume = np.random.default_rng(0).normal(size=(6, 96, 96)).astype(np.float32)
    volume[:, 20:40, 10:50] += 4
    (item,) = window.controller.open_paths([write_mrc(tmp_path / "t.mrc", volume, voxel_size=12.0)])
    network = train(tiny_set(), TrainSettings(architecture="unet_light", epochs=2, batch_size=8), ArchitectureLibrary())
    network.set(threshold=0.3)
    network.engine()  # ready before the overlay asks (which would take Keras' answer meanwhile), so that
    # the overlay and the expected masks below come from the same engine, pixel for pixel
    window.controller.session.networks.add(network)
    layer = window.prediction_layer
    qtbot.waitUntil(lambda: layer.shown == (id(item.tomogram), item.z), timeout=30000)
    overlay = layer.overlays["Membrane"]

    def expected(z):
        probabilities = SlicePredictor(network, library=window.training.library).predict(volume[z])
        return np.round(probabilities * 255) / 255 >= network.info.threshold

    np.testing.assert_array_equal(overlay.buffer != 0, expected(item.z))
    window.slice_view.graphics.setFocus()
    for _ in range(2):  # two quick slice changes: only the final slice must be drawn
        qtbot.keyClick(window.slice_view.graphics, Qt.Key_Up)
    qtbot.waitUntil(lambda: layer.shown == (id(item.tomogram), item.z), timeout=30000)
    assert item.z == 5
    np.testing.assert_array_equal(overlay.buffer != 0, expected(5))
    window.workflow.models.networks.threshold.setValue(90)
    qtbot.waitUntil(lambda: (overlay.buffer != 0).sum() == expected(5).sum() if network.info.threshold == 0.9 else False,
                    timeout=10000)
    window.workflow.models.networks.tree.topLevelItem(0).setCheckState(0, Qt.Unchecked)
    qtbot.waitUntil(lambda: "Membrane" not in layer.overlays, timeout=10000)


def test_interactions_load_from_json_and_change_the_overlay(qtbot, window, tmp_path):
    from ais_qt.models.learning.interactions import Interaction, InteractionGraph

    volume = np.random.default_rng(0).normal(size=(4, 64, 64)).astype(np.float32)
    (item,) = window.controller.open_paths([write_mrc(tmp_path / "t.mrc", volume, voxel_size=12.0)])
    from ais_qt.models.backend import keras
    from ais_qt.models.learning.network import Network, new_info

    def constant_network(feature):  # predicts 0.88 everywhere, so the rule's effect is plain
        k = keras()
        inputs = k.Input((None, None, 1))
        out = k.layers.Conv2D(1, 1, kernel_initializer="zeros", bias_initializer=k.initializers.Constant(2.0),
                              activation="sigmoid")(inputs)
        network = Network(new_info(feature, "#56b4e9", ArchitectureLibrary().get("eman2"), {}, 32), k.Model(inputs, out))
        network.info.history = {"loss": [0.1]}
        return network

    for name in ("Membrane", "Protein"):
        window.controller.session.networks.add(constant_network(name))
    layer = window.prediction_layer
    qtbot.waitUntil(lambda: "Protein" in layer.overlays and layer.overlays["Protein"].buffer.any(), timeout=30000)
    graph = InteractionGraph()
    graph.add(Interaction("Protein", "Membrane", "avoid", 0.0, 0.0))  # Membrane is everywhere: Protein vanishes
    graph.save(tmp_path / "g.json")
    window.workflow.models.interactions.load(str(tmp_path / "g.json"))
    qtbot.waitUntil(lambda: not layer.overlays["Protein"].buffer.any(), timeout=30000)
    window.editor.undo()  # the overlay follows the graph both ways
    qtbot.waitUntil(lambda: layer.overlays["Protein"].buffer.any(), timeout=30000)


def _noise_with_a_network(qtbot, window, tmp_path, depth: int):
    """A noise volume of ``depth`` slices open with a small trained network, its overlay shown."""
    volume = np.random.default_rng(depth).normal(size=(depth, 64, 64)).astype(np.float32)
    (item,) = window.controller.open_paths([write_mrc(tmp_path / "t.mrc", volume, voxel_size=12.0)])
    network = train(tiny_set(), TrainSettings(architecture="unet_light", epochs=1, batch_size=8), ArchitectureLibrary())
    network.engine()
    window.controller.session.networks.add(network)
    qtbot.waitUntil(lambda: window.prediction_layer.shown == (id(item.tomogram), item.z), timeout=30000)
    return item, network, window.live, window.prediction_layer


def test_idle_time_predicts_the_next_slices_so_a_step_shows_at_once(qtbot, window, tmp_path):
    item, network, live, layer = _noise_with_a_network(qtbot, window, tmp_path, 10)

    def cached(z):
        return live._key(item, z, network) in live.cache

    def idle():
        return not live.running and all(cached(item.z + step * live._direction) for step in live.prefetch
                                        if 0 <= item.z + step * live._direction < 10)

    window.slice_view.graphics.setFocus()
    qtbot.keyClick(window.slice_view.graphics, Qt.Key_Down)  # a step down: the prefetch looks down
    start = item.z
    qtbot.waitUntil(idle, timeout=30000)
    assert live._direction == -1 and cached(start - 1) and cached(start + 1)
    assert not cached(start - 2)  # one ahead, no more
    prefetched = live.cache[live._key(item, start - 1, network)]
    qtbot.keyClick(window.slice_view.graphics, Qt.Key_Down)
    # Shown from the cache: the overlay is there before any prediction could run (well under one).
    qtbot.waitUntil(lambda: layer.shown == (id(item.tomogram), start - 1), timeout=500)
    assert live.cache[live._key(item, start - 1, network)] is prefetched
    np.testing.assert_array_equal(layer.overlays["Membrane"].buffer != 0,
                                  prefetched.astype(np.float32) / 255 >= network.info.threshold)
    qtbot.waitUntil(idle, timeout=30000)
    assert cached(start - 2)  # the step started the next slice's prediction
    # While a training runs, the prefetch leaves it the CPU: only the slice on screen is predicted.
    window.training.task = object()
    qtbot.keyClick(window.slice_view.graphics, Qt.Key_Down)
    qtbot.waitUntil(lambda: layer.shown == (id(item.tomogram), start - 2), timeout=30000)
    qtbot.wait(300)
    assert not live.running and not cached(start - 3)
    window.training.task = None
    live.prefetch = ()  # off: idle time predicts nothing more
    qtbot.keyClick(window.slice_view.graphics, Qt.Key_Down)
    qtbot.waitUntil(lambda: layer.shown == (id(item.tomogram), start - 3), timeout=30000)
    qtbot.wait(300)
    assert not live.running and not cached(start - 4)


def test_a_jump_cancels_the_slice_being_predicted_ahead(qtbot, window, tmp_path, monkeypatch):
    import time

    from ais_qt.controllers import live_prediction
    from ais_qt.models.learning.engine import current_scope

    real = SlicePredictor.predict

    def predict(self, image, scale=1.0, stats=None):
        scope = current_scope()
        while scope is not None:  # a guess: never done unless cancelled (so the jump must cancel it)
            scope.check()
            time.sleep(0.01)
        return real(self, image, scale, stats)

    monkeypatch.setattr(live_prediction.SlicePredictor, "predict", predict)
    item, network, live, layer = _noise_with_a_network(qtbot, window, tmp_path, 12)
    start = item.z
    qtbot.waitUntil(lambda: live._guess is not None and live._guess[1] == (id(item.tomogram), start + 1),
                    timeout=10000)
    guess = live._guess[0]
    item.z = start - 5  # as a slider drag: elsewhere
    qtbot.waitUntil(lambda: layer.shown == (id(item.tomogram), start - 5), timeout=10000)
    assert guess.cancelled and live._key(item, start + 1, network) not in live.cache
    live.prefetch = ()  # the next guess (blocked forever by the stand-in) is let go before teardown
    if live._guess is not None:
        live._guess[0].cancel()
    qtbot.waitUntil(lambda: not live.running, timeout=10000)
