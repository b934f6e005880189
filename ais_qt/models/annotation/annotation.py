"""One tomogram's annotations: sparse per-slice masks per feature, and training boxes.

Only touched slices are stored (one bool array of the slice size each), so a 4 GB tomogram with
20 annotated slices costs a few MB. A slice whose mask becomes empty is dropped again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from psygnal import Signal

from ais_qt.models.annotation.painting import Rect

DEFAULT_BOX_SIZE = 64


@dataclass(frozen=True)
class Box:
    """A square training box on slice z, centred at (y, x), belonging to a feature."""

    z: int
    y: int
    x: int
    size: int
    feature_id: int

    @property
    def rect(self) -> Rect:
        half = self.size // 2
        return self.y - half, self.y - half + self.size, self.x - half, self.x - half + self.size

    def contains(self, z: int, y: float, x: float) -> bool:
        y0, y1, x0, x1 = self.rect
        return z == self.z and y0 <= y < y1 and x0 <= x < x1


def clamped_box(z: int, y: float, x: float, size: int, feature_id: int, shape) -> Box:
    """A box centred as near (y, x) as fits wholly inside a slice of the given (ny, nx) shape."""
    ny, nx = shape
    size = int(min(size, ny, nx))
    half = size // 2
    cy = int(min(max(round(y), half), ny - size + half))
    cx = int(min(max(round(x), half), nx - size + half))
    return Box(int(z), cy, cx, size, feature_id)


class Annotation:
    mask_changed = Signal(int, int, object)  # feature id, z, Rect touched
    boxes_changed = Signal()

    def __init__(self, slice_shape: tuple[int, int]):
        self.slice_shape = tuple(int(n) for n in slice_shape)
        self.masks: dict[int, dict[int, np.ndarray]] = {}  # feature id -> z -> bool (Y, X)
        self.boxes: list[Box] = []

    # ------------------------------------------------------------------- masks
    def mask(self, feature_id: int, z: int) -> np.ndarray | None:
        """The stored mask of one slice (do not modify; use put)."""
        return self.masks.get(feature_id, {}).get(z)

    def annotated_slices(self, feature_id: int) -> list[int]:
        return sorted(self.masks.get(feature_id, {}))

    def region(self, feature_id: int, z: int, rect: Rect) -> np.ndarray:
        """A copy of a rectangle of a slice's mask (all False where nothing is stored)."""
        y0, y1, x0, x1 = rect
        stored = self.mask(feature_id, z)
        if stored is None:
            return np.zeros((y1 - y0, x1 - x0), bool)
        return stored[y0:y1, x0:x1].copy()

    def put(self, feature_id: int, z: int, rect: Rect, values: np.ndarray) -> None:
        """Write a rectangle of a slice's mask, keeping storage sparse, and announce it."""
        y0, y1, x0, x1 = rect
        slices = self.masks.setdefault(feature_id, {})
        stored = slices.get(z)
        if stored is None:
            if not values.any():
                return
            stored = slices[z] = np.zeros(self.slice_shape, bool)
        stored[y0:y1, x0:x1] = values
        if not values.any() and not stored.any():
            del slices[z]
        self.mask_changed.emit(feature_id, z, rect)

    def copy_masks(self, feature_id: int) -> dict[int, np.ndarray]:
        """A snapshot of one feature's masks, safe to hand to a background task."""
        return {z: m.copy() for z, m in self.masks.get(feature_id, {}).items()}

    def full_rect(self) -> Rect:
        return 0, self.slice_shape[0], 0, self.slice_shape[1]

    def nbytes(self) -> int:
        return sum(m.nbytes for slices in self.masks.values() for m in slices.values())

    # ------------------------------------------------------------------- boxes
    def boxes_on(self, z: int) -> list[Box]:
        return [b for b in self.boxes if b.z == z]

    def box_at(self, z: int, y: float, x: float) -> Box | None:
        """The most recently placed box under a point (the one drawn on top)."""
        return next((b for b in reversed(self.boxes) if b.contains(z, y, x)), None)

    def insert_box(self, box: Box, index: int | None = None) -> None:
        self.boxes.insert(len(self.boxes) if index is None else index, box)
        self.boxes_changed.emit()

    def remove_box(self, box: Box) -> int:
        index = self.boxes.index(box)
        del self.boxes[index]
        self.boxes_changed.emit()
        return index

    def is_positive(self, box: Box) -> bool:
        """A box holding some of its feature's annotation trains that feature; an empty one is a negative."""
        return bool(self.region(box.feature_id, box.z, box.rect).any())

    # ------------------------------------------------------------- per feature
    def take_feature(self, feature_id: int) -> tuple[dict[int, np.ndarray], list[tuple[int, Box]]]:
        """Remove and return a feature's masks and boxes (with their indices), for undoable deletion."""
        masks = self.masks.pop(feature_id, {})
        boxes = [(i, b) for i, b in enumerate(self.boxes) if b.feature_id == feature_id]
        if boxes:
            self.boxes = [b for b in self.boxes if b.feature_id != feature_id]
            self.boxes_changed.emit()
        for z in masks:
            self.mask_changed.emit(feature_id, z, self.full_rect())
        return masks, boxes

    def restore_feature(self, feature_id: int, masks: dict[int, np.ndarray], boxes: list[tuple[int, Box]]) -> None:
        if masks:
            self.masks[feature_id] = masks
        for index, box in boxes:
            self.boxes.insert(index, box)
        if boxes:
            self.boxes_changed.emit()
        for z in masks:
            self.mask_changed.emit(feature_id, z, self.full_rect())
