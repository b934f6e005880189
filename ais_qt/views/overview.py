"""A small overview of the whole slice in a corner of the view, with the part on screen outlined.

Shown only while zoomed in (part of the slice is off screen); a click or drag in it centres the view
there.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QWidget

SIZE = 150  # pixels of the longer side


class Overview(QWidget):
    def __init__(self, slice_view):
        super().__init__(slice_view.graphics.viewport())
        self.view = slice_view
        self.image: QImage | None = None
        self.extent = (1, 1)  # slice (ny, nx) in voxels
        self.visible_rect = QRectF()
        self.setCursor(Qt.PointingHandCursor)
        self.setToolTip("Overview: click to look there")
        self.hide()
        slice_view.view_box.sigRangeChanged.connect(self.update_view)

    def set_image(self, image: np.ndarray | None, levels, extent: tuple[int, int]) -> None:
        """The slice on screen (as displayed, maybe binned), its levels and its full size."""
        if image is None:
            self.image = None
            self.hide()
            return
        step = max(1, int(np.ceil(max(image.shape) / SIZE)))
        small = image[::step, ::step]
        lo, hi = levels
        grey = np.clip((small - lo) / max(hi - lo, 1e-12) * 255, 0, 255).astype(np.uint8)
        grey = np.ascontiguousarray(grey[::-1])  # the view has Y up
        h, w = grey.shape
        self.image = QImage(grey.data, w, h, w, QImage.Format_Grayscale8).copy()
        self.extent = extent
        ny, nx = extent
        scale = SIZE / max(ny, nx)
        self.resize(int(nx * scale) + 2, int(ny * scale) + 2)
        self.update_view()

    def update_view(self, *_):
        if self.image is None:
            return
        ny, nx = self.extent
        seen = self.view.view_box.viewRect()
        whole = QRectF(0, 0, nx, ny)
        self.visible_rect = seen.intersected(whole)
        zoomed = not seen.contains(whole) and self.visible_rect.isValid()
        viewport = self.parentWidget()
        self.move(viewport.width() - self.width() - 8, 8)
        self.setVisible(zoomed)
        self.update()

    def _scale(self) -> float:
        ny, nx = self.extent
        return (self.width() - 2) / nx

    def paintEvent(self, event):
        if self.image is None:
            return
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(0, 0, 0, 160))
        painter.drawImage(QRectF(1, 1, self.width() - 2, self.height() - 2), self.image)
        s, ny = self._scale(), self.extent[0]
        r = self.visible_rect
        pen = QPen(QColor("#ffd700"), 1.5)
        painter.setPen(pen)
        painter.drawRect(QRectF(1 + r.x() * s, 1 + (ny - r.y() - r.height()) * s, r.width() * s, r.height() * s))
        painter.end()

    def _centre_at(self, pos) -> None:
        s, ny = self._scale(), self.extent[0]
        x, y = (pos.x() - 1) / s, ny - (pos.y() - 1) / s
        seen = self.view.view_box.viewRect()
        self.view.view_box.setRange(QRectF(seen).translated(QPointF(x, y) - seen.center()), padding=0)

    def mousePressEvent(self, event):
        self._centre_at(event.position())
        event.accept()

    def mouseMoveEvent(self, event):
        if event.buttons() & Qt.LeftButton:
            self._centre_at(event.position())
        event.accept()
