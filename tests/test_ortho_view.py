"""The side views through the real window: key O, shared point, painting across slices, interpolation."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QApplication

from tests.conftest import write_mrc

SHOTS = os.environ.get("AIS_QT_SCREENSHOTS")  # a folder: save screenshots there to look at


@pytest.fixture
def ready(window, tmp_path):
    rng = np.random.default_rng(0)
    data = rng.normal(size=(40, 120, 160)).astype(np.float32)
    data[:, 50:60, :] += 3  # a bright sheet along x and z: visible in XY and XZ views
    (item,) = window.controller.open_paths([write_mrc(tmp_path / "t.mrc", data)])
    window.editor.add_feature("Membrane")
    window.resize(1400, 900)
    return window, item


def send(view, graphics, kind, x, y, button=Qt.LeftButton, buttons=None, modifiers=Qt.NoModifier):
    viewport = graphics.viewport()
    pos = QPointF(graphics.mapFromScene(view.mapViewToScene(QPointF(x, y))))
    event = QMouseEvent(kind, pos, viewport.mapToGlobal(pos), button if kind != QEvent.MouseMove else Qt.NoButton,
                        buttons if buttons is not None else button, modifiers)
    QApplication.sendEvent(viewport, event)


def drag(view, graphics, points, button=Qt.LeftButton):
    send(view, graphics, QEvent.MouseButtonPress, *points[0], button)
    for p in points[1:]:
        send(view, graphics, QEvent.MouseMove, *p, button, buttons=button)
    send(view, graphics, QEvent.MouseButtonRelease, *points[-1], button, buttons=Qt.NoButton)


def click(view, graphics, x, y, modifiers=Qt.NoModifier):
    send(view, graphics, QEvent.MouseButtonPress, x, y, modifiers=modifiers)
    send(view, graphics, QEvent.MouseButtonRelease, x, y, buttons=Qt.NoButton, modifiers=modifiers)


def test_key_o_shows_the_side_views_and_clicks_move_the_shared_point(qtbot, ready, tmp_path):
    window, item = ready
    ortho = window.ortho
    assert not ortho.xz.isVisible()
    qtbot.keyClick(window.slice_view.graphics, Qt.Key_O)
    assert ortho.shown and ortho.xz.isVisible() and ortho.yz.isVisible()
    qtbot.wait(50)
    xz, yz = ortho.xz, ortho.yz
    assert xz.image_item.image.shape == (40, 160) and yz.image_item.image.shape == (120, 40)
    # The XZ view at row 55 shows the bright sheet; at row 10 it does not.
    item.cuts = (55, 80)
    assert xz.image_item.image.mean() > 2
    # Click in XZ: the XY slice goes to that z and the YZ view to that x.
    click(xz.view_box, xz.graphics, 30.5, 12.5)
    assert item.z == 12 and item.cuts == (55, 30)
    assert yz.index == 30 and abs(yz.z_line.value() - 12.5) < 1e-6
    # Click in YZ (z across, y up): slice and the XZ row follow.
    click(yz.view_box, yz.graphics, 20.5, 70.5)
    assert item.z == 20 and item.cuts == (70, 30)
    # Ctrl+click in XY moves both side views; a plain click there still paints.
    click(window.slice_view.view_box, window.slice_view.graphics, 100.5, 40.5, Qt.ControlModifier)
    assert item.cuts == (40, 100)
    assert item.annotation.mask(window.controller.session.features.active.id, 20) is None  # not painted
    assert abs(ortho.row_line.value() - 40.5) < 1e-6 and abs(ortho.column_line.value() - 100.5) < 1e-6
    # Keys move the plane under the mouse (which takes the focus on entering).
    xz.graphics.setFocus()
    qtbot.keyClick(xz.graphics, Qt.Key_Up)
    assert item.cuts == (41, 100)
    # The wheel over a side view moves its plane; Ctrl+wheel sizes the brush there too.
    viewport = xz.graphics.viewport()
    centre = QPointF(viewport.width() / 2, viewport.height() / 2)

    def wheel(modifiers):
        QApplication.sendEvent(viewport, QWheelEvent(centre, viewport.mapToGlobal(centre), QPoint(), QPoint(0, 240),
                                                     Qt.NoButton, modifiers, Qt.NoScrollPhase, False))

    wheel(Qt.NoModifier)
    assert item.cuts == (43, 100)
    radius = window.editor.tools.radius
    wheel(Qt.ControlModifier)
    assert window.editor.tools.radius > radius and item.cuts == (43, 100)
    assert window.controller.settings.value("view/side_views") in (True, "true")  # remembered
    qtbot.keyClick(xz.graphics, Qt.Key_O)  # from a side view too
    assert not xz.isVisible() and window.live.fill_budget == 0
    assert window.controller.settings.value("view/side_views") in (False, "false")


def test_a_stroke_in_xz_paints_many_slices_and_undoes_as_one(qtbot, ready, tmp_path):
    window, item = ready
    window.ortho.set_shown(True)
    qtbot.wait(50)
    xz = window.ortho.xz
    item.cuts = (55, 80)
    fid = window.controller.session.features.active.id
    history = window.controller.session.history
    steps = len(history)
    drag(xz.view_box, xz.graphics, [(40.5, 5.5), (40.5, 15.5), (40.5, 30.5)])
    assert len(history) == steps + 1
    painted = [z for z in range(40) if item.annotation.mask(fid, z) is not None and item.annotation.mask(fid, z)[55, 40]]
    assert painted[0] <= 5 and painted[-1] >= 30 and len(painted) >= 26
    # It shows in the XY view of one of those slices and in the XZ overlay.
    item.z = 20
    assert window.annotation_layer.overlays[fid].buffer[55, 40] != 0
    qtbot.wait(60)
    assert xz.annotation_item.image[20, 40, 3] > 0
    window.undo_action.trigger()
    assert not any(item.annotation.mask(fid, z) is not None and item.annotation.mask(fid, z).any() for z in range(40))
    if SHOTS:
        window.editor.redo()
        window.grab().save(os.path.join(SHOTS, "ortho.png"))


def test_key_i_interpolates_between_two_drawn_slices(qtbot, ready):
    window, item = ready
    view = window.slice_view
    fid = window.controller.session.features.active.id
    item.z = 10
    drag(view.view_box, view.graphics, [(30.5, 30.5), (60.5, 30.5)])
    item.z = 20
    drag(view.view_box, view.graphics, [(50.5, 80.5), (90.5, 80.5)])
    steps = len(window.controller.session.history)
    view.graphics.setFocus()
    qtbot.keyClick(view.graphics, Qt.Key_I)
    assert len(window.controller.session.history) == steps + 1
    middle = item.annotation.mask(fid, 15)
    ys, xs = np.nonzero(middle)
    assert 50 < ys.mean() < 60 and 55 < xs.mean() < 70  # halfway between the two strokes
    assert all(item.annotation.mask(fid, z).any() for z in range(11, 20))
    window.undo_action.trigger()
    assert item.annotation.mask(fid, 15) is None or not item.annotation.mask(fid, 15).any()
