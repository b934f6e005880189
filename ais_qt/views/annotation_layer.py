"""Annotating on the slice view: overlays, the mouse (brush, lasso, boxes) and the annotation keys.

Left drag paints with the active feature, right drag erases (E swaps them); middle drag pans.
Every edit goes through the models' Editor, so undo, saving and tests see the same thing.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QPointF, Qt, Signal
from PySide6.QtGui import QAction, QColor, QKeySequence, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsPathItem

from ais_qt.models.annotation.editing import Editor
from ais_qt.models.session import OpenTomogram
from ais_qt.views.overlays import BoxesItem, BrushCursor, MaskOverlay

RADIUS_STEP = 1.15  # each [ or ] or Ctrl+wheel notch


class AnnotationLayer(QObject):
    message = Signal(str)  # e.g. why a fill did nothing

    def __init__(self, slice_view, editor: Editor):
        super().__init__(slice_view)
        self.view = slice_view
        self.box = slice_view.view_box
        self.editor = editor
        self.session = editor.session
        self.tools = editor.tools
        self.item: OpenTomogram | None = None
        self.overlays: dict[int, MaskOverlay] = {}
        self.hover: QPointF | None = None  # last mouse position in slice coordinates
        self.lasso_points: list[tuple[float, float]] = []
        self.lasso_erase = False
        # (item, z) -> (probabilities, threshold) of the active feature's network on that slice, or
        # None when it has not predicted it (set by the main window from the live prediction).
        self.prediction_source = None

        self.boxes_item = BoxesItem()
        self.cursor = BrushCursor()
        self.cursor.setVisible(False)
        self.lasso_item = QGraphicsPathItem()
        pen = QPen(QColor("#ffffff"), 1.5, Qt.DashLine)
        pen.setCosmetic(True)
        self.lasso_item.setPen(pen)
        self.lasso_item.setZValue(30)
        for graphic in (self.boxes_item, self.cursor, self.lasso_item):
            self.box.addItem(graphic)

        self.actions = self._make_actions()
        slice_view.addActions(self.actions)
        self.box.handler = self
        slice_view.graphics.scene().sigMouseMoved.connect(self._mouse_moved)
        features = self.session.features
        features.added.connect(self._feature_added)
        features.removed.connect(self._feature_removed)
        features.active_changed.connect(self._active_changed)
        self.tools.events.all.connect(self._tools_changed)
        self.session.history.changed.connect(self._refresh_boxes)  # after strokes, undo and redo
        self.session.current_changed.connect(self._attach)
        self._attach(self.session.current)

    # ------------------------------------------------------------------ keys
    def _make_actions(self) -> list[QAction]:
        features = self.session.features
        specs = [(f"Select feature {n}", [str(n)], lambda _=False, n=n: features.select_index(n - 1))
                 for n in range(1, 10)]
        specs += [
            ("Next feature", ["Tab"], lambda: features.cycle(1)),
            ("Previous feature", ["Shift+Tab", "Backtab"], lambda: features.cycle(-1)),
            ("Smaller brush", ["["], lambda: self.tools.grow(1 / RADIUS_STEP)),
            ("Larger brush", ["]"], lambda: self.tools.grow(RADIUS_STEP)),
            ("Toggle erase", ["E"], lambda: setattr(self.tools, "erase", not self.tools.erase)),
            ("Brush tool", ["P"], lambda: setattr(self.tools, "tool", "brush")),
            ("Lasso tool", ["L"], lambda: setattr(self.tools, "tool", "lasso")),
            ("Box tool", ["Shift+B"], lambda: setattr(self.tools, "tool", "box")),
            ("Fill enclosed region at cursor", ["F"], self.fill_at_cursor),
            ("Place training box at cursor", ["B"], self.box_at_cursor),
            ("Delete training box at cursor", ["Delete", "Backspace"], self.delete_box_at_cursor),
            ("Interpolate slices from the slice drawn before", ["I"], self.interpolate),
            ("Accept prediction in the box at cursor", ["A"], lambda: self.accept_prediction(True)),
            ("Accept prediction in every box of the slice", ["Shift+A"], lambda: self.accept_prediction(False)),
        ]
        actions = []
        for text, keys, slot in specs:
            action = QAction(text, self.view)
            action.setShortcuts([QKeySequence(k) for k in keys])
            action.setShortcutContext(Qt.WidgetWithChildrenShortcut)
            action.triggered.connect(slot)
            actions.append(action)
        return actions

    def _at_cursor(self):
        if self.item is None or self.hover is None:
            return None
        return self.item, self.item.z, self.hover.x(), self.hover.y()

    def fill_at_cursor(self) -> None:
        where = self._at_cursor()
        if where and self.session.features.active is not None and not self.editor.flood_fill(*where):
            self.message.emit("Fill: the region under the cursor is not enclosed by the active feature's paint")

    def box_at_cursor(self) -> None:
        where = self._at_cursor()
        if where:
            self.editor.place_box(*where)

    def interpolate(self) -> None:
        if self.item is None or self.session.features.active is None:
            return
        filled = self.editor.interpolate(self.item, self.item.z)
        name = self.session.features.active.name
        self.message.emit(f"Interpolated {name} on slices {filled[0]}-{filled[1]}" if filled else
                          f"Interpolate: draw {name} on this slice and on another one (with a gap between), "
                          "then press I on either")

    def accept_prediction(self, at_cursor: bool) -> None:
        """The active feature's network's answer on this slice becomes annotation (A: the box under
        the cursor, placed if needed; Shift+A: every box of the feature on the slice)."""
        feature = self.session.features.active
        if self.item is None or feature is None:
            return
        found = self.prediction_source(self.item, self.item.z) if self.prediction_source else None
        if found is None:
            self.message.emit(f"Accept prediction: no trained, visible {feature.name} network has predicted this "
                              "slice yet (train one in the Models tab)")
            return
        where = self._at_cursor()
        if at_cursor and where is None:
            return
        used = self.editor.accept_prediction(self.item, self.item.z, *found,
                                             at=(where[2], where[3]) if at_cursor else None)
        if not used and not at_cursor:
            self.message.emit(f"Accept prediction: place {feature.name} boxes (B) on this slice first")

    def delete_box_at_cursor(self) -> None:
        where = self._at_cursor()
        if where:
            self.editor.delete_box_at(*where)

    # ----------------------------------------------------------------- mouse
    def _usable(self) -> bool:
        feature = self.session.features.active
        return self.item is not None and feature is not None and feature.visible

    def drag(self, ev) -> bool:
        """Called by the view box for drags; True when the drag was ours (not a pan or zoom)."""
        if ev.button() not in (Qt.LeftButton, Qt.RightButton) or not self._usable():
            return False
        tool = self.tools.tool
        p = self.box.mapToView(ev.pos())
        inverted = ev.button() == Qt.RightButton
        if tool == "brush":
            if ev.isStart():
                start = self.box.mapToView(ev.buttonDownPos())
                self.editor.begin_stroke(self.item, self.item.z, start.x(), start.y(), self.tools.radius,
                                         erase=self.tools.erase != inverted)
            self.editor.continue_stroke(p.x(), p.y())
            if ev.isFinish():
                self.editor.end_stroke()
        elif tool == "lasso":
            if ev.isStart():
                start = self.box.mapToView(ev.buttonDownPos())
                self.lasso_points = [(start.x(), start.y())]
                self.lasso_erase = self.tools.erase != inverted
            self.lasso_points.append((p.x(), p.y()))
            self._draw_lasso()
            if ev.isFinish():
                points, self.lasso_points = self.lasso_points, []
                self._draw_lasso()
                self.editor.polygon_fill(self.item, self.item.z, points, erase=self.lasso_erase)
        else:
            return False  # box tool: dragging pans
        ev.accept()
        return True

    def click(self, ev) -> bool:
        if ev.button() not in (Qt.LeftButton, Qt.RightButton) or not self._usable():
            return False
        p = self.box.mapToView(ev.pos())
        inverted = ev.button() == Qt.RightButton
        tool = self.tools.tool
        if tool == "brush":
            self.editor.begin_stroke(self.item, self.item.z, p.x(), p.y(), self.tools.radius,
                                     erase=self.tools.erase != inverted)
            self.editor.end_stroke()
        elif tool == "box":
            if inverted:
                self.editor.delete_box_at(self.item, self.item.z, p.x(), p.y())
            else:
                self.editor.place_box(self.item, self.item.z, p.x(), p.y())
        else:
            return False
        ev.accept()
        return True

    def wheel_radius(self, steps: int) -> None:
        self.tools.grow(RADIUS_STEP ** steps)

    def _mouse_moved(self, scene_pos) -> None:
        self.hover = self.box.mapSceneToView(scene_pos)
        self.cursor.setPos(self.hover)
        self.cursor.setVisible(self.item is not None and self.tools.tool == "brush" and self._usable())

    def _draw_lasso(self) -> None:
        path = QPainterPath()
        if self.lasso_points:
            path.moveTo(*self.lasso_points[0])
            for point in self.lasso_points[1:]:
                path.lineTo(*point)
            path.closeSubpath()
        self.lasso_item.setPath(path)

    # -------------------------------------------------------------- drawing
    def _attach(self, item: OpenTomogram | None) -> None:
        if self.item is not None:
            self.item.z_changed.disconnect(self._slice_changed)
            self.item.annotation.mask_changed.disconnect(self._mask_changed)
            self.item.annotation.boxes_changed.disconnect(self._refresh_boxes)
        self.item = item
        if item is not None:
            item.z_changed.connect(self._slice_changed)
            item.annotation.mask_changed.connect(self._mask_changed)
            item.annotation.boxes_changed.connect(self._refresh_boxes)
        self._rebuild()

    def _rebuild(self) -> None:
        for overlay in self.overlays.values():
            self.box.removeItem(overlay)
            overlay.source.events.all.disconnect(self._feature_edited)
        self.overlays = {}
        if self.item is not None:
            for feature in self.session.features:
                self._add_overlay(feature)
        self._slice_changed()

    def _add_overlay(self, feature) -> None:
        overlay = MaskOverlay(feature, self.item.annotation.slice_shape)
        overlay.restyle(feature.colour, feature.opacity, feature.visible)
        self.overlays[feature.id] = overlay
        self.box.addItem(overlay)
        feature.events.all.connect(self._feature_edited)

    def _slice_changed(self, *_):
        if self.item is not None:
            for fid, overlay in self.overlays.items():
                overlay.show_mask(self.item.annotation.mask(fid, self.item.z))
        self._refresh_boxes()

    def _mask_changed(self, feature_id: int, z: int, rect) -> None:
        overlay = self.overlays.get(feature_id)
        if overlay is not None and self.item is not None and z == self.item.z:
            overlay.show_region(self.item.annotation.mask(feature_id, z), rect)
            if self.editor.stroke is None:  # box solid/dashed state changes at most once per stroke
                self._refresh_boxes()

    def _refresh_boxes(self, *_):
        annotation = self.item.annotation if self.item is not None else None
        features = self.session.features
        self.boxes_item.set_boxes(annotation, self.item.z if self.item else 0,
                                  {f.id: f.colour for f in features}, {f.id for f in features if not f.visible})

    def _feature_added(self, feature, _index) -> None:
        if self.item is not None:
            self._add_overlay(feature)
            self._slice_changed()

    def _feature_removed(self, feature, _index) -> None:
        overlay = self.overlays.pop(feature.id, None)
        if overlay is not None:
            self.box.removeItem(overlay)
            feature.events.all.disconnect(self._feature_edited)
        self._refresh_boxes()

    def _feature_edited(self, *_):
        for overlay in self.overlays.values():
            feature = overlay.source
            overlay.restyle(feature.colour, feature.opacity, feature.visible)
        self._slice_changed()  # a new colour must be drawn into the buffers

    def _active_changed(self, _feature) -> None:
        self.cursor.setVisible(self.cursor.isVisible() and self._usable())

    def _tools_changed(self, *_):
        self.cursor.set_brush(self.tools.radius, self.tools.erase)
        if self.tools.tool != "brush":
            self.cursor.setVisible(False)
