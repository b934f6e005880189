"""The XY slice view alone, or with its side views: XZ below it and YZ to its right (key O).

The three share one point: the XY view's slice and the side views' cuts (``OpenTomogram.cuts``).
Dashed lines in each view show where the others cut; a click in a side view (Ctrl+click in the XY
view, where a click paints) moves the others there; the mouse in one view is marked in the others.
"""

from __future__ import annotations

import math
import weakref

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QSplitter, QVBoxLayout, QWidget

from ais_qt.models.volumes.orthoslices import OrthoSlicer
from ais_qt.views.plane_view import PlaneView

FILL_BUDGET = 256 * 2**20  # bytes of predicted slices kept for the side views
# Annotation keys that mean the same in a side view (the others act at the XY view's cursor).
SHARED_KEYS = ("Select feature", "Next feature", "Previous feature", "Smaller brush", "Larger brush",
               "Toggle erase", "Brush tool")


class OrthoLayout(QWidget):
    def __init__(self, slice_view, annotation_layer, editor, live, runner=None, parent=None):
        super().__init__(parent)
        self.slice_view, self.session, self.live, self.runner = slice_view, editor.session, live, runner
        # One binned copy per tomogram for both side views, made once (not once per view).
        self.slicers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._preparing: set[int] = set()
        self.xz = PlaneView("xz", self.session, editor, live, self.slicer_for)
        self.yz = PlaneView("yz", self.session, editor, live, self.slicer_for)
        self.planes = (self.xz, self.yz)
        self.top = QSplitter(Qt.Horizontal)
        self.top.addWidget(slice_view)
        self.top.addWidget(self.yz)
        self.split = QSplitter(Qt.Vertical)
        self.split.addWidget(self.top)
        self.split.addWidget(self.xz)
        for splitter in (self.top, self.split):
            splitter.setChildrenCollapsible(False)
            splitter.setStretchFactor(0, 3)
            splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.split)

        dashed = pg.mkPen("#e0e0e0", width=1, style=Qt.DashLine, cosmetic=True)
        self.row_line = pg.InfiniteLine(angle=0, pen=dashed, movable=False)  # where the XZ view cuts
        self.column_line = pg.InfiniteLine(angle=90, pen=dashed, movable=False)  # where the YZ view cuts
        self.marker = pg.ScatterPlotItem(symbol="+", size=14, pen=pg.mkPen("#ffffff", width=1.5), brush=None)
        self.marker.setZValue(50)
        for graphic in (self.row_line, self.column_line, self.marker):
            graphic.setZValue(45)
            slice_view.view_box.addItem(graphic)

        self.toggle_action = QAction("Orthogonal views (XZ, YZ)", self)
        self.toggle_action.setCheckable(True)
        self.toggle_action.setShortcut(QKeySequence("O"))
        self.toggle_action.setShortcutContext(Qt.WidgetWithChildrenShortcut)
        self.toggle_action.toggled.connect(self.set_shown)
        self.addAction(self.toggle_action)
        shared = [a for a in annotation_layer.actions if a.text().startswith(SHARED_KEYS)]
        for plane in self.planes:
            plane.addActions(shared)
            plane.hovered.connect(self._hovered)
        slice_view.view_box.point_handler = self._point_at
        slice_view.levels_shown.connect(lambda black, white: [p.set_levels(black, white) for p in self.planes])
        slice_view.graphics.scene().sigMouseMoved.connect(self._xy_hover)
        self.item = None
        self.session.current_changed.connect(self._attach)
        self._attach(self.session.current)
        self.set_shown(False)

    @property
    def shown(self) -> bool:
        return self.toggle_action.isChecked()

    def set_shown(self, shown: bool) -> None:
        if self.toggle_action.isChecked() != shown:
            self.toggle_action.setChecked(shown)  # comes back here through toggled
            return
        for plane in self.planes:
            plane.setVisible(shown)
        for graphic in (self.row_line, self.column_line):
            graphic.setVisible(shown and self.item is not None)
        self.marker.setData([])
        self.live.set_fill(FILL_BUDGET if shown else 0)
        if shown:
            self._prepare()
            for plane in self.planes:
                plane.redraw()
                plane.fit()
            self._place_lines()

    def slicer_for(self, tomogram) -> OrthoSlicer:
        if tomogram not in self.slicers:
            self.slicers[tomogram] = OrthoSlicer(tomogram)
        return self.slicers[tomogram]

    def _prepare(self) -> None:
        """The binned copy of a large memory-mapped tomogram, in the background; then both redraw."""
        slicer = self.slicer_for(self.item.tomogram) if self.item is not None else None
        if slicer is None or slicer.ready or id(slicer) in self._preparing:
            return
        if self.runner is None:
            slicer.prepare()
            return
        self._preparing.add(id(slicer))
        self.runner.start(slicer.prepare, "Preparing side views",
                          finished=lambda _: [p.redraw() for p in self.planes if p.slicer is slicer],
                          done=lambda: self._preparing.discard(id(slicer)))

    def _attach(self, item) -> None:
        if self.item is not None:
            self.item.cuts_changed.disconnect(self._place_lines)
        self.item = item
        if item is not None:
            item.cuts_changed.connect(self._place_lines)
        self.set_shown(self.shown)

    def _place_lines(self, *_):
        if self.item is not None:
            y, x = self.item.cuts
            self.row_line.setPos(y + 0.5)
            self.column_line.setPos(x + 0.5)

    def _point_at(self, x: float, y: float) -> None:
        """Ctrl+click in the XY view: the side views cut through that point."""
        if self.item is not None:
            self.item.point_to(y=math.floor(y), x=math.floor(x))

    # ------------------------------------------------------ the shared cursor
    def _xy_hover(self, scene_pos) -> None:
        if not self.shown:
            return
        voxel = self.slice_view.voxel_at(scene_pos)
        for plane in self.planes:
            plane.show_point(*(voxel if voxel is not None else (None, None, None)))

    def _hovered(self, voxel) -> None:
        if voxel is None or self.item is None:
            self.marker.setData([])
        else:
            z, y, x = voxel
            self.marker.setData([x + 0.5], [y + 0.5])
        for plane in self.planes:
            if plane is not self.sender():
                plane.show_point(*(voxel if voxel is not None else (None, None, None)))
