"""A scale bar in nm in the bottom-right corner of a slice view, about a fifth of its width at any zoom.

It is part of the scene, so screenshots (``widget.grab()``) and saved images carry it. Hidden when
the tomogram's voxel size is unknown.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QColor

from ais_qt.models.annotation.measurements import format_nm, nice_length

FRACTION = 0.2  # of the visible width


class ScaleBar(pg.ScaleBar):
    def __init__(self, view_box):
        super().__init__(size=1.0, width=5, brush=pg.mkBrush("#ffffff"), pen=pg.mkPen("#000000", width=1),
                         suffix="", offset=(-18, -16))
        self.text.setColor(QColor("#ffffff"))
        self.text.fill = pg.mkBrush(0, 0, 0, 140)
        self.voxel_nm: float | None = None
        self.length_nm = 0.0
        self.setZValue(60)
        self.setParentItem(view_box)

    def set_voxel_size(self, angstrom: float | None) -> None:
        self.voxel_nm = angstrom / 10 if angstrom else None
        self.setVisible(self.voxel_nm is not None)
        self.updateBar()

    def updateBar(self):
        view = self.parentItem()
        if view is None or not self.voxel_nm:
            return
        width = view.viewRect().width()
        if width <= 0:
            return
        self.length_nm = nice_length(width * self.voxel_nm * FRACTION)
        self.size = self.length_nm / self.voxel_nm  # in voxels: the view's units
        self.text.setText(format_nm(self.length_nm))
        super().updateBar()
