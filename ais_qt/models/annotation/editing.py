"""Annotation edits as undoable operations; the slice view and the feature panel call these.

Every edit is applied here and recorded in the session's History, so the GUI, tests and scripts
share one implementation of painting, filling, boxes and feature changes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from psygnal import evented

from ais_qt.models.annotation.annotation import Annotation, Box, clamped_box
from ais_qt.models.annotation.features import Feature
from ais_qt.models.annotation.history import Command
from ais_qt.models.annotation.interpolation import interpolate_masks, interpolation_partner
from ais_qt.models.annotation.painting import Rect, bounding_rect, enclosed_region, polygon_region, stamp_segment, union
from ais_qt.models.annotation.plane_stroke import PlaneStroke
from ais_qt.models.session import OpenTomogram, Session

MIN_RADIUS, MAX_RADIUS = 1.0, 200.0
TOOLS = ("brush", "lasso", "box")


@evented
@dataclass
class ToolSettings:
    """What the mouse does on the slice: the tool, brush radius (pixels) and erase mode."""

    tool: str = "brush"
    radius: float = 8.0
    erase: bool = False

    def grow(self, factor: float) -> None:
        self.radius = float(min(max(round(self.radius * factor, 1), MIN_RADIUS), MAX_RADIUS))


class Stroke:
    """A brush stroke in progress: painted live, recorded as one undo step when it ends."""

    def __init__(self, item: OpenTomogram, feature: Feature, z: int, radius: float, erase: bool):
        self.item, self.feature, self.z, self.radius, self.erase = item, feature, z, radius, erase
        annotation = item.annotation
        stored = annotation.mask(feature.id, z)
        # Work on a full-slice copy so each mouse move touches only its own rectangle.
        self.before = stored.copy() if stored is not None else np.zeros(annotation.slice_shape, bool)
        self.work = self.before.copy()
        self.rect: Rect | None = None
        self.last: tuple[float, float] | None = None

    def to(self, x: float, y: float) -> Rect | None:
        start = self.last if self.last is not None else (x, y)
        self.last = (x, y)
        rect = stamp_segment(self.work, start, (x, y), self.radius, not self.erase)
        if rect is not None:
            self.rect = union(self.rect, rect)
            y0, y1, x0, x1 = rect
            self.item.annotation.put(self.feature.id, self.z, rect, self.work[y0:y1, x0:x1])
        return rect


class Editor:
    def __init__(self, session: Session):
        self.session = session
        self.tools = ToolSettings()
        self.stroke: Stroke | PlaneStroke | None = None
        self._painted: dict[tuple[int, int], list[int]] = {}  # (item, feature) -> slices painted, newest last

    @property
    def history(self):
        return self.session.history

    # ------------------------------------------------------------------ masks
    def begin_stroke(self, item: OpenTomogram, z: int, x: float, y: float, radius: float,
                     erase: bool = False) -> Stroke | None:
        feature = self.session.features.active
        if feature is None:
            return None
        self.stroke = Stroke(item, feature, z, radius, erase)
        self.stroke.to(x, y)
        return self.stroke

    def begin_plane_stroke(self, item: OpenTomogram, axis: str, index: int, u: float, z: float, radius: float,
                           erase: bool = False) -> PlaneStroke | None:
        """A stroke on the XZ plane at row ``index`` (u = x) or the YZ plane at column ``index`` (u = y)."""
        feature = self.session.features.active
        if feature is None:
            return None
        self.stroke = PlaneStroke(item, feature, axis, index, radius, erase)
        self.stroke.to(u, z)
        return self.stroke

    def continue_stroke(self, x: float, y: float) -> Rect | None:
        """Continue the stroke in progress ((u, z) on a plane across the slices)."""
        return self.stroke.to(x, y) if self.stroke is not None else None

    def end_stroke(self) -> None:
        stroke, self.stroke = self.stroke, None
        if isinstance(stroke, PlaneStroke):
            patches = stroke.patches()
            if patches:
                verb = "Erase" if stroke.erase else "Paint"
                self._record_patches(f"{verb} {stroke.feature.name} across slices", stroke.item, stroke.feature.id,
                                     patches, applied=True)
            return
        if stroke is None or stroke.rect is None:
            return
        y0, y1, x0, x1 = stroke.rect
        before = stroke.before[y0:y1, x0:x1]
        after = stroke.work[y0:y1, x0:x1].copy()
        if np.array_equal(before, after):
            return
        verb = "Erase" if stroke.erase else "Paint"
        self._record_patch(f"{verb} {stroke.feature.name}", stroke.item, stroke.feature.id, stroke.z,
                           stroke.rect, before.copy(), after, applied=True)

    def flood_fill(self, item: OpenTomogram, z: int, x: float, y: float) -> bool:
        """Fill the unpainted region enclosed by the active feature's paint; False if it is not enclosed."""
        feature = self.session.features.active
        if feature is None:
            return False
        annotation = item.annotation
        current = annotation.region(feature.id, z, annotation.full_rect())
        region = enclosed_region(current, x, y)
        if region is None:
            return False
        self._fill(f"Fill {feature.name}", item, feature, z, region, value=True)
        return True

    def polygon_fill(self, item: OpenTomogram, z: int, points, erase: bool = False) -> bool:
        feature = self.session.features.active
        if feature is None:
            return False
        region = polygon_region(item.annotation.slice_shape, points)
        if not region.any():
            return False
        self._fill(f"{'Cut' if erase else 'Lasso'} {feature.name}", item, feature, z, region, value=not erase)
        return True

    def _fill(self, text: str, item: OpenTomogram, feature: Feature, z: int, region: np.ndarray, value: bool):
        rect = bounding_rect(region)
        y0, y1, x0, x1 = rect
        before = item.annotation.region(feature.id, z, rect)
        after = before.copy()
        after[region[y0:y1, x0:x1]] = value
        self._record_patch(text, item, feature.id, z, rect, before, after)

    def set_slice_masks(self, text: str, item: OpenTomogram, feature_id: int, masks: dict[int, np.ndarray]) -> None:
        """Replace whole slices of a feature at once (label import), as one undo step."""
        annotation = item.annotation
        full = annotation.full_rect()
        before = {z: annotation.region(feature_id, z, full) for z in masks}

        def apply(values):
            for z, mask in values.items():
                annotation.put(feature_id, z, full, mask)

        apply(masks)
        first = min(masks) if masks else None
        self.history.push(Command(text, lambda: apply(before), lambda: apply(masks), (item, first)))

    def _record_patch(self, text, item, feature_id, z, rect, before, after, applied=False):
        self._record_patches(text, item, feature_id, [(z, rect, before, after)], applied)
        painted = self._painted.setdefault((id(item), feature_id), [])
        if z in painted:
            painted.remove(z)
        painted.append(z)
        del painted[:-8]

    def _record_patches(self, text, item, feature_id, patches, applied=False, extra_undo=None, extra_redo=None):
        """Record rectangles of one or more slices, (z, rect, before, after) each, as one undo step."""
        annotation: Annotation = item.annotation

        def put(which: int):
            for z, rect, *values in patches:
                annotation.put(feature_id, z, rect, values[which])

        if not applied:
            put(1)

        def undo():
            put(0)
            if extra_undo:
                extra_undo()

        def redo():
            if extra_redo:
                extra_redo()
            put(1)

        self.history.push(Command(text, undo, redo, (item, patches[0][0] if patches else None)))

    # ---------------------------------------------------------- between slices
    def interpolate(self, item: OpenTomogram, z: int) -> tuple[int, int] | None:
        """Fill the slices between slice ``z`` and an annotated neighbour (the slice painted before
        this one, else the nearer) by shape-based interpolation of the active feature, as one undo
        step; returns the (first, last) slices filled, or None when there is no gap to fill."""
        feature = self.session.features.active
        if feature is None:
            return None
        annotation = item.annotation
        annotated = [s for s in annotation.annotated_slices(feature.id) if annotation.mask(feature.id, s).any()]
        if z not in annotated:
            return None
        painted = [s for s in self._painted.get((id(item), feature.id), []) if s != z]
        other = interpolation_partner(annotated, z, painted[-1] if painted else None)
        if other is None:
            return None
        lo, hi = sorted((z, other))
        masks = interpolate_masks(annotation.mask(feature.id, lo), annotation.mask(feature.id, hi), hi - lo - 1)
        self.set_slice_masks(f"Interpolate {feature.name} {lo}-{hi}", item, feature.id,
                             {lo + 1 + i: mask for i, mask in enumerate(masks)})
        return lo + 1, hi - 1

    # --------------------------------------------------------- from a network
    def accept_prediction(self, item: OpenTomogram, z: int, probabilities: np.ndarray, threshold: float,
                          at: tuple[float, float] | None = None) -> int:
        """Add a network's prediction of slice ``z`` (above ``threshold``) to the active feature's
        annotation inside its training boxes: the box under ``at`` = (x, y) (placed there first when
        there is none), or every box of the feature on the slice. One undo step; returns the boxes used.

        Added to what is painted, never erasing it: the user then erases the network's mistakes.
        """
        feature = self.session.features.active
        if feature is None:
            return 0
        annotation = item.annotation
        placed = None
        if at is not None:
            x, y = at
            box = next((b for b in reversed(annotation.boxes) if b.feature_id == feature.id and b.contains(z, y, x)),
                       None)
            if box is None:
                placed = box = clamped_box(z, y, x, self.session.box_size, feature.id, annotation.slice_shape)
            boxes = [box]
        else:
            boxes = [b for b in annotation.boxes_on(z) if b.feature_id == feature.id]
        found = probabilities >= threshold
        patches = []
        for box in boxes:
            y0, y1, x0, x1 = box.rect
            before = annotation.region(feature.id, z, box.rect)
            after = before | found[y0:y1, x0:x1]
            if not np.array_equal(before, after):
                patches.append((z, box.rect, before, after))
        if not patches:  # nothing found: at most a new box, placed as B places it
            return 1 if placed is not None and self.place_box(item, z, *at) else 0
        if placed is not None:
            annotation.insert_box(placed)
        remove = (lambda: annotation.remove_box(placed)) if placed is not None else None
        insert = (lambda: annotation.insert_box(placed)) if placed is not None else None
        self._record_patches(f"Accept {feature.name} prediction", item, feature.id, patches,
                             extra_undo=remove, extra_redo=insert)
        return len(boxes)

    # ------------------------------------------------------------------ boxes
    def place_box(self, item: OpenTomogram, z: int, x: float, y: float) -> Box | None:
        feature = self.session.features.active
        if feature is None:
            return None
        box = clamped_box(z, y, x, self.session.box_size, feature.id, item.annotation.slice_shape)
        if box in item.annotation.boxes:
            return None
        item.annotation.insert_box(box)
        self.history.push(Command(f"Place {feature.name} box", lambda: item.annotation.remove_box(box),
                                  lambda: item.annotation.insert_box(box), (item, z)))
        return box

    def delete_box_at(self, item: OpenTomogram, z: int, x: float, y: float) -> Box | None:
        box = item.annotation.box_at(z, y, x)
        if box is None:
            return None
        index = item.annotation.remove_box(box)
        self.history.push(Command("Delete box", lambda: item.annotation.insert_box(box, index),
                                  lambda: item.annotation.remove_box(box), (item, z)))
        return box

    # ------------------------------------------------------------- measuring
    def add_ruler(self, item: OpenTomogram, ruler) -> None:
        before, after = item.rulers, [*item.rulers, ruler]
        item.rulers = after
        self.history.push(Command(f"Measure {ruler.label(item.tomogram.voxel_size)}",
                                  lambda: setattr(item, "rulers", before), lambda: setattr(item, "rulers", after),
                                  (item, round(ruler.end[0]))))

    def clear_rulers(self, item: OpenTomogram) -> None:
        before = item.rulers
        if before:
            item.rulers = []
            self.history.push(Command("Clear rulers", lambda: setattr(item, "rulers", before),
                                      lambda: setattr(item, "rulers", []), (item, None)))

    # --------------------------------------------------------------- features
    def add_feature(self, name: str | None = None, colour: str | None = None) -> Feature:
        features = self.session.features
        feature = features.new(name, colour)
        features.insert(feature)
        features.active = feature
        self.history.push(Command(f"Add feature {feature.name}", lambda: features.remove(feature),
                                  lambda: features.insert(feature)))
        return feature

    def delete_feature(self, feature: Feature) -> None:
        """Delete a feature with its masks and boxes in every tomogram (undo brings all back)."""
        features = self.session.features
        taken = {}

        def remove():
            for item in self.session.items:
                taken[id(item)] = (item, *item.annotation.take_feature(feature.id))
            return features.remove(feature)

        index = remove()

        def restore():
            features.insert(feature, index)
            for item, masks, boxes in taken.values():
                item.annotation.restore_feature(feature.id, masks, boxes)

        self.history.push(Command(f"Delete feature {feature.name}", restore, remove))

    def change_feature(self, feature: Feature, **changes) -> None:
        """Rename, recolour, change opacity or visibility."""
        old = {k: getattr(feature, k) for k in changes}
        if old == changes:
            return
        for k, v in changes.items():
            setattr(feature, k, v)
        # Dragging an opacity slider is one undo step, not fifty.
        self.history.push(Command(f"Change {feature.name} {', '.join(changes)}",
                                  lambda: [setattr(feature, k, v) for k, v in old.items()],
                                  lambda: [setattr(feature, k, v) for k, v in changes.items()],
                                  merge_key=(id(feature), tuple(sorted(changes)))))

    def edit_interactions(self, text: str, change, merge_key=None) -> None:
        """Apply ``change(graph)`` to the session's interaction graph as one undoable step."""
        graph = self.session.interactions
        before = graph.to_dict()
        change(graph)
        after = graph.to_dict()
        if after != before:
            self.history.push(Command(text, lambda: graph.restore(before), lambda: graph.restore(after),
                                      merge_key=None if merge_key is None else ("interactions", merge_key)))

    # ------------------------------------------------------------ undo / redo
    def undo(self) -> Command | None:
        self._end_pending()
        return self._show(self.history.undo())

    def redo(self) -> Command | None:
        self._end_pending()
        return self._show(self.history.redo())

    def _end_pending(self) -> None:
        if self.stroke is not None:
            self.end_stroke()

    def _show(self, command: Command | None) -> Command | None:
        """Bring the user to where an undone or redone edit happened."""
        if command is not None and command.where is not None:
            item, z = command.where
            if item in self.session.items:
                self.session.current = item
                if z is not None:
                    item.z = z
        return command
