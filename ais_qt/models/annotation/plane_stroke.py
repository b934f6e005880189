"""A brush stroke on a plane across the slices (XZ or YZ): one row or column of many XY slices.

Annotation is stored per XY slice, so the stroke works on the plane as a (Z, width) mask and writes
each touched slice's row (XZ) or column (YZ) back as it goes; the editor records the whole stroke
as one undo step.
"""

from __future__ import annotations

import numpy as np

from ais_qt.models.volumes.orthoslices import annotation_plane
from ais_qt.models.annotation.painting import Rect, stamp_segment, union


def plane_rect(axis: str, index: int, start: int, stop: int) -> Rect:
    """The (y0, y1, x0, x1) rectangle of an XY slice that a plane's stretch start..stop covers."""
    return (index, index + 1, start, stop) if axis == "xz" else (start, stop, index, index + 1)


def plane_values(axis: str, row: np.ndarray) -> np.ndarray:
    """A plane row as the 2D patch ``Annotation.put`` takes for ``plane_rect``."""
    return row[None, :] if axis == "xz" else row[:, None]


class PlaneStroke:
    def __init__(self, item, feature, axis: str, index: int, radius: float, erase: bool):
        self.item, self.feature, self.axis, self.index = item, feature, axis, int(index)
        self.radius, self.erase = radius, erase
        depth = item.tomogram.shape[0]
        self.before = annotation_plane(item.annotation, feature.id, axis, self.index, depth)
        self.work = self.before.copy()
        self.rect: Rect | None = None  # in plane coordinates: (z0, z1, u0, u1)
        self.last: tuple[float, float] | None = None

    def to(self, u: float, z: float) -> Rect | None:
        """Paint from the last point to (u, z): u along the plane (x for XZ, y for YZ), z the slice."""
        start = self.last if self.last is not None else (u, z)
        self.last = (u, z)
        rect = stamp_segment(self.work, start, (u, z), self.radius, not self.erase)
        if rect is not None:
            self.rect = union(self.rect, rect)
            z0, z1, u0, u1 = rect
            for k in range(z0, z1):
                self.item.annotation.put(self.feature.id, k, plane_rect(self.axis, self.index, u0, u1),
                                         plane_values(self.axis, self.work[k, u0:u1]))
        return rect

    def patches(self) -> list[tuple[int, Rect, np.ndarray, np.ndarray]]:
        """(z, slice rect, before, after) of every slice the stroke changed."""
        if self.rect is None:
            return []
        z0, z1, u0, u1 = self.rect
        out = []
        for k in range(z0, z1):
            before, after = self.before[k, u0:u1], self.work[k, u0:u1]
            if not np.array_equal(before, after):
                out.append((k, plane_rect(self.axis, self.index, u0, u1), plane_values(self.axis, before.copy()),
                            plane_values(self.axis, after.copy())))
        return out
