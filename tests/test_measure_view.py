"""Scale bar, ruler and overview through the real window."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPointF, QRectF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from ais_qt.models.annotation.measurements import Ruler, format_nm, nice_length
from ais_qt.models.project import load_project, save_project
from ais_qt.models.session import Session
from ais_qt.models.volumes.tomogram import Tomogram
from tests.conftest import write_mrc

SHOTS = os.environ.get("AIS_QT_SCREENSHOTS")


def test_nice_lengths_and_ruler_arithmetic():
    assert [nice_length(t) for t in (0.9, 1, 3, 7.5, 19, 230)] == [0.5, 1, 2, 5, 10, 200]
    r = Ruler((10, 0, 0), (14, 3, 0))  # 5 voxels across 4 slices
    assert r.voxels == 5 and r.nm(10.0) == 5.0 and r.label(10.0) == "5.0 nm (across 4 slices)"
    assert "unknown" in r.label(None) and format_nm(1500) == "1.5 µm"
    assert Ruler.from_list(r.to_list()) == r
    with pytest.raises(ValueError):
        Ruler.from_list([1, 2])


@pytest.fixture
def ready(window, tmp_path):
    data = np.random.default_rng(0).normal(size=(30, 200, 300)).astype(np.float32)
    (item,) = window.controller.open_paths([write_mrc(tmp_path / "t.mrc", data, voxel_size=8.0)])
    return window, item


def hover(view, x, y):
    viewport = view.graphics.viewport()
    pos = QPointF(view.graphics.mapFromScene(view.view_box.mapViewToScene(QPointF(x, y))))
    QApplication.sendEvent(viewport, QMouseEvent(QEvent.MouseMove, pos, viewport.mapToGlobal(pos), Qt.NoButton,
                                                 Qt.NoButton, Qt.NoModifier))


def test_ruler_across_slices_with_keys_undo_and_project(qtbot, ready, tmp_path):
    window, item = ready
    view = window.slice_view
    view.graphics.setFocus()
    item.z = 10
    hover(view, 50.0, 60.0)
    qtbot.keyClick(view.graphics, Qt.Key_M)
    assert window.rulers.pending == pytest.approx((10.0, 60.0, 50.0), abs=1) and not item.rulers
    item.z = 16
    hover(view, 58.0, 60.0)
    qtbot.keyClick(view.graphics, Qt.Key_M)
    (ruler,) = item.rulers
    assert ruler.voxels == pytest.approx(10.0, abs=1) and ruler.nm(8.0) == pytest.approx(ruler.voxels * 0.8)
    text = ruler.label(8.0)
    assert text.endswith("nm (across 6 slices)") and text in window.statusBar().currentMessage()
    labels = [g for g in window.rulers.graphics if hasattr(g, "textItem")]
    assert labels and labels[0].textItem.toPlainText() == text
    if SHOTS:
        view.view_box.setRange(QRectF(0, 0, 120, 90))  # zoomed in: the overview shows
        window.grab().save(os.path.join(SHOTS, "ruler_scalebar.png"))
    # Kept in the project.
    item.cuts = (77, 123)  # where the side views cut is kept too
    save_project(window.controller.session, tmp_path / "p.aisqt")
    other = Session()
    load_project(tmp_path / "p.aisqt", other, Tomogram.open)
    assert other.items[0].rulers == [ruler] and other.items[0].cuts == (77, 123)
    qtbot.keyClick(view.graphics, Qt.Key_M, Qt.ShiftModifier)
    assert item.rulers == []
    window.undo_action.trigger()
    assert item.rulers == [ruler]
    window.undo_action.trigger()
    assert item.rulers == []


def test_scale_bar_follows_zoom_and_voxel_size(qtbot, ready):
    window, item = ready
    bar = window.slice_view.scale_bar
    assert bar.isVisible()
    view_box = window.slice_view.view_box
    view_box.setRange(QRectF(0, 0, 300, 200), padding=0)
    wide = bar.length_nm
    target = view_box.viewRect().width() * 0.8 * 0.2  # a fifth of the visible width, in nm
    assert target / 2.5 < wide <= target
    view_box.setRange(QRectF(0, 0, 30, 20), padding=0)
    assert bar.length_nm < wide and bar.text.toPlainText().endswith("nm")
    item.tomogram.voxel_size = 16.0
    assert bar.length_nm >= wide / 10
    assert window.ortho.xz.scale_bar is not None


def test_overview_appears_when_zoomed_and_a_click_centres_there(qtbot, ready):
    window, item = ready
    view = window.slice_view
    view.fit()
    assert not view.overview.isVisible()
    view.view_box.setRange(QRectF(0, 0, 60, 40), padding=0)
    overview = view.overview
    assert overview.isVisible() and overview.visible_rect.width() < 100
    qtbot.mouseClick(overview, Qt.LeftButton, pos=overview.rect().center())
    centre = view.view_box.viewRect().center()
    assert abs(centre.x() - 150) < 10 and abs(centre.y() - 100) < 10
