"""Correct and retrain through the real window: A accepts the prediction, D shows disagreement,
Ctrl+T retrains from the network's weights and the live overlay follows."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from tests.conftest import write_mrc

SHOTS = os.environ.get("AIS_QT_SCREENSHOTS")


def hover(view, x, y):
    viewport = view.graphics.viewport()
    pos = QPointF(view.graphics.mapFromScene(view.view_box.mapViewToScene(QPointF(x, y))))
    QApplication.sendEvent(viewport, QMouseEvent(QEvent.MouseMove, pos, viewport.mapToGlobal(pos), Qt.NoButton,
                                                 Qt.NoButton, Qt.NoModifier))


@pytest.fixture
def trained(qtbot, window, tmp_path):
    """A window with a quickly trained Membrane network (bright bars on noise, two labelled slices)."""
    rng = np.random.default_rng(0)
    data = rng.normal(size=(24, 128, 128)).astype(np.float32)
    truth = np.zeros(data.shape, bool)
    truth[:, 30:36, :] = truth[:, 80:84, 10:120] = True
    data[truth] += 2.5
    (item,) = window.controller.open_paths([write_mrc(tmp_path / "t.mrc", data)])
    editor = window.editor
    feature = editor.add_feature("Membrane")
    for z in (4, 8):
        editor.set_slice_masks("labels", item, feature.id, {z: truth[z]})
        for y in (32, 96):
            for x in (32, 96):
                editor.place_box(item, z, x, y)
    panel = window.workflow.models.training_panel
    panel.architecture.setCurrentIndex(panel.architecture.findData("unet_light"))
    panel.epochs.setValue(6)
    panel.batch_size.setValue(8)
    qtbot.mouseClick(panel.build_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: window.training.training_set is not None, timeout=30000)
    qtbot.mouseClick(panel.train_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: len(window.controller.session.networks) == 1 and panel.train_button.isEnabled(),
                    timeout=120000)
    return window, item, truth, feature


def wait_for_prediction(qtbot, window, item, z):
    item.z = z
    network = window.controller.session.networks.networks[0]
    qtbot.waitUntil(lambda: window.live.slice_probabilities(item, network, z) is not None, timeout=60000)
    return network


def test_accept_disagree_and_retrain(qtbot, trained):
    window, item, truth, feature = trained
    view = window.slice_view
    network = wait_for_prediction(qtbot, window, item, 16)
    probabilities = window.live.slice_probabilities(item, network, 16)
    view.graphics.setFocus()
    hover(view, 40.0, 33.0)
    history = window.controller.session.history
    steps = len(history)
    qtbot.keyClick(view.graphics, Qt.Key_A)  # no box there yet: one is placed and filled
    assert len(history) == steps + 1
    (box,) = item.annotation.boxes_on(16)
    y0, y1, x0, x1 = box.rect
    accepted = item.annotation.mask(feature.id, 16)
    assert np.array_equal(accepted[y0:y1, x0:x1], probabilities[y0:y1, x0:x1] >= network.info.threshold)
    assert accepted[y0:y1, x0:x1].any() and not accepted[:y0].any()
    window.undo_action.trigger()
    assert item.annotation.boxes_on(16) == [] and item.annotation.mask(feature.id, 16) is None
    window.redo_action.trigger()

    # Correct it: erase the whole box's paint, so everything the network found there disagrees.
    window.editor.set_slice_masks("erase", item, feature.id, {16: np.zeros((128, 128), bool)})
    qtbot.keyClick(view.graphics, Qt.Key_D)
    layer = window.disagreement
    qtbot.waitUntil(lambda: layer.result is not None, timeout=10000)
    found = int((probabilities[y0:y1, x0:x1] >= network.info.threshold).sum())
    assert layer.result.network_only == found and layer.result.annotation_only == 0
    assert layer.image.isVisible() and "disagree" in window.statusBar().currentMessage()
    if SHOTS:
        window.grab().save(os.path.join(SHOTS, "disagreement.png"))

    # Put the truth in and retrain with Ctrl+T: from the current weights, the overlay follows.
    window.editor.set_slice_masks("correct", item, feature.id, {16: truth[16]})
    model_before = network.model
    qtbot.keyClick(window, Qt.Key_T, Qt.ControlModifier)
    panel = window.workflow.models.training_panel
    assert "from its current weights" in panel.status.text()
    qtbot.waitUntil(lambda: network.model is not model_before and panel.train_button.isEnabled(), timeout=120000)
    assert network.info.training["continued"] and "continuing from its earlier weights" in panel.status.text()
    assert network.info.training["positive_boxes"] == 9  # the accepted box joined the set
    qtbot.waitUntil(lambda: window.live.slice_probabilities(item, network, 16) is not None, timeout=60000)
    qtbot.keyClick(view.graphics, Qt.Key_D)
    assert not layer.image.isVisible()


def test_accept_without_a_network_says_what_to_do(qtbot, window, tmp_path):
    (item,) = window.controller.open_paths([write_mrc(tmp_path / "t.mrc", np.zeros((4, 64, 64), np.float32))])
    window.editor.add_feature("Membrane")
    view = window.slice_view
    view.graphics.setFocus()
    hover(view, 30, 30)
    qtbot.keyClick(view.graphics, Qt.Key_A)
    assert "no trained, visible Membrane network" in window.statusBar().currentMessage()
    assert item.annotation.boxes == []
