"""Label volumes in and out: File > Import label volume and File > Export feature as label volume."""

from __future__ import annotations

from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout,
                               QLineEdit, QPushButton, QSpinBox, QWidget)

from ais_qt.models.errors import AisError
from ais_qt.models.annotation.features import FeatureSet
from ais_qt.models.volumes.label_volumes import parse_slices, read_label_slices, write_label_volume
from ais_qt.models.volumes.tomogram import VOLUME_SUFFIXES

NEW_FEATURE = -1


class ImportLabelsDialog(QDialog):
    def __init__(self, features: FeatureSet, tomogram_name: str, parent=None):
        super().__init__(parent)
        self.setWindowTitle(f"Import label volume into {tomogram_name}")
        self.path = QLineEdit()
        self.path.setPlaceholderText("a .mrc label or mask volume of the same size as the tomogram")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        self.value = QSpinBox()
        self.value.setRange(-32768, 65535)
        self.value.setValue(1)
        self.value.setToolTip("Voxels with this value become the feature's annotation")
        self.slices = QLineEdit()
        self.slices.setPlaceholderText("all labelled slices, or e.g. 10, 40, 80-85")
        self.feature = QComboBox()
        for f in features:
            self.feature.addItem(f.name, f.id)
        self.feature.addItem("New feature", NEW_FEATURE)
        if features.active is not None:
            self.feature.setCurrentIndex(self.feature.findData(features.active.id))
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        path_widget = QWidget()
        path_widget.setLayout(row)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Label volume", path_widget)
        form.addRow("Label value", self.value)
        form.addRow("Slices", self.slices)
        form.addRow("Into feature", self.feature)
        form.addRow(self.buttons)
        self.resize(560, self.sizeHint().height())

    def _browse(self) -> None:
        patterns = " ".join(f"*{s}" for s in VOLUME_SUFFIXES)
        path, _ = QFileDialog.getOpenFileName(self, "Label volume", "", f"Volumes ({patterns});;All files (*)")
        if path:
            self.path.setText(path)


def import_labels(window) -> ImportLabelsDialog | None:
    """Ask for a label volume and import it into the current tomogram (read in the background)."""
    session, editor = window.controller.session, window.editor
    item = session.current
    if item is None:
        window.show_error("Open a tomogram first: labels are imported into the current tomogram.")
        return None
    dialog = ImportLabelsDialog(session.features, item.tomogram.name, window)

    def accepted():
        try:
            slices = parse_slices(dialog.slices.text())
        except AisError as e:
            window.show_error(str(e))
            return
        path, value, target = dialog.path.text().strip(), dialog.value.value(), dialog.feature.currentData()

        def done(masks):
            if item not in session.items:
                return
            feature = editor.add_feature() if target == NEW_FEATURE else session.features.by_id(target)
            editor.set_slice_masks(f"Import labels into {feature.name}", item, feature.id, masks)
            session.features.active = feature
            item.z = min(masks)
            window.statusBar().showMessage(f"Imported {len(masks)} slices of label {value} into {feature.name}", 8000)

        window.controller.runner.start(lambda progress: read_label_slices(path, item.tomogram.shape, value, slices),
                                       "Import labels", finished=done, failed=window.show_error)

    dialog.accepted.connect(accepted)
    dialog.open()
    return dialog


def export_labels(window, path: str | None = None) -> None:
    """Write the active feature's annotation of the current tomogram as a uint8 label volume."""
    session = window.controller.session
    item, feature = session.current, session.features.active
    if item is None or feature is None:
        window.show_error("Export needs an open tomogram and an active feature.")
        return
    if path is None:
        default = f"{item.tomogram.path.stem if item.tomogram.path else item.tomogram.name}__{feature.name}_labels.mrc"
        start = str(item.tomogram.path.parent / default) if item.tomogram.path else default
        path, _ = QFileDialog.getSaveFileName(window, f"Export {feature.name} as a label volume", start,
                                              "MRC volume (*.mrc)")
        if not path:
            return
    masks, shape, grid = item.annotation.copy_masks(feature.id), item.tomogram.shape, item.tomogram.grid
    window.controller.runner.start(
        lambda progress: write_label_volume(masks, shape, grid, path), "Export labels",
        finished=lambda out: window.statusBar().showMessage(f"Wrote {out}", 8000), failed=window.show_error)
