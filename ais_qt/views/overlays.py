"""Graphics items drawn over the slice: feature masks, training boxes, the brush outline.

A mask overlay keeps a QImage over a numpy ARGB buffer and repaints only the rectangle a brush
touched, so painting stays smooth on 1024 x 1024 slices.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsObject

from ais_qt.models.annotation.annotation import Annotation, Box
from ais_qt.models.annotation.painting import Rect


def argb(colour: str) -> np.uint32:
    c = QColor(colour)
    return np.uint32((255 << 24) | (c.red() << 16) | (c.green() << 8) | c.blue())


class MaskOverlay(QGraphicsObject):
    """A boolean mask on the current slice in one colour: a feature's annotation or a network's
    thresholded prediction. ``source`` is the Feature or Network it shows."""

    def __init__(self, source, slice_shape: tuple[int, int], z_value: float = 10):
        super().__init__()
        self.source = source
        ny, nx = slice_shape
        self.buffer = np.zeros((ny, nx), np.uint32)
        self.image = QImage(self.buffer.data, nx, ny, nx * 4, QImage.Format_ARGB32_Premultiplied)
        self.colour = np.uint32(0)
        self.setZValue(z_value)

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, self.image.width(), self.image.height())

    def paint(self, painter, option, widget=None):
        painter.drawImage(self.boundingRect(), self.image)

    def show_mask(self, mask: np.ndarray | None) -> None:
        """Redraw everything, from a whole slice's mask (None: nothing annotated)."""
        self.buffer[:] = 0
        if mask is not None:
            self.buffer[mask] = self.colour
        self.update()

    def show_region(self, mask: np.ndarray | None, rect: Rect) -> None:
        """Redraw only a rectangle after an edit."""
        y0, y1, x0, x1 = rect
        if mask is None:
            self.buffer[y0:y1, x0:x1] = 0
        else:
            self.buffer[y0:y1, x0:x1] = np.where(mask[y0:y1, x0:x1], self.colour, np.uint32(0))
        self.update(QRectF(x0, y0, x1 - x0, y1 - y0))

    def restyle(self, colour: str, opacity: float, visible: bool) -> None:
        """New colour, opacity or visibility; call show_mask afterwards when the colour changed."""
        self.colour = argb(colour)
        self.setOpacity(opacity)
        self.setVisible(visible)


def box_pen(colour: QColor, positive: bool) -> QPen:
    """A training box's outline: solid when it holds its feature (positive), dashed when empty."""
    pen = QPen(colour, 2)
    pen.setCosmetic(True)
    pen.setStyle(Qt.SolidLine if positive else Qt.DashLine)
    return pen


class BoxesItem(QGraphicsObject):
    """The training boxes of the current slice: solid when they hold their feature's annotation
    (positive examples), dashed when empty (negatives for that feature)."""

    def __init__(self):
        super().__init__()
        self.entries: list[tuple[Box, QColor, bool]] = []
        self.extent = QRectF()
        self.setZValue(20)

    def set_boxes(self, annotation: Annotation | None, z: int, colours: dict[int, str], hidden: set[int]) -> None:
        self.prepareGeometryChange()
        self.entries = []
        if annotation is not None:
            for box in annotation.boxes_on(z):
                if box.feature_id in colours and box.feature_id not in hidden:
                    self.entries.append((box, QColor(colours[box.feature_id]), annotation.is_positive(box)))
            ny, nx = annotation.slice_shape
            self.extent = QRectF(-2, -2, nx + 4, ny + 4)
        self.update()

    def boundingRect(self) -> QRectF:
        return self.extent

    def paint(self, painter, option, widget=None):
        for box, colour, positive in self.entries:
            painter.setPen(box_pen(colour, positive))
            y0, y1, x0, x1 = box.rect
            painter.drawRect(QRectF(x0, y0, x1 - x0, y1 - y0))


class BrushCursor(QGraphicsItem):
    """The brush outline under the mouse, dashed when erasing."""

    def __init__(self):
        super().__init__()
        self.radius = 8.0
        self.erase = False
        self.setZValue(30)
        self.setAcceptedMouseButtons(Qt.NoButton)

    def set_brush(self, radius: float, erase: bool) -> None:
        self.prepareGeometryChange()
        self.radius, self.erase = radius, erase
        self.update()

    def boundingRect(self) -> QRectF:
        r = self.radius + 2
        return QRectF(-r, -r, 2 * r, 2 * r)

    def paint(self, painter, option, widget=None):
        pen = QPen(QColor("#ffffff"), 1.5, Qt.DashLine if self.erase else Qt.SolidLine)
        pen.setCosmetic(True)
        painter.setPen(pen)
        painter.drawEllipse(QRectF(-self.radius, -self.radius, 2 * self.radius, 2 * self.radius))
