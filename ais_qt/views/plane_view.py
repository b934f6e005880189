"""A side view of the volume: the XZ plane (shown below the XY view) or the YZ plane (to its right).

XZ: x across, z up. YZ: z across, y up, so its rows line up with the XY view's. Shown: the tomogram,
every visible feature's annotation, training boxes (one slice thick), the networks' predictions of
the slices predicted so far, picked particles near the plane, and dashed lines where the other
views cut. Mouse: click = move the other views there (the XY slice and the other side view);
left/right drag = paint/erase with the active feature (one undo step for the whole stroke, across
many slices); wheel = move this plane, Shift+wheel = zoom, Ctrl+wheel = brush size, middle drag = pan.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QAction, QColor
from PySide6.QtWidgets import QGraphicsObject, QLabel, QVBoxLayout, QWidget

from ais_qt.controllers.tasks import coalescing_timer
from ais_qt.models.volumes.display import percentile_levels, prepare_slice
from ais_qt.models.volumes.orthoslices import OrthoSlicer, annotation_plane, plane_boxes
from ais_qt.views.overlays import BrushCursor, box_pen
from ais_qt.views.prediction_layer import PREDICTION_OPACITY
from ais_qt.views.scale_bar import ScaleBar
from ais_qt.views.annotation_layer import RADIUS_STEP
from ais_qt.views.slice_view import SliceViewBox, navigation_actions

TITLES = {"xz": "XZ", "yz": "YZ"}


class PlaneBoxes(QGraphicsObject):
    """Training boxes cut by the plane: one slice thick, solid when they hold their feature."""

    def __init__(self):
        super().__init__()
        self.entries: list[tuple[QRectF, QColor, bool]] = []
        self.extent = QRectF()
        self.setZValue(20)

    def set_entries(self, entries, extent: QRectF) -> None:
        self.prepareGeometryChange()
        self.entries, self.extent = entries, extent
        self.update()

    def boundingRect(self) -> QRectF:
        return self.extent

    def paint(self, painter, option, widget=None):
        for rect, colour, positive in self.entries:
            painter.setPen(box_pen(colour, positive))
            painter.drawRect(rect)


def _rgba(mask: np.ndarray, colour: str, alpha: float, out: np.ndarray) -> None:
    c = QColor(colour)
    out[mask] = (c.red(), c.green(), c.blue(), int(round(alpha * 255)))


class PlaneView(QWidget):
    cursor_moved = Signal(str)  # status-bar readout
    hovered = Signal(object)  # (z, y, x) under the mouse, or None: the other views mark it

    def __init__(self, axis: str, session, editor, live, slicer_for=OrthoSlicer, parent=None):
        super().__init__(parent)
        self.axis, self.session, self.editor, self.live = axis, session, editor, live
        self.slicer_for = slicer_for  # tomogram -> its OrthoSlicer, shared by the side views
        self.item = None
        self.slicer: OrthoSlicer | None = None
        self._drawn_index: int | None = None  # the plane the image shows
        self.particles = None  # the particle layer, whose state and colour are shown here too
        self.levels: tuple[float, float] | None = None  # the XY view's, so contrast matches

        self.graphics = pg.GraphicsView(background="#1e1e1e")
        self.graphics.setFocusPolicy(Qt.StrongFocus)
        self.view_box = SliceViewBox()  # plain wheel moves this plane, Ctrl+wheel sizes the brush
        self.view_box.handler = self
        self.view_box.wheel_slices.connect(self.step)
        self.graphics.setCentralItem(self.view_box)
        self.image_item = pg.ImageItem()
        self.prediction_item = pg.ImageItem()
        self.prediction_item.setZValue(5)
        self.annotation_item = pg.ImageItem()
        self.annotation_item.setZValue(10)
        self.boxes = PlaneBoxes()
        self.scatter = pg.ScatterPlotItem(pxMode=False, symbol="o", brush=None)
        self.scatter.setZValue(40)
        self.cursor = BrushCursor()
        self.cursor.setVisible(False)
        dashed = pg.mkPen("#e0e0e0", width=1, style=Qt.DashLine, cosmetic=True)
        # XZ: the XY slice is a horizontal line (z), the YZ plane a vertical one (x). YZ: the XY
        # slice is vertical (z), the XZ plane horizontal (y).
        self.z_line = pg.InfiniteLine(angle=0 if axis == "xz" else 90, pen=dashed, movable=False)
        self.cut_line = pg.InfiniteLine(angle=90 if axis == "xz" else 0, pen=dashed, movable=False)
        self.marker = pg.ScatterPlotItem(symbol="+", size=14, pen=pg.mkPen("#ffffff", width=1.5), brush=None)
        self.marker.setZValue(50)
        for graphic in (self.image_item, self.prediction_item, self.annotation_item, self.boxes, self.scatter,
                        self.cursor, self.z_line, self.cut_line, self.marker):
            self.view_box.addItem(graphic)
        self.scale_bar = ScaleBar(self.view_box)
        self.title = QLabel()
        self.title.setStyleSheet("color: #d8d8d8; background: #1e1e1e; padding: 2px 6px;")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.title)
        layout.addWidget(self.graphics, 1)

        self.actions = self._make_actions()
        self.overlay_timer = coalescing_timer(self, 30, self.redraw_overlays)  # a stroke: one redraw per frame
        self.graphics.scene().sigMouseMoved.connect(self._mouse_moved)
        session.current_changed.connect(self._attach)
        session.history.changed.connect(self._later)
        features = session.features
        for signal in (features.added, features.removed, features.active_changed):
            signal.connect(lambda *_: self.overlay_timer.start())
        editor.tools.events.all.connect(lambda *_: self.cursor.set_brush(editor.tools.radius, editor.tools.erase))
        live.stored.connect(lambda item: item is self.item and self.overlay_timer.start())
        live.ready.connect(lambda item, *_: item is self.item and self.overlay_timer.start())
        self._attach(session.current)

    # ---------------------------------------------------------------- geometry
    @property
    def index(self) -> int:
        """The row (XZ) or column (YZ) this plane cuts at."""
        return self.item.cuts[0 if self.axis == "xz" else 1] if self.item is not None else 0

    def to_view(self, u: float, z: float) -> tuple[float, float]:
        """Scene coordinates of a point u along the plane (x for XZ, y for YZ) on slice z."""
        return (u, z) if self.axis == "xz" else (z, u)

    def from_view(self, px: float, py: float) -> tuple[float, float]:
        return (px, py) if self.axis == "xz" else (py, px)

    def _image(self, plane: np.ndarray) -> np.ndarray:
        """A (Z, width[, channels]) plane as the image drawn: rows are the view's vertical axis."""
        return plane if self.axis == "xz" else plane.swapaxes(0, 1)

    def _extent(self) -> QRectF:
        nz, ny, nx = self.item.tomogram.shape
        return QRectF(0, 0, nx, nz) if self.axis == "xz" else QRectF(0, 0, nz, ny)

    # ------------------------------------------------------------------ keys
    def _make_actions(self) -> list[QAction]:
        name = TITLES[self.axis]
        return navigation_actions(self, (f"Move {name} view forward", f"Move {name} view back",
                                         f"Move {name} view 10 forward", f"Move {name} view 10 back",
                                         f"Fit {name} view"), self.step, self.fit)

    def enterEvent(self, event):
        self.graphics.setFocus(Qt.MouseFocusReason)
        super().enterEvent(event)

    def step(self, delta: int) -> None:
        if self.item is not None:
            y, x = self.item.cuts
            self.item.cuts = (y + delta, x) if self.axis == "xz" else (y, x + delta)

    # ------------------------------------------------------------ model binding
    def _attach(self, item) -> None:
        if self.item is not None:
            self.item.z_changed.disconnect(self._place_lines)
            self.item.cuts_changed.disconnect(self._cuts_moved)
            self.item.annotation.mask_changed.disconnect(self._mask_changed)
            self.item.annotation.boxes_changed.disconnect(self._later)
            self.item.display.events.all.disconnect(self.redraw)
        self.item = item
        self.slicer = None
        if item is None:
            for image in (self.image_item, self.prediction_item, self.annotation_item):
                image.clear()
            self.title.setText(TITLES[self.axis])
            return
        self.slicer = self.slicer_for(item.tomogram)
        self.scale_bar.set_voxel_size(item.tomogram.voxel_size)
        item.z_changed.connect(self._place_lines)
        item.cuts_changed.connect(self._cuts_moved)
        item.annotation.mask_changed.connect(self._mask_changed)
        item.annotation.boxes_changed.connect(self._later)
        item.display.events.all.connect(self.redraw)
        self.redraw()
        self.fit()

    def _later(self, *_):
        self.overlay_timer.start()

    def _cuts_moved(self, *_):
        """This plane's own cut moved: a new image; only the other's: its line."""
        if self.index != self._drawn_index:
            self.redraw()
        else:
            self._place_lines()

    def _place_lines(self, *_):
        """Where the XY slice and the other side view cut this plane (scrolling moves only these)."""
        item = self.item
        if item is not None:
            self.z_line.setPos(item.z + 0.5)
            self.cut_line.setPos((item.cuts[1] if self.axis == "xz" else item.cuts[0]) + 0.5)

    def _mask_changed(self, feature_id, z, rect) -> None:
        y0, y1, x0, x1 = rect
        i = self.index
        if (y0 <= i < y1) if self.axis == "xz" else (x0 <= i < x1):
            self.overlay_timer.start()

    # ------------------------------------------------------------------ drawing
    def redraw(self, *_) -> None:
        item = self.item
        if item is None or not self.isVisible() and self.image_item.image is not None:
            return
        plane, binning = self.slicer.plane(self.axis, self.index)
        image = self._image(prepare_slice(plane, 1, item.display.sigma / binning))
        levels = self.levels or percentile_levels(image, item.display.low_percentile, item.display.high_percentile)
        self.image_item.setImage(image, levels=levels, autoLevels=False)
        # A binned copy covers the whole-voxel part of the volume; stretch it over that.
        rows, cols = image.shape
        self.image_item.setRect(QRectF(0, 0, cols * binning, rows * binning))
        self._drawn_index = self.index
        self._place_lines()
        name = TITLES[self.axis]
        where = f"y {item.cuts[0]}" if self.axis == "xz" else f"x {item.cuts[1]}"
        self.title.setText(f"{name} at {where}" + (f"  (binned {binning}×)" if binning > 1 else ""))
        self.redraw_overlays()

    def set_levels(self, black: float, white: float) -> None:
        self.levels = (black, white)
        if self.image_item.image is not None:
            self.image_item.setLevels(self.levels)

    def redraw_overlays(self) -> None:
        item = self.item
        if item is None or not self.isVisible():  # hidden side views cost nothing; shown, they redraw
            return
        index, depth = self.index, item.tomogram.shape[0]
        width = item.tomogram.shape[2 if self.axis == "xz" else 1]
        rgba = np.zeros((depth, width, 4), np.uint8)
        for feature in self.session.features:
            if feature.visible:
                mask = annotation_plane(item.annotation, feature.id, self.axis, index, depth)
                _rgba(mask, feature.colour, feature.opacity, rgba)
        self._set_overlay(self.annotation_item, rgba)
        rgba = np.zeros((depth, width, 4), np.uint8)
        for network in self.session.networks:
            if network.trained and network.info.visible:
                values, known = self.live.predicted_plane(item, network, self.axis, index)
                if known.any():
                    _rgba((values >= round(network.info.threshold * 255)) & known[:, None], network.info.colour,
                          PREDICTION_OPACITY, rgba)
        self._set_overlay(self.prediction_item, rgba)
        self._draw_boxes()
        self._draw_particles()

    def _set_overlay(self, image_item, rgba: np.ndarray) -> None:
        image = self._image(rgba)
        image_item.setImage(np.ascontiguousarray(image), autoLevels=False, levels=(0, 255))
        image_item.setRect(QRectF(0, 0, image.shape[1], image.shape[0]))

    def _draw_boxes(self) -> None:
        annotation = self.item.annotation
        colours = {f.id: f.colour for f in self.session.features if f.visible}
        entries = []
        for box, start, stop in plane_boxes(annotation, self.axis, self.index):
            if box.feature_id not in colours:
                continue
            x0, y0 = self.to_view(start, box.z)
            x1, y1 = self.to_view(stop, box.z + 1)
            entries.append((QRectF(x0, y0, x1 - x0, y1 - y0), QColor(colours[box.feature_id]),
                            annotation.is_positive(box)))
        extent = self._extent().adjusted(-2, -2, 2, 2)
        self.boxes.set_entries(entries, extent)

    def _draw_particles(self) -> None:
        layer = self.particles
        state = layer.state if layer is not None else None
        if state is None or self.item is None or layer.item is not self.item:
            self.scatter.setData([])
            return
        zyx, radius = state.particles.zyx, layer.radius
        across = zyx[:, 1] if self.axis == "xz" else zyx[:, 2]
        near = np.abs(across - self.index) <= radius
        cross = np.sqrt(np.maximum(radius ** 2 - (across[near] - self.index) ** 2, 0.25))
        u = zyx[near, 2] if self.axis == "xz" else zyx[near, 1]
        px, py = self.to_view(u, zyx[near, 0])
        pen = pg.mkPen(QColor(layer.colour), width=2, cosmetic=True)
        self.scatter.setData(x=px, y=py, size=2 * cross, pen=pen, brush=None)

    def fit(self) -> None:
        if self.item is not None:
            self.view_box.setRange(self._extent(), padding=0.02)

    def show_point(self, z: float | None, y: float | None, x: float | None) -> None:
        """The shared cursor: where the mouse is in another view (None hides the marker)."""
        if z is None or self.item is None:
            self.marker.setData([])
            return
        u = x if self.axis == "xz" else y
        self.marker.setData(*[[c] for c in self.to_view(u, z)])

    # ----------------------------------------------------------------- mouse
    def _at(self, pos) -> tuple[float, float]:
        p = self.view_box.mapToView(pos)
        return self.from_view(p.x(), p.y())

    def _usable(self) -> bool:
        feature = self.session.features.active
        return self.item is not None and feature is not None and feature.visible and self.editor.tools.tool == "brush"

    def drag(self, ev) -> bool:
        if ev.button() not in (Qt.LeftButton, Qt.RightButton) or not self._usable():
            return False
        if ev.isStart():
            u, z = self._at(ev.buttonDownPos())
            erase = self.editor.tools.erase != (ev.button() == Qt.RightButton)
            self.editor.begin_plane_stroke(self.item, self.axis, self.index, u, z, self.editor.tools.radius, erase)
        self.editor.continue_stroke(*self._at(ev.pos()))
        if ev.isFinish():
            self.editor.end_stroke()
        ev.accept()
        return True

    def wheel_radius(self, steps: int) -> None:
        self.editor.tools.grow(RADIUS_STEP ** steps)

    def click(self, ev) -> bool:
        """A click moves the XY slice and the other side view to the point clicked."""
        if ev.button() != Qt.LeftButton or self.item is None:
            return False
        u, z = self._at(ev.pos())
        if self.axis == "xz":
            self.item.point_to(z=math.floor(z), x=math.floor(u))
        else:
            self.item.point_to(z=math.floor(z), y=math.floor(u))
        ev.accept()
        return True

    def _mouse_moved(self, scene_pos) -> None:
        if self.item is None:
            return
        p = self.view_box.mapSceneToView(scene_pos)
        self.cursor.setPos(p)
        self.cursor.setVisible(self._usable() and self.graphics.underMouse())
        u, z = self.from_view(p.x(), p.y())
        nz = self.item.tomogram.shape[0]
        width = self.item.tomogram.shape[2 if self.axis == "xz" else 1]
        zi, ui = math.floor(z), math.floor(u)
        if not (0 <= zi < nz and 0 <= ui < width):
            self.cursor_moved.emit("")
            self.hovered.emit(None)
            return
        y, x = (self.index, ui) if self.axis == "xz" else (ui, self.index)
        self.hovered.emit((zi, y, x))
        value = self.item.tomogram.value_at(zi, y, x)
        self.cursor_moved.emit(f"x {x}  y {y}  z {zi}   value {value:.6g}")
