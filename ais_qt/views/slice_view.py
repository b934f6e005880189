"""The XY slice view: one slice of the current tomogram, browsed with the wheel, keys, slider or spin box.

Mouse: wheel = next/previous slice, Shift+wheel = zoom at the cursor, middle drag = pan; left and
right drags paint and erase when a feature is active (annotation_layer), else pan and zoom. Image coordinates are full-resolution voxels whatever the display binning,
with Y pointing up as in IMOD.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QSpinBox, QVBoxLayout, QWidget

from ais_qt.models.volumes.display import SliceRenderer
from ais_qt.models.session import OpenTomogram, Session
from ais_qt.views.overview import Overview
from ais_qt.views.scale_bar import ScaleBar

# mouseRateLimit 0: every mouse move reaches the brush, so fast strokes keep their curves
# (pyqtgraph's default drops moves closer than 10 ms; Qt already merges moves when we are busy).
pg.setConfigOptions(imageAxisOrder="row-major", antialias=False, mouseRateLimit=0)

WHEEL_STEP = 120  # one notch of a standard mouse wheel


def navigation_actions(widget, texts: tuple[str, ...], step, fit) -> list[QAction]:
    """The browsing keys of a view, active while the mouse is over it: Up/W and Down/S step by one,
    PageUp/PageDown by ten, Home/R fit. ``texts``: the four steps' and the fit's names."""
    actions = []
    for text, keys, delta in zip(texts, (("Up", "W"), ("Down", "S"), ("PgUp",), ("PgDown",)), (1, -1, 10, -10)):
        action = QAction(text, widget)
        action.setShortcuts([QKeySequence(k) for k in keys])
        action.triggered.connect(lambda _=False, d=delta: step(d))
        actions.append(action)
    reset = QAction(texts[4], widget)
    reset.setShortcuts([QKeySequence("Home"), QKeySequence("R")])
    reset.triggered.connect(fit)
    actions.append(reset)
    for action in actions:
        action.setShortcutContext(Qt.WidgetWithChildrenShortcut)
    widget.addActions(actions)
    return actions


class SliceViewBox(pg.ViewBox):
    """A ViewBox whose plain wheel moves through slices; Shift+wheel keeps pyqtgraph's zoom.

    A ``handler`` (the annotation layer) may claim clicks and drags, and takes Ctrl+wheel; a
    ``point_handler`` takes Ctrl+click (x, y) (the side views cut through that point).
    """

    wheel_slices = Signal(int)

    def __init__(self):
        super().__init__(lockAspect=True, enableMenu=False, invertY=False)
        self._wheel_rest = 0.0  # touchpads send fractions of a notch
        self.handler = None
        self.point_handler = None

    def wheelEvent(self, ev, axis=None):
        if ev.modifiers() & Qt.ShiftModifier:
            super().wheelEvent(ev, axis)
            return
        self._wheel_rest += ev.delta() / WHEEL_STEP
        steps = int(self._wheel_rest)
        if steps:
            self._wheel_rest -= steps
            if ev.modifiers() & Qt.ControlModifier:
                if self.handler is not None:
                    self.handler.wheel_radius(steps)
            else:
                self.wheel_slices.emit(steps)
        ev.accept()

    def mouseDragEvent(self, ev, axis=None):
        if self.handler is None or not self.handler.drag(ev):
            super().mouseDragEvent(ev, axis)

    def mouseClickEvent(self, ev):
        if (ev.button() == Qt.LeftButton and ev.modifiers() & Qt.ControlModifier
                and self.point_handler is not None):
            p = self.mapToView(ev.pos())
            self.point_handler(p.x(), p.y())
            ev.accept()
            return
        if self.handler is None or not self.handler.click(ev):
            super().mouseClickEvent(ev)


class SliceView(QWidget):
    """Shows the session's current tomogram; holds no state of its own beyond what it draws."""

    cursor_moved = Signal(str)  # readout for the status bar: voxel under the cursor and its value
    levels_shown = Signal(float, float)  # black and white levels of the image on screen

    def __init__(self, session: Session, parent=None):
        super().__init__(parent)
        self.session = session
        self.item: OpenTomogram | None = None
        self.renderer = SliceRenderer()

        self.graphics = pg.GraphicsView(background="#1e1e1e")
        self.graphics.setFocusPolicy(Qt.StrongFocus)
        self.view_box = SliceViewBox()
        self.graphics.setCentralItem(self.view_box)
        self.image_item = pg.ImageItem()
        self.view_box.addItem(self.image_item)
        self.placeholder = pg.TextItem("Open a tomogram: File > Open, drag a .mrc file here,\n"
                                       "or File > Open sample tomogram", color="#9a9a9a", anchor=(0.5, 0.5))
        self.view_box.addItem(self.placeholder)

        self.slider = QSlider(Qt.Horizontal)
        self.slider.setToolTip("Slice (Up/Down or W/S: one slice, PageUp/PageDown: ten)")
        self.spin = QSpinBox()
        self.spin.setToolTip(self.slider.toolTip())
        self.spin.setKeyboardTracking(False)
        self.count_label = QLabel("/ 0")
        row = QHBoxLayout()
        row.addWidget(QLabel("Slice"))
        row.addWidget(self.slider, 1)
        row.addWidget(self.spin)
        row.addWidget(self.count_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.graphics, 1)
        layout.addLayout(row)

        self.scale_bar = ScaleBar(self.view_box)
        self.overview = Overview(self)
        self.actions = self._make_actions()
        self.slider.valueChanged.connect(self._set_z)
        self.spin.valueChanged.connect(self._set_z)
        self.view_box.wheel_slices.connect(lambda steps: self._step(steps))
        self.graphics.scene().sigMouseMoved.connect(self._mouse_moved)
        session.current_changed.connect(self._attach)
        self._attach(session.current)

    # ------------------------------------------------------------------ actions
    def _make_actions(self) -> list[QAction]:
        return navigation_actions(self, ("Next slice", "Previous slice", "Forward 10 slices", "Back 10 slices",
                                         "Fit slice in view"), self._step, self.fit)

    def enterEvent(self, event):
        # Keys browse the slice under the mouse, without a click first.
        self.graphics.setFocus(Qt.MouseFocusReason)
        super().enterEvent(event)

    # ------------------------------------------------------------ model binding
    def _attach(self, item: OpenTomogram | None) -> None:
        if self.item is not None:
            self.item.z_changed.disconnect(self._on_z)
            self.item.display.events.all.disconnect(self._on_display)
            self.item.tomogram.voxel_size_changed.disconnect(self.scale_bar.set_voxel_size)
            if item is None or item.tomogram is not self.item.tomogram:
                self.renderer.forget(self.item.tomogram)
        self.item = item
        self.placeholder.setVisible(item is None)
        self.scale_bar.set_voxel_size(item.tomogram.voxel_size if item is not None else None)
        if item is None:
            self.image_item.clear()
            self.overview.set_image(None, (0, 1), (1, 1))
            self._configure_range(0)
            self.view_box.setRange(QRectF(-1, -1, 2, 2))
            return
        item.z_changed.connect(self._on_z)
        item.display.events.all.connect(self._on_display)
        item.tomogram.voxel_size_changed.connect(self.scale_bar.set_voxel_size)
        self._configure_range(item.tomogram.shape[0])
        self._on_z(item.z)
        self.fit()

    def _configure_range(self, nz: int) -> None:
        for widget in (self.slider, self.spin):
            widget.blockSignals(True)
            widget.setRange(0, max(nz - 1, 0))
            widget.blockSignals(False)
        self.slider.setEnabled(nz > 0)
        self.spin.setEnabled(nz > 0)
        self.count_label.setText(f"/ {max(nz - 1, 0)}")

    def _set_z(self, z: int) -> None:
        if self.item is not None:
            self.item.z = z

    def _step(self, delta: int) -> None:
        if self.item is not None:
            self.item.step(delta)

    def _on_z(self, z: int) -> None:
        for widget in (self.slider, self.spin):
            widget.blockSignals(True)
            widget.setValue(z)
            widget.blockSignals(False)
        self.redraw()

    def _on_display(self, *_):
        self.redraw()

    # ------------------------------------------------------------------ drawing
    def redraw(self) -> None:
        item = self.item
        if item is None:
            return
        display = item.display
        image = self.renderer.image(item.tomogram, item.z, display)
        levels = self.renderer.levels(image, display)
        self.image_item.setImage(image, levels=levels, autoLevels=False)
        b = display.binning
        self.image_item.setRect(QRectF(0, 0, image.shape[1] * b, image.shape[0] * b))
        self.overview.set_image(image, levels, item.annotation.slice_shape)
        self.levels_shown.emit(*levels)

    def fit(self) -> None:
        if self.item is not None:
            _, ny, nx = self.item.tomogram.shape
            self.view_box.setRange(QRectF(0, 0, nx, ny), padding=0.02)

    def displayed_image(self) -> np.ndarray | None:
        return self.image_item.image

    # ------------------------------------------------------------------ readout
    def voxel_at(self, scene_pos) -> tuple[int, int, int] | None:
        """(z, y, x) of the voxel under a scene position, or None outside the tomogram."""
        if self.item is None:
            return None
        p = self.view_box.mapSceneToView(scene_pos)
        x, y = math.floor(p.x()), math.floor(p.y())
        _, ny, nx = self.item.tomogram.shape
        if 0 <= x < nx and 0 <= y < ny:
            return self.item.z, y, x
        return None

    def _mouse_moved(self, scene_pos) -> None:
        voxel = self.voxel_at(scene_pos)
        if voxel is None:
            self.cursor_moved.emit("")
            return
        z, y, x = voxel
        value = self.item.tomogram.value_at(z, y, x)
        self.cursor_moved.emit(f"x {x}  y {y}  z {z}   value {value:.6g}")
