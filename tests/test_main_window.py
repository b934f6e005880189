"""The real main window driven with qtbot: keys, wheel, mouse, drops, menus, screenshots."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QImage, QWheelEvent
from PySide6.QtWidgets import QApplication, QMessageBox

from ais_qt.controllers.session_controller import SessionController
from ais_qt.models.volumes.display import prepare_slice
from ais_qt.views.main_window import MainWindow
from tests.conftest import shared_file, write_mrc


def open_one(window, path):
    (item,) = window.controller.open_paths([path])
    return item


def shown_slice(window) -> np.ndarray:
    return window.slice_view.displayed_image()


def key(qtbot, window, k):
    qtbot.keyClick(window.slice_view.graphics, k)


def test_keys_move_through_slices_and_the_image_follows(qtbot, window, mrc_path, volume):
    item = open_one(window, mrc_path)
    view = window.slice_view
    view.graphics.setFocus()
    assert item.z == 6
    key(qtbot, window, Qt.Key_Up)
    assert item.z == 7
    key(qtbot, window, Qt.Key_W)
    assert item.z == 8
    key(qtbot, window, Qt.Key_S)
    key(qtbot, window, Qt.Key_Down)
    assert item.z == 6
    key(qtbot, window, Qt.Key_PageDown)
    assert item.z == 0
    key(qtbot, window, Qt.Key_PageUp)
    assert item.z == 10
    assert view.spin.value() == 10 and view.slider.value() == 10
    np.testing.assert_array_equal(shown_slice(window), volume[10])


def test_wheel_moves_slices_and_shift_wheel_zooms(qtbot, window, mrc_path):
    item = open_one(window, mrc_path)
    viewport = window.slice_view.graphics.viewport()
    centre = QPointF(viewport.width() / 2, viewport.height() / 2)

    def wheel(delta, modifiers=Qt.NoModifier):
        event = QWheelEvent(centre, viewport.mapToGlobal(centre), QPoint(), QPoint(0, delta),
                            Qt.NoButton, modifiers, Qt.NoScrollPhase, False)
        QApplication.sendEvent(viewport, event)

    wheel(120)
    wheel(120)
    assert item.z == 8
    wheel(-120)
    assert item.z == 7
    before = window.slice_view.view_box.viewRange()[0]
    wheel(120, Qt.ShiftModifier)
    after = window.slice_view.view_box.viewRange()[0]
    assert item.z == 7 and (after[1] - after[0]) < (before[1] - before[0])


def test_slider_and_spin_box_agree(qtbot, window, mrc_path, volume):
    item = open_one(window, mrc_path)
    view = window.slice_view
    view.spin.setValue(3)
    assert item.z == 3 and view.slider.value() == 3
    view.slider.setValue(11)
    assert item.z == 11 and view.spin.value() == 11
    np.testing.assert_array_equal(shown_slice(window), volume[11])
    assert view.count_label.text() == "/ 11"


def test_display_controls_change_the_image(qtbot, window, mrc_path, volume):
    item = open_one(window, mrc_path)
    panel = window.workflow.display_panel
    panel.binning.setCurrentIndex(panel.binning.findData(2))
    assert item.display.binning == 2
    assert shown_slice(window).shape == (20, 24)
    # The binned image still spans the full-resolution coordinates.
    assert window.slice_view.image_item.mapRectToView(window.slice_view.image_item.boundingRect()).width() == 48
    panel.sigma.setValue(1.5)
    np.testing.assert_allclose(shown_slice(window), prepare_slice(volume[6], 2, 1.5))
    levels = window.slice_view.image_item.levels
    assert panel.black.value() == pytest.approx(levels[0], rel=1e-3)
    panel.white.setValue(99999.0)  # typing a level switches to manual contrast
    assert not item.display.auto_contrast and not panel.auto.isChecked()
    assert tuple(window.slice_view.image_item.levels) == pytest.approx((panel.black.value(), 99999.0))
    panel.auto.setChecked(True)
    assert item.display.auto_contrast and panel.auto.isChecked() and panel.low.isEnabled()


def test_each_tomogram_keeps_its_own_slice_and_display(qtbot, window, tmp_path, mrc_path, volume):
    first = open_one(window, mrc_path)
    second = open_one(window, write_mrc(tmp_path / "second.mrc", volume[:5] * -1, voxel_size=0))
    tree = window.tomogram_list
    assert tree.topLevelItemCount() == 2 and window.controller.session.current is second
    assert tree.topLevelItem(1).text(1) == "5 × 40 × 48" and tree.topLevelItem(1).text(2) == "unknown"
    second.z = 1
    rect = tree.visualItemRect(tree.topLevelItem(0))
    qtbot.mouseClick(tree.viewport(), Qt.LeftButton, pos=rect.center())
    assert window.controller.session.current is first
    np.testing.assert_array_equal(shown_slice(window), volume[6])
    assert "tomo.mrc" in window.windowTitle()
    tree.setCurrentItem(tree.topLevelItem(1))
    assert window.slice_view.spin.value() == 1 and window.slice_view.spin.maximum() == 4


def test_voxel_size_can_be_set_in_the_list(qtbot, window, mrc_path):
    item = open_one(window, mrc_path)
    row = window.tomogram_list.topLevelItem(0)
    messages = []
    window.tomogram_list.problem.connect(messages.append)
    row.setText(2, "7.25")
    assert item.tomogram.voxel_size == 7.25 and row.text(2) == "7.25 (set)"
    row.setText(2, "-4")
    assert item.tomogram.voxel_size == 7.25 and "positive" in messages[-1]
    row.setText(2, "banana")
    assert item.tomogram.voxel_size == 7.25 and "banana" in messages[-1]
    row.setText(2, "")
    assert item.tomogram.voxel_size == pytest.approx(13.5)


def test_cursor_readout_shows_voxel_and_value(qtbot, window, mrc_path):
    item = open_one(window, mrc_path)
    item.z = 4
    view = window.slice_view
    scene_pos = view.view_box.mapViewToScene(QPointF(11.5, 7.5))
    view._mouse_moved(scene_pos)
    assert window.cursor_label.text().startswith("x 11  y 7  z 4")
    assert "40711" in window.cursor_label.text()
    view._mouse_moved(view.view_box.mapViewToScene(QPointF(-5, 7)))
    assert window.cursor_label.text() == ""
    # And through a real mouse move over the widget:
    widget_pos = view.graphics.mapFromScene(view.view_box.mapViewToScene(QPointF(20.5, 30.5)))
    qtbot.mouseMove(view.graphics.viewport(), widget_pos)
    qtbot.waitUntil(lambda: window.cursor_label.text().startswith("x 20  y 30"), timeout=2000)


def test_drop_files_on_the_window(qtbot, window, tmp_path, volume):
    paths = [write_mrc(tmp_path / f"drop{i}.mrc", volume) for i in range(2)]
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    event = QDropEvent(QPointF(300, 300), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    window.dropEvent(event)
    assert [i.tomogram.name for i in window.controller.session.items] == ["drop0.mrc", "drop1.mrc"]


def test_bad_file_gives_one_clear_message(qtbot, window, tmp_path, mrc_path):
    bad = tmp_path / "broken.mrc"
    bad.write_bytes(b"\0" * 100)
    window.controller.open_paths([bad, mrc_path])
    box = window.last_message_box
    assert isinstance(box, QMessageBox) and box.isVisible()
    assert "broken.mrc" in box.text() and "not an MRC file" in box.text()
    assert len(window.controller.session.items) == 1  # the good one still opened
    box.close()


def test_recent_files_survive_a_restart(qtbot, settings, mrc_path):
    first = MainWindow(SessionController(settings=settings))
    qtbot.addWidget(first)
    first.controller.open_paths([mrc_path])
    first.close()
    second = MainWindow(SessionController(settings=settings))
    qtbot.addWidget(second)
    actions = [a for a in second.recent_menu.actions() if a.toolTip() == str(mrc_path.resolve())]
    assert len(actions) == 1 and actions[0].text().endswith("tomo.mrc")
    actions[0].trigger()
    assert second.controller.session.current.tomogram.path == mrc_path
    second.controller.clear_recent()
    assert not second.recent_menu.isEnabled()


def test_close_tomogram_with_the_keyboard(qtbot, window, mrc_path):
    open_one(window, mrc_path)
    window.close_action.trigger()
    assert window.controller.session.items == [] and window.slice_view.placeholder.isVisible()
    assert not window.slice_view.slider.isEnabled()


def test_shortcuts_reference_lists_the_keys(qtbot, window):
    dialog = window.show_shortcuts()
    rows = {dialog.table.item(r, 0).text(): dialog.table.item(r, 1).text() for r in range(dialog.table.rowCount())}
    assert rows["Next slice"] == "Up, W" and rows["Back 10 slices"] == "PgDown"
    assert "Open tomograms or project" in rows and "Mouse wheel" in rows["Next / previous slice"]
    assert rows["Toggle erase"] == "E" and rows["Select feature 3"] == "3" and rows["Undo"] == "Ctrl+Z"
    assert rows["Close tomogram"] == "Ctrl+W"
    assert rows["Larger brush"] == "]" and rows["Place training box at cursor"] == "B"
    dialog.close()


def test_sample_opens_from_the_menu_and_screenshot_is_not_blank(qtbot, window, tmp_path):
    window.sample_action.trigger()
    qtbot.waitUntil(lambda: window.controller.session.current is not None, timeout=60000)
    tomo = window.controller.session.current.tomogram
    assert tomo.name.startswith("ais_qt_sample") and tomo.voxel_size == 10.0
    path = tmp_path / "window.png"
    assert window.grab().save(str(path))
    image = QImage(str(path))
    assert image.width() >= 1200 and image.height() >= 800
    centre = window.slice_view.graphics.mapTo(window, window.slice_view.graphics.rect().center())
    greys = {image.pixelColor(centre.x() + dx, centre.y() + dy).value() for dx in range(-40, 40, 4)
             for dy in range(-40, 40, 4)}
    assert len(greys) > 20  # noisy tomogram pixels, not a flat or empty view


def test_real_hiv_tomogram_in_the_window(qtbot, window):
    item = open_one(window, shared_file("hiv_vlp_40A/tomogram.mrc"))
    assert item.tomogram.shape == (101, 135, 135) and item.z == 50
    window.slice_view.graphics.setFocus()
    key(qtbot, window, Qt.Key_PageUp)
    assert item.z == 60
    np.testing.assert_allclose(shown_slice(window), item.tomogram.slice(60))


def test_files_a_file_manager_hands_over_open_as_what_they_are(qtbot, window, tmp_path, volume):
    """`ais-qt FILE...` (a double-click on an associated file): tomograms open, networks join the
    Models tab, and a network that cannot be read says so in one message."""
    from pathlib import Path

    tomogram = write_mrc(tmp_path / "t.mrc", volume)
    network = Path(__file__).parent / "data" / "ais_tiny.scnm"
    broken = tmp_path / "broken.aisnet"
    broken.write_bytes(b"not a zip")
    messages = []
    window.workflow.models.networks.problem.connect(messages.append)
    window.open_any([str(tomogram), str(network), str(broken)])
    assert [i.tomogram.name for i in window.controller.session.items] == ["t.mrc"]
    assert len(window.controller.session.networks) == 1
    assert window.workflow.currentWidget() is window.workflow.models
    assert len(messages) == 1 and "broken.aisnet" in messages[0]
