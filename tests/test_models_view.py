"""The Models tab driven through the real widgets: build a training set, train, watch, stop, save."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from ais_qt.models.learning.network import Network
from tests.conftest import write_mrc


def annotated_window(window, tmp_path):
    rng = np.random.default_rng(0)
    volume = rng.normal(size=(6, 96, 96)).astype(np.float32)
    labels = np.zeros(volume.shape, bool)
    labels[:, 20:40, 10:50] = True
    volume[labels] -= 2
    (item,) = window.controller.open_paths([write_mrc(tmp_path / "t.mrc", volume)])
    editor = window.editor
    feature = editor.add_feature("Membrane")
    editor.set_slice_masks("labels", item, feature.id, {z: labels[z] for z in (1, 2, 3)})
    window.controller.session.box_size = 32
    for z in (1, 2, 3):
        for x, y in ((30, 30), (70, 70), (30, 75)):
            editor.place_box(item, z, x, y)
    return item


def test_build_train_watch_the_loss_and_stop(qtbot, window, tmp_path):
    annotated_window(window, tmp_path)
    tabs = window.workflow
    tabs.setCurrentWidget(tabs.models)
    panel = tabs.models.training_panel
    assert panel.feature.currentText() == "Membrane"
    qtbot.mouseClick(panel.build_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: window.training.training_set is not None, timeout=20000)
    assert "3 positive and 6 negative boxes" in panel.set_summary.text()
    assert not panel.preview.pixmap().isNull()
    panel.architecture.setCurrentIndex(panel.architecture.findData("unet_light"))
    assert set(panel.params.editors) == {"depth", "filters", "batch_norm"}
    panel.epochs.setValue(500)
    panel.batch_size.setValue(8)
    panel.precision.setFocus()
    qtbot.keyClick(panel.precision, Qt.Key_Down)
    assert panel.settings().precision == "mixed_bfloat16"
    qtbot.mouseClick(panel.train_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: len(panel.batch_curve.getData()[1] if panel.batch_curve.getData()[1] is not None
                                else []) >= 3, timeout=60000)
    assert panel.stop_button.isEnabled() and not panel.train_button.isEnabled()
    assert "epoch 1/500" in panel.status.text() or "loss" in panel.status.text()
    qtbot.mouseClick(panel.stop_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: len(window.controller.session.networks) == 1, timeout=60000)
    qtbot.waitUntil(lambda: panel.train_button.isEnabled(), timeout=10000)
    network = window.controller.session.networks.networks[0]
    assert network.info.training["stopped_early"] and network.info.feature == "Membrane"
    assert network.info.training["precision"] == "mixed_bfloat16" and "bfloat16" in network.info.training["device"]
    assert "stopped early" in panel.status.text()
    networks = tabs.models.networks
    assert networks.tree.topLevelItemCount() == 1 and networks.tree.topLevelItem(0).text(1) == "UNet (light)"
    networks.threshold.setValue(70)
    assert network.info.threshold == 0.7
    path = networks.save(str(tmp_path / "membrane.aisnet"))
    assert Network.load(path, window.training.library).info.threshold == 0.7
    window.grab().save(str(tmp_path / "models.png"))


def test_training_without_a_set_explains_itself(qtbot, window, tmp_path):
    annotated_window(window, tmp_path)
    panel = window.workflow.models.training_panel
    qtbot.mouseClick(panel.train_button, Qt.LeftButton)
    assert "Build a training set for Membrane first" in panel.status.text()


def test_loading_a_bad_network_file_gives_a_message(qtbot, window, tmp_path):
    bad = tmp_path / "bad.aisnet"
    bad.write_bytes(b"nope")
    window.workflow.models.networks.load([str(bad)])
    assert "bad.aisnet" in window.last_message_box.text()
    window.last_message_box.close()


def test_preferences_show_the_plugin_folder_and_skipped_plugins(qtbot, window, tmp_path):
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "mine.py").write_text("from ais_qt.archs import unet\ntitle = 'Mine'\nparams = {'depth': 2}\n"
                                    "def create(tile_size, depth=2):\n    return unet.create(tile_size, depth=depth)\n")
    (folder / "broken.py").write_text("def broken(:\n")
    dialog = window.show_preferences()
    dialog.folder.setText(str(folder))
    qtbot.mouseClick(dialog.reload_button, Qt.LeftButton)
    assert dialog.plugins.text() == "Mine" and "broken.py: skipped, SyntaxError" in dialog.problems.toPlainText()
    panel = window.workflow.models.training_panel
    assert panel.architecture.findText("Mine (plugin)") >= 0  # offered for training at once
    dialog.autosave.setValue(30)
    dialog.accept()
    assert window.project.timer.interval() == 30000
    assert window.controller.settings.value("plugin_folder") == str(folder)


def test_defaults_train_a_calibrated_network_and_say_how_it_did(qtbot, window, tmp_path):
    annotated_window(window, tmp_path)
    tabs = window.workflow
    tabs.setCurrentWidget(tabs.models)
    panel = tabs.models.training_panel
    # The panel starts at the recipe's defaults (the same objects `ais-qt train` reads).
    assert panel.epochs.text() == "auto" and panel.validation.value() == 0.15
    assert panel.loss.currentText() == "bce+dice" and not panel.augment.isChecked()
    settings = panel.settings()
    assert (settings.epochs, settings.calibrate, settings.loss) == (None, True, "bce+dice")
    assert panel.precision.currentText() == settings.precision == "float32"
    qtbot.mouseClick(panel.build_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: window.training.training_set is not None, timeout=20000)
    panel.architecture.setCurrentIndex(panel.architecture.findData("unet_light"))
    panel.epochs.setFocus()
    qtbot.keyClick(panel.epochs, Qt.Key_A, Qt.ControlModifier)
    qtbot.keyClicks(panel.epochs, "3")  # typed over "auto"
    assert panel.settings().epochs == 3
    qtbot.mouseClick(panel.train_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: len(window.controller.session.networks) == 1, timeout=120000)
    network = window.controller.session.networks.networks[0]
    assert network.info.calibration and network.info.threshold == 0.5
    assert len(network.info.history["val_loss"]) == 3  # boxes were held back by default
    assert "held-back tiles at threshold 0.50" in panel.status.text()
    row = tabs.models.networks.tree.topLevelItem(0)
    assert "Dice" in row.text(2) and "held-back tiles" in row.toolTip(2)
    panel.grab().save(str(tmp_path / "training_panel.png"))
