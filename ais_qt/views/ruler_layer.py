"""The ruler (key M): press M at one point and again at another, on the same or another slice, for
the 3D distance in nm. Rulers stay drawn until cleared (Shift+M), are undoable and are saved with
the project. On slices between a ruler's ends it is drawn solid, elsewhere dashed.
"""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QColor, QKeySequence

from ais_qt.models.annotation.measurements import Ruler

COLOUR = "#00e5ff"


class RulerLayer(QObject):
    message = Signal(str)

    def __init__(self, slice_view, editor):
        super().__init__(slice_view)
        self.view, self.box, self.editor, self.session = slice_view, slice_view.view_box, editor, editor.session
        self.item = None
        self.hover = None  # (x, y) in the slice
        self.pending = None  # the first point, (z, y, x), until M is pressed again
        self.graphics: list = []
        self.start_marker = pg.ScatterPlotItem(symbol="o", size=9, pen=pg.mkPen(COLOUR, width=2), brush=None)
        self.start_marker.setZValue(55)
        self.box.addItem(self.start_marker)
        self.measure_action = QAction("Measure: press at two points (any slices)", slice_view)
        self.measure_action.setShortcut(QKeySequence("M"))
        self.clear_action = QAction("Clear rulers", slice_view)
        self.clear_action.setShortcut(QKeySequence("Shift+M"))
        self.actions = [self.measure_action, self.clear_action]
        for action in self.actions:
            action.setShortcutContext(Qt.WidgetWithChildrenShortcut)
        self.measure_action.triggered.connect(self.measure_at_cursor)
        self.clear_action.triggered.connect(lambda: self.item is not None and self.editor.clear_rulers(self.item))
        slice_view.addActions(self.actions)
        slice_view.graphics.scene().sigMouseMoved.connect(self._mouse_moved)
        self.session.current_changed.connect(self._attach)
        self._attach(self.session.current)

    def _attach(self, item) -> None:
        if self.item is not None:
            self.item.z_changed.disconnect(self.redraw)
            self.item.rulers_changed.disconnect(self.redraw)
        self.item, self.pending = item, None
        if item is not None:
            item.z_changed.connect(self.redraw)
            item.rulers_changed.connect(self.redraw)
        self.redraw()

    def _mouse_moved(self, scene_pos) -> None:
        p = self.box.mapSceneToView(scene_pos)
        self.hover = (p.x(), p.y())

    def measure_at_cursor(self) -> None:
        if self.item is None or self.hover is None:
            return
        point = (float(self.item.z), self.hover[1], self.hover[0])
        if self.pending is None:
            self.pending = point
            self.message.emit(f"Ruler from x {point[2]:.0f}, y {point[1]:.0f}, z {point[0]:.0f}: press M at the "
                              "other end (move to another slice first if you like)")
        else:
            ruler = Ruler(self.pending, point)
            self.pending = None
            self.editor.add_ruler(self.item, ruler)
            self.message.emit(f"Ruler: {ruler.label(self.item.tomogram.voxel_size)}")
        self.redraw()

    def redraw(self, *_) -> None:
        for graphic in self.graphics:
            self.box.removeItem(graphic)
        self.graphics = []
        item = self.item
        if self.pending is not None and item is not None:
            self.start_marker.setData([self.pending[2]], [self.pending[1]])
        else:
            self.start_marker.setData([])
        if item is None:
            return
        z = item.z
        for ruler in item.rulers:
            (z0, y0, x0), (z1, y1, x1) = ruler.start, ruler.end
            across = min(z0, z1) - 0.5 <= z <= max(z0, z1) + 0.5
            pen = pg.mkPen(COLOUR, width=2, cosmetic=True, style=Qt.SolidLine if across else Qt.DashLine)
            line = pg.PlotCurveItem([x0, x1], [y0, y1], pen=pen)
            ends = pg.ScatterPlotItem([x0, x1], [y0, y1], symbol="o", size=7, pen=pg.mkPen(COLOUR),
                                      brush=[pg.mkBrush(COLOUR) if math.isclose(e, z, abs_tol=0.5) else None
                                             for e in (z0, z1)])
            label = pg.TextItem(ruler.label(item.tomogram.voxel_size), color=QColor(COLOUR), anchor=(0.5, 1.2),
                                fill=pg.mkBrush(0, 0, 0, 150))
            label.setPos((x0 + x1) / 2, (y0 + y1) / 2)
            for graphic in (line, ends, label):
                graphic.setZValue(55)
                graphic.setOpacity(1.0 if across else 0.6)
                self.box.addItem(graphic)
                self.graphics.append(graphic)
