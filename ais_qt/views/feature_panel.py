"""The Annotate tab's feature list and tools: add, rename, recolour, hide, delete; brush and boxes."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (QButtonGroup, QCheckBox, QColorDialog, QDoubleSpinBox, QFormLayout, QGroupBox,
                               QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton, QSlider,
                               QSpinBox, QToolButton, QVBoxLayout, QWidget)

from ais_qt.models.annotation.editing import MAX_RADIUS, MIN_RADIUS, TOOLS, Editor
from ais_qt.models.annotation.features import Feature


def swatch(colour: str) -> QIcon:
    pixmap = QPixmap(14, 14)
    pixmap.fill(QColor(colour))
    return QIcon(pixmap)


class FeaturePanel(QWidget):

    def __init__(self, editor: Editor, parent=None):
        super().__init__(parent)
        self.editor = editor
        self.session = editor.session
        self.features = editor.session.features
        self.tools = editor.tools

        self.list = QListWidget()
        self.list.setToolTip("Keys 1-9 pick a feature, Tab cycles; double-click to rename; "
                             "the tick shows or hides it")
        self.list.setMinimumHeight(120)
        self.add_button = QPushButton("Add feature")
        self.delete_button = QPushButton("Delete")
        self.delete_button.setToolTip("Delete the feature with its annotations in every tomogram (Ctrl+Z undoes)")
        self.colour_button = QPushButton("Colour…")
        self.opacity = QSlider(Qt.Horizontal)
        self.opacity.setRange(5, 100)
        self.opacity.setToolTip("Opacity of the active feature's overlay")
        self.summary = QLabel()
        self.summary.setWordWrap(True)

        buttons = QHBoxLayout()
        for b in (self.add_button, self.colour_button, self.delete_button):
            buttons.addWidget(b)
        group = QGroupBox("Features")
        form = QVBoxLayout(group)
        form.addWidget(self.list)
        form.addLayout(buttons)
        opacity_row = QHBoxLayout()
        opacity_row.addWidget(QLabel("Opacity"))
        opacity_row.addWidget(self.opacity)
        form.addLayout(opacity_row)
        form.addWidget(self.summary)

        self.tool_buttons: dict[str, QToolButton] = {}
        self.tool_group = QButtonGroup(self)
        tool_row = QHBoxLayout()
        for tool, text, tip in zip(TOOLS, ("Brush", "Lasso", "Boxes"),
                                   ("P: paint with a round brush (right button erases)",
                                    "L: draw a closed outline to fill (right button cuts)",
                                    "Shift+B: click to place a training box, right-click to remove one "
                                    "(B places one at the cursor in any tool)")):
            button = QToolButton()
            button.setText(text)
            button.setToolTip(tip)
            button.setCheckable(True)
            self.tool_group.addButton(button)
            self.tool_buttons[tool] = button
            tool_row.addWidget(button)
        self.erase = QCheckBox("Erase (E)")
        tool_row.addWidget(self.erase)
        tool_row.addStretch(1)
        self.radius = QDoubleSpinBox()
        self.radius.setRange(MIN_RADIUS, MAX_RADIUS)
        self.radius.setDecimals(1)
        self.radius.setSuffix(" px")
        self.radius.setToolTip("Brush radius: [ and ], or Ctrl+wheel")
        self.box_size = QSpinBox()
        self.box_size.setRange(8, 2048)
        self.box_size.setSingleStep(16)
        self.box_size.setSuffix(" px")
        self.box_size.setToolTip("Side of new training boxes (the network's tile size)")
        tools = QGroupBox("Tools")
        tools_form = QFormLayout(tools)
        tools_form.addRow(tool_row)
        tools_form.addRow("Brush radius", self.radius)
        tools_form.addRow("Box size", self.box_size)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(group)
        layout.addWidget(tools)

        self.add_button.clicked.connect(lambda: self.editor.add_feature())
        self.delete_button.clicked.connect(self._delete)
        self.colour_button.clicked.connect(self._choose_colour)
        self.opacity.valueChanged.connect(self._opacity_moved)
        self.list.currentRowChanged.connect(self.features.select_index)
        self.list.itemChanged.connect(self._item_edited)
        for tool, button in self.tool_buttons.items():
            button.toggled.connect(lambda on, t=tool: on and setattr(self.tools, "tool", t))
        self.erase.toggled.connect(lambda on: setattr(self.tools, "erase", on))
        self.radius.valueChanged.connect(lambda v: setattr(self.tools, "radius", v))
        self.box_size.valueChanged.connect(lambda v: setattr(self.session, "box_size", v))

        self.features.added.connect(self._rebuild)
        self.features.removed.connect(self._rebuild)
        self.features.active_changed.connect(self._rebuild)
        self.session.history.changed.connect(self._update_summary)
        self.session.current_changed.connect(self._update_summary)
        self.session.box_size_changed.connect(self._refresh_tools)
        self.tools.events.all.connect(self._refresh_tools)
        self._watched: list[Feature] = []
        self._rebuild()
        self._refresh_tools()

    # ----------------------------------------------------------------- list
    def _rebuild(self, *_):
        for feature in self._watched:
            feature.events.all.disconnect(self._rebuild)
        self._watched = list(self.features)
        for feature in self._watched:
            feature.events.all.connect(self._rebuild)
        # Rows are updated in place, never cleared: this often runs inside the list's own
        # itemChanged/currentRowChanged signal, and deleting the row Qt is handling crashes.
        self.list.blockSignals(True)
        while self.list.count() > len(self.features):
            self.list.takeItem(self.list.count() - 1)
        while self.list.count() < len(self.features):
            row = QListWidgetItem()
            row.setFlags(row.flags() | Qt.ItemIsEditable | Qt.ItemIsUserCheckable)
            self.list.addItem(row)
        for n, feature in enumerate(self.features, start=1):
            row = self.list.item(n - 1)
            row.setIcon(swatch(feature.colour))
            row.setText(feature.name)
            row.setCheckState(Qt.Checked if feature.visible else Qt.Unchecked)
            row.setToolTip(f"Key {n}" if n <= 9 else "")
        active = self.features.active
        self.list.setCurrentRow(self.features.features.index(active) if active else -1)
        self.list.blockSignals(False)
        self.opacity.blockSignals(True)
        self.opacity.setValue(round((active.opacity if active else 0.5) * 100))
        self.opacity.blockSignals(False)
        for widget in (self.delete_button, self.colour_button, self.opacity):
            widget.setEnabled(active is not None)
        self._update_summary()

    def _item_edited(self, row: QListWidgetItem) -> None:
        feature = self.features.features[self.list.row(row)]
        name = row.text().strip()
        visible = row.checkState() == Qt.Checked
        changes = {}
        if name and name != feature.name:
            changes["name"] = name
        if visible != feature.visible:
            changes["visible"] = visible
        if changes:
            self.editor.change_feature(feature, **changes)
        else:
            self._rebuild()  # an empty name goes back to the old one

    def _update_summary(self, *_):
        feature, item = self.features.active, self.session.current
        if feature is None:
            self.summary.setText("Add a feature to start annotating.")
            return
        if item is None:
            self.summary.setText("")
            return
        annotation = item.annotation
        boxes = [b for b in annotation.boxes if b.feature_id == feature.id]
        positive = sum(annotation.is_positive(b) for b in boxes)
        slices = annotation.annotated_slices(feature.id)
        self.summary.setText(f"In {item.tomogram.name}: {len(slices)} annotated slice{'s' * (len(slices) != 1)}, "
                             f"{len(boxes)} box{'es' * (len(boxes) != 1)} ({positive} with annotation)")

    # -------------------------------------------------------------- actions
    def _delete(self) -> None:
        if self.features.active is not None:
            self.editor.delete_feature(self.features.active)

    def _choose_colour(self) -> None:
        feature = self.features.active
        if feature is None:
            return
        dialog = QColorDialog(QColor(feature.colour), self)
        dialog.setWindowTitle(f"Colour of {feature.name}")
        dialog.colorSelected.connect(lambda c: self.editor.change_feature(feature, colour=c.name()))
        dialog.open()
        self.colour_dialog = dialog

    def _opacity_moved(self, value: int) -> None:
        if self.features.active is not None:
            self.editor.change_feature(self.features.active, opacity=value / 100)

    def _refresh_tools(self, *_):
        for widget in (*self.tool_buttons.values(), self.erase, self.radius, self.box_size):
            widget.blockSignals(True)
        self.tool_buttons[self.tools.tool].setChecked(True)
        self.erase.setChecked(self.tools.erase)
        self.radius.setValue(self.tools.radius)
        self.box_size.setValue(self.session.box_size)
        for widget in (*self.tool_buttons.values(), self.erase, self.radius, self.box_size):
            widget.blockSignals(False)
