"""The Interactions box of the Models tab: the node graph, the selected edge's settings, JSON files."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel,
                               QPushButton, QVBoxLayout)

from ais_qt.models.annotation.editing import Editor
from ais_qt.models.errors import AisError
from ais_qt.models.learning.interactions import KINDS, InteractionGraph, radius_in_pixels
from ais_qt.views.interaction_graph import InteractionGraphView, describe

HELP = ("Drag from a network's ● onto another: the second is kept only near the first (colocalize) or "
        "only away from it (avoid). <i>emit</i>/<i>absorb</i>: an absorbing network is zeroed where an "
        "emitting one is higher. Competition first, then the numbered interactions in order.")


class InteractionsPanel(QGroupBox):
    problem = Signal(str)

    def __init__(self, editor: Editor, parent=None):
        super().__init__("Interactions", parent)
        self.editor = editor
        self.session = editor.session
        self.graph = self.session.interactions
        self.view = InteractionGraphView(editor)
        help_label = QLabel(HELP)
        help_label.setWordWrap(True)
        self.edge_label = QLabel()
        self.edge_label.setWordWrap(True)
        self.kind = QComboBox()
        self.kind.addItems(KINDS)
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(0.01, 0.99)
        self.threshold.setSingleStep(0.05)
        self.threshold.setToolTip("The parent counts as present where its probability is at least this")
        self.radius = QDoubleSpinBox()
        self.radius.setRange(0, 10000)
        self.radius.setDecimals(1)
        self.radius.setSuffix(" nm")
        self.radius.setToolTip("The parent's region is grown by this distance before it is applied")
        self.earlier = QPushButton("Earlier")
        self.later = QPushButton("Later")
        self.remove = QPushButton("Remove")
        order = QHBoxLayout()
        for b in (self.earlier, self.later, self.remove):
            order.addWidget(b)
        form = QFormLayout()
        form.addRow(self.edge_label)
        form.addRow("Rule", self.kind)
        form.addRow("Parent above", self.threshold)
        form.addRow("Grown by", self.radius)
        form.addRow(order)
        self.load_button = QPushButton("Load…")
        self.save_button = QPushButton("Save…")
        self.clear_button = QPushButton("Clear")
        files = QHBoxLayout()
        for b in (self.load_button, self.save_button, self.clear_button):
            files.addWidget(b)
        layout = QVBoxLayout(self)
        layout.addWidget(help_label)
        layout.addWidget(self.view)
        layout.addLayout(form)
        layout.addLayout(files)

        self.kind.currentTextChanged.connect(lambda kind: self._edit("kind", kind))
        self.threshold.valueChanged.connect(lambda value: self._edit("threshold", round(value, 4)))
        self.radius.valueChanged.connect(lambda value: self._edit("radius_nm", round(value, 4)))
        self.earlier.clicked.connect(lambda: self._move(-1))
        self.later.clicked.connect(lambda: self._move(1))
        self.remove.clicked.connect(self.view.remove_selected)
        self.load_button.clicked.connect(lambda: self.load())
        self.save_button.clicked.connect(lambda: self.save())
        self.clear_button.clicked.connect(
            lambda: self.editor.edit_interactions("Clear interactions", lambda g: g.restore({})))
        self.view.selection_changed.connect(self._show_selected)
        self.session.current_changed.connect(lambda *_: self._show_selected(self.view.selected))
        self._show_selected(None)

    def _show_selected(self, key) -> None:
        edge = self.graph.find(*key) if key else None
        for w in (self.kind, self.threshold, self.radius, self.earlier, self.later, self.remove):
            w.setEnabled(edge is not None)
        self.save_button.setEnabled(bool(self.graph.edges or self.graph.roles))
        self.clear_button.setEnabled(bool(self.graph.edges or self.graph.roles))
        if edge is None:
            self.edge_label.setText("<i>No interaction selected: click an arrow.</i>")
            return
        index = self.graph.edges.index(edge)
        self.earlier.setEnabled(index > 0)
        self.later.setEnabled(index < len(self.graph.edges) - 1)
        self.edge_label.setText(f"<b>{index + 1}. {describe(edge)}</b>{self._in_pixels(edge.radius_nm)}")
        for widget, value in ((self.kind, edge.kind), (self.threshold, edge.threshold), (self.radius, edge.radius_nm)):
            widget.blockSignals(True)
            if widget is self.kind:
                widget.setCurrentText(value)
            else:
                widget.setValue(value)
            widget.blockSignals(False)

    def _in_pixels(self, radius_nm: float) -> str:
        item = self.session.current
        if not radius_nm or item is None:
            return ""
        try:
            pixels = radius_in_pixels(radius_nm, item.tomogram.voxel_size)
        except AisError:
            return f"<br>{item.tomogram.name} has no voxel size: set it to use a radius"
        return f"<br>{radius_nm:g} nm = {pixels:.1f} px in {item.tomogram.name}"

    def _edit(self, field: str, value) -> None:
        key = self.view.selected
        if key is None:
            return
        child, parent = key
        self.editor.edit_interactions(f"Change {child}'s interaction with {parent}",
                                      lambda g: g.update(child, parent, **{field: value}),
                                      merge_key=(child, parent, field))  # a spin-box drag is one step

    def _move(self, steps: int) -> None:
        if self.view.selected is not None:
            child, parent = self.view.selected
            self.editor.edit_interactions("Reorder interactions", lambda g: g.move(child, parent, steps))

    def load(self, path: str | None = None) -> None:
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "Load interactions", "", "Interaction graphs (*.json)")
            if not path:
                return
        try:
            loaded = InteractionGraph.load(path)
        except AisError as e:
            self.problem.emit(str(e))
            return
        self.editor.edit_interactions("Load interactions", lambda g: g.restore(loaded.to_dict()))

    def save(self, path: str | None = None) -> None:
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, "Save interactions", "interactions.json",
                                                  "Interaction graphs (*.json)")
            if not path:
                return
        try:
            self.graph.save(path)
        except OSError as e:
            self.problem.emit(f"{path}: could not be saved ({e})")
