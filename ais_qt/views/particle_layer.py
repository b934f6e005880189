"""Picked particles on the slice view: circles sized as the particle's cross-section at this slice.

While the Pick tab is open the main window makes this layer the slice view's mouse handler:
left click adds a particle at the cursor, right click removes the nearest one. Both are undoable.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from ais_qt.models.particles.filaments import FilamentSettings
from ais_qt.models.annotation.history import Command

DEFAULT_RADIUS = 4.0  # voxels, when no minimum spacing says how big particles are


class ParticleLayer:
    def __init__(self, slice_view, editor):
        self.view, self.box = slice_view, slice_view.view_box
        self.editor, self.session = editor, editor.session
        self.state = None
        self.item = None
        self.colour = "#ffd700"
        self.scatter = pg.ScatterPlotItem(pxMode=False, symbol="o", brush=None)
        self.scatter.setZValue(40)
        self.box.addItem(self.scatter)
        self.lines = pg.PlotCurveItem(connect="pairs")
        self.lines.setZValue(39)
        self.box.addItem(self.lines)
        self.session.current_changed.connect(self._attach)
        self._attach(self.session.current)

    def set_state(self, state, colour: str | None = None) -> None:
        if self.state is not None:
            self.state.changed.disconnect(self.redraw)
        self.state = state
        self.colour = colour or self.colour
        if state is not None:
            state.changed.connect(self.redraw)
        self.redraw()

    def _attach(self, item) -> None:
        if self.item is not None:
            self.item.z_changed.disconnect(self.redraw)
        self.item = item
        if item is not None:
            item.z_changed.connect(self.redraw)
        self.redraw()

    @property
    def radius(self) -> float:
        """Marker radius in voxels: half the minimum spacing (particles are that far apart at least)."""
        if self.state is None or not self.state.voxel_size:
            return DEFAULT_RADIUS
        settings = self.state.settings
        if isinstance(settings, FilamentSettings):
            return max(2.0, settings.in_pixels(self.state.voxel_size)[1] / 2)
        if not settings.min_spacing_nm:
            return DEFAULT_RADIUS
        return max(2.0, settings.spacing_px(self.state.voxel_size) / 2)

    def shown(self) -> np.ndarray:
        """(x, y, diameter) of the markers on the current slice."""
        if self.state is None or self.item is None:
            return np.zeros((0, 3))
        particles, radius, z = self.state.particles, self.radius, self.item.z
        near = particles.near(z, radius)
        zyx = particles.zyx[near]
        cross = np.sqrt(np.maximum(radius ** 2 - (zyx[:, 0] - z) ** 2, 0.25))  # a sphere cut at this slice
        return np.column_stack([zyx[:, 2], zyx[:, 1], 2 * cross])

    def segments(self) -> np.ndarray:
        """(x, y) pairs of the filament pieces that pass within a marker radius of the current slice."""
        if self.state is None or self.item is None or not self.state.filaments:
            return np.zeros((0, 2))
        z, radius, pairs = self.item.z, self.radius, []
        for line in self.state.particles.lines():
            for a, b in zip(line[:-1], line[1:]):
                if min(a[0], b[0]) - radius <= z <= max(a[0], b[0]) + radius:
                    pairs += [a[[2, 1]], b[[2, 1]]]
        return np.array(pairs).reshape(-1, 2)

    def redraw(self, *_) -> None:
        markers = self.shown()
        pen = pg.mkPen(QColor(self.colour), width=2, cosmetic=True)
        self.scatter.setData(x=markers[:, 0], y=markers[:, 1], size=markers[:, 2], pen=pen, brush=None)
        pairs = self.segments()
        self.lines.setData(x=pairs[:, 0], y=pairs[:, 1], pen=pg.mkPen(QColor(self.colour), width=1, cosmetic=True))

    # ------------------------------------------------------------ the mouse
    def click(self, ev) -> bool:
        if self.state is None or self.item is None or ev.button() not in (Qt.LeftButton, Qt.RightButton):
            return False
        p = self.box.mapToView(ev.pos())
        zyx = (self.item.z, p.y(), p.x())
        reach = math.ceil(self.radius) + 2
        if ev.button() == Qt.LeftButton:
            if self.state.filaments:
                return False  # a point off a traced filament would have no orientation: nothing to add
            self.edit("Add particle", lambda: self.state.add(zyx))
        elif self.state.filaments and ev.modifiers() & Qt.ShiftModifier:
            self.edit("Remove filament", lambda: self.state.remove_near(zyx, reach, whole_filament=True))
        else:
            self.edit("Remove particle", lambda: self.state.remove_near(zyx, reach))
        ev.accept()
        return True

    def edit(self, text: str, change) -> None:
        state, item, z = self.state, self.item, self.item.z
        before = state.edits()
        change()
        after = state.edits()
        if [len(x) for x in after] != [len(x) for x in before]:  # every edit adds or takes one
            self.editor.history.push(Command(text, lambda: state.restore_edits(before),
                                             lambda: state.restore_edits(after), (item, z)))

    def drag(self, ev) -> bool:
        return False  # dragging pans, as usual

    def wheel_radius(self, steps: int) -> None:
        pass
