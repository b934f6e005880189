"""Annotating through the real window: mouse strokes, keys, the feature panel, projects."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QApplication

from ais_qt.controllers.session_controller import SessionController
from ais_qt.views.main_window import MainWindow
from tests.conftest import write_mrc


@pytest.fixture
def big_mrc(tmp_path):
    return write_mrc(tmp_path / "big.mrc", np.random.default_rng(0).normal(size=(8, 200, 240)).astype(np.float32))


@pytest.fixture
def ready(window, big_mrc):
    """A window with one tomogram open, the mouse over the slice, and a Membrane feature."""
    (item,) = window.controller.open_paths([big_mrc])
    window.editor.add_feature("Membrane")
    window.slice_view.graphics.setFocus()
    return window, item


def widget_pos(window, x, y) -> QPointF:
    view = window.slice_view
    return QPointF(view.graphics.mapFromScene(view.view_box.mapViewToScene(QPointF(x, y))))


def mouse(window, kind, x, y, button=Qt.LeftButton, buttons=None):
    viewport = window.slice_view.graphics.viewport()
    pos = widget_pos(window, x, y)
    event = QMouseEvent(kind, pos, viewport.mapToGlobal(pos), button if kind != QEvent.MouseMove else Qt.NoButton,
                        buttons if buttons is not None else button, Qt.NoModifier)
    QApplication.sendEvent(viewport, event)


def drag(window, points, button=Qt.LeftButton):
    mouse(window, QEvent.MouseButtonPress, *points[0], button)
    for p in points[1:]:
        mouse(window, QEvent.MouseMove, *p, button, buttons=button)
    mouse(window, QEvent.MouseButtonRelease, *points[-1], button, buttons=Qt.NoButton)


def hover(window, x, y):
    mouse(window, QEvent.MouseMove, x, y, Qt.NoButton, buttons=Qt.NoButton)


def key(qtbot, window, k, modifier=Qt.NoModifier):
    qtbot.keyClick(window.slice_view.graphics, k, modifier)


def mask(window, item, feature=None):
    feature = feature or window.controller.session.features.active
    return item.annotation.mask(feature.id, item.z)


def test_left_drag_paints_right_drag_erases_and_ctrl_z_undoes(qtbot, ready):
    window, item = ready
    window.editor.tools.radius = 4
    drag(window, [(40, 50), (80, 50), (120, 52)])
    painted = mask(window, item)
    assert painted[50, 45:115].all() and painted.sum() > 500
    before = painted.sum()
    drag(window, [(80, 50), (82, 50)], button=Qt.RightButton)
    assert not mask(window, item)[50, 80] and mask(window, item).sum() < before
    overlay = window.annotation_layer.overlays[window.controller.session.features.active.id]
    assert overlay.buffer[50, 50] != 0 and overlay.buffer[50, 80] == 0  # what is drawn follows the mask
    qtbot.keyClick(window, Qt.Key_Z, Qt.ControlModifier)
    assert mask(window, item).sum() == before
    qtbot.keyClick(window, Qt.Key_Z, Qt.ControlModifier)
    assert mask(window, item) is None and overlay.buffer.max() == 0
    qtbot.keyClick(window, Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)
    assert mask(window, item).sum() == before
    assert window.undo_action.text() == "&Undo Paint Membrane"


def test_keys_pick_features_resize_brush_and_toggle_erase(qtbot, ready):
    window, item = ready
    session, tools = window.controller.session, window.editor.tools
    second = window.editor.add_feature("Ribosome")
    window.editor.add_feature("Actin")
    key(qtbot, window, Qt.Key_1)
    assert session.features.active.name == "Membrane"
    key(qtbot, window, Qt.Key_Tab)
    assert session.features.active is second
    assert window.workflow.feature_panel.list.currentRow() == 1
    radius = tools.radius
    key(qtbot, window, Qt.Key_BracketRight)
    assert tools.radius > radius and window.workflow.feature_panel.radius.value() == pytest.approx(tools.radius)
    key(qtbot, window, Qt.Key_BracketLeft)
    key(qtbot, window, Qt.Key_BracketLeft)
    assert tools.radius < radius
    key(qtbot, window, Qt.Key_E)
    assert tools.erase and window.workflow.feature_panel.erase.isChecked()
    key(qtbot, window, Qt.Key_E)
    assert not tools.erase
    viewport = window.slice_view.graphics.viewport()
    centre = QPointF(viewport.width() / 2, viewport.height() / 2)
    r = tools.radius
    QApplication.sendEvent(viewport, QWheelEvent(centre, viewport.mapToGlobal(centre), QPoint(), QPoint(0, 240),
                                                 Qt.NoButton, Qt.ControlModifier, Qt.NoScrollPhase, False))
    assert tools.radius > r and item.z == 4  # Ctrl+wheel sizes the brush, it does not change slice


def test_boxes_with_keys_and_the_box_tool(qtbot, ready):
    window, item = ready
    hover(window, 100, 100)
    key(qtbot, window, Qt.Key_B)
    (box,) = item.annotation.boxes
    assert (box.z, box.y, box.x, box.size) == (item.z, 100, 100, 64)
    assert window.annotation_layer.boxes_item.entries[0][2] is False  # empty: a negative, drawn dashed
    drag(window, [(95, 95), (105, 100)])
    assert window.annotation_layer.boxes_item.entries[0][2] is True  # now holds annotation: solid
    key(qtbot, window, Qt.Key_Up)
    assert window.annotation_layer.boxes_item.entries == []  # boxes show on their own slice
    key(qtbot, window, Qt.Key_Down)
    hover(window, 110, 90)
    key(qtbot, window, Qt.Key_Delete)
    assert item.annotation.boxes == []
    key(qtbot, window, Qt.Key_B, Qt.ShiftModifier)
    assert window.editor.tools.tool == "box"
    window.workflow.feature_panel.box_size.setValue(32)
    mouse(window, QEvent.MouseButtonPress, 150, 60)
    mouse(window, QEvent.MouseButtonRelease, 150, 60, buttons=Qt.NoButton)
    assert [(b.y, b.x, b.size) for b in item.annotation.boxes] == [(60, 150, 32)]
    mouse(window, QEvent.MouseButtonPress, 150, 60, Qt.RightButton)
    mouse(window, QEvent.MouseButtonRelease, 150, 60, Qt.RightButton, buttons=Qt.NoButton)
    assert item.annotation.boxes == []


def test_fill_key_and_lasso(qtbot, ready):
    window, item = ready
    window.editor.tools.radius = 2
    drag(window, [(50, 50), (100, 50), (100, 100), (50, 100), (50, 50)])
    hover(window, 75, 75)
    key(qtbot, window, Qt.Key_F)
    assert mask(window, item)[60:90, 60:90].all()
    messages = []
    window.annotation_layer.message.connect(messages.append)
    hover(window, 200, 150)
    key(qtbot, window, Qt.Key_F)
    assert "not enclosed" in messages[-1] and not mask(window, item)[150, 200]
    key(qtbot, window, Qt.Key_L)
    drag(window, [(150, 150), (190, 150), (190, 190), (150, 190)])
    assert mask(window, item)[170, 170] and window.annotation_layer.lasso_item.path().isEmpty()


def test_feature_panel_add_rename_hide_delete(qtbot, ready):
    window, item = ready
    panel = window.workflow.feature_panel
    features = window.controller.session.features
    qtbot.mouseClick(panel.add_button, Qt.LeftButton)
    assert [f.name for f in features] == ["Membrane", "Ribosome"] and features.active.name == "Ribosome"
    panel.list.item(1).setText("Ribo")
    assert features.features[1].name == "Ribo"
    panel.list.item(1).setCheckState(Qt.Unchecked)
    assert not features.features[1].visible
    assert not window.annotation_layer.overlays[features.features[1].id].isVisible()
    panel.opacity.setValue(90)
    assert features.active.opacity == pytest.approx(0.9)
    drag(window, [(30, 30), (40, 30)])
    assert mask(window, item) is None  # a hidden feature is not painted blind
    panel.list.item(1).setCheckState(Qt.Checked)
    drag(window, [(30, 30), (40, 30)])
    assert mask(window, item) is not None
    qtbot.mouseClick(panel.delete_button, Qt.LeftButton)
    assert [f.name for f in features] == ["Membrane"]
    window.undo_action.trigger()
    assert [f.name for f in features] == ["Membrane", "Ribo"] and item.annotation.annotated_slices(2) == [4]


def test_annotations_stay_with_their_tomogram(qtbot, ready, tmp_path):
    window, first = ready
    drag(window, [(20, 20), (30, 20)])
    (second,) = window.controller.open_paths([write_mrc(tmp_path / "other.mrc", np.zeros((5, 60, 70), np.float32))])
    assert window.annotation_layer.overlays[1].buffer.shape == (60, 70)
    assert window.annotation_layer.overlays[1].buffer.max() == 0
    drag(window, [(10, 10), (15, 10)])
    window.controller.session.current = first
    assert window.annotation_layer.overlays[1].buffer[20, 25] != 0
    assert second.annotation.mask(1, second.z)[10, 12] and not first.annotation.mask(1, first.z)[10, 12]


def test_save_reopen_and_title(qtbot, ready, tmp_path, settings):
    window, item = ready
    drag(window, [(20, 20), (60, 20)])
    hover(window, 100, 100)
    qtbot.keyClick(window.slice_view.graphics, Qt.Key_B)
    assert window.windowTitle().startswith("big.mrc — untitled*")
    path = tmp_path / "work.aisqt"
    assert window.save_project_as(str(path))
    assert window.windowTitle() == "big.mrc — work.aisqt — Ais-Qt"
    other = MainWindow(SessionController(settings=settings), autosave_seconds=0)
    qtbot.addWidget(other)
    other.open_any([str(path)])
    loaded = other.controller.session.current
    np.testing.assert_array_equal(loaded.annotation.mask(1, loaded.z), item.annotation.mask(1, item.z))
    assert loaded.annotation.boxes == item.annotation.boxes
    assert other.project.path == path and not other.project.dirty


def test_opening_a_bad_project_keeps_the_session(qtbot, ready, tmp_path):
    window, item = ready
    bad = tmp_path / "bad.aisqt"
    bad.write_bytes(b"garbage")
    window.open_any([str(bad)])
    assert "bad.aisqt" in window.last_message_box.text() and "damaged" in window.last_message_box.text()
    assert window.controller.session.items == [item] and window.project.path is None
    window.last_message_box.close()


def test_autosave_and_untitled_work_goes_to_a_recovery_file(qtbot, ready, tmp_path):
    window, item = ready
    drag(window, [(20, 20), (60, 20)])
    window.project.autosave()
    qtbot.waitUntil(lambda: not window.project.dirty, timeout=10000)
    recovery = window.project.recovery_path
    assert recovery is not None and recovery.exists() and recovery.suffix == ".aisqt"
    drag(window, [(20, 40), (60, 40)])
    saved = window.project.save_on_close()
    assert saved == recovery and str(recovery.resolve()) in window.controller.recent_files()
    assert window.save_project_as(str(tmp_path / "named.aisqt"))
    assert not recovery.exists()  # once the work has a home, the recovery copy goes


def test_closing_an_annotated_tomogram_asks_first(qtbot, ready):
    window, item = ready
    drag(window, [(20, 20), (60, 20)])
    box = window.close_tomogram()
    assert box is not None and item in window.controller.session.items
    next(b for b in box.buttons() if b.text() == "Close tomogram").click()
    assert item not in window.controller.session.items


def test_import_and_export_labels_through_the_window(qtbot, ready, tmp_path):
    window, item = ready
    labels = np.zeros(item.tomogram.shape, np.int8)
    labels[2, 10:20, 10:30] = 4
    path = write_mrc(tmp_path / "labels.mrc", labels)
    from ais_qt.views.label_dialog import NEW_FEATURE, export_labels, import_labels

    dialog = import_labels(window)
    dialog.path.setText(str(path))
    dialog.value.setValue(4)
    dialog.feature.setCurrentIndex(dialog.feature.findData(NEW_FEATURE))
    dialog.accept()
    qtbot.waitUntil(lambda: len(window.controller.session.features) == 2, timeout=10000)
    feature = window.controller.session.features.active
    assert item.annotation.annotated_slices(feature.id) == [2] and item.z == 2
    out = tmp_path / "out.mrc"
    export_labels(window, str(out))
    window.controller.runner.wait()
    qtbot.waitUntil(out.exists, timeout=10000)
    from ais_qt.models.volumes.tomogram import Tomogram

    np.testing.assert_array_equal(np.asarray(Tomogram.open(out).data), (labels == 4).astype(np.uint8))


def test_screenshot_of_an_annotated_slice(qtbot, ready, tmp_path):
    window, item = ready
    drag(window, [(40, 60), (160, 80)])
    hover(window, 120, 120)
    key(qtbot, window, Qt.Key_B)
    path = tmp_path / "annotated.png"
    assert window.grab().save(str(path))
    from PySide6.QtGui import QImage

    image = QImage(str(path))
    colour = window.controller.session.features.active.colour.lstrip("#")
    rgb = tuple(int(colour[i:i + 2], 16) for i in (0, 2, 4))
    # Somewhere on screen the overlay blends the feature's colour into the grey slice.
    tinted = [image.pixelColor(x, y) for x in range(0, image.width(), 3) for y in range(0, image.height(), 3)]
    assert any(abs(c.red() - c.blue()) > 60 and (c.red() > c.blue()) == (rgb[0] > rgb[2]) for c in tinted)
