"""The Pick tab: particles from a segmented volume of the current tomogram, counted live as the
settings change, shown on the slice (click to add, right-click to remove), saved for averaging;
and batch picking of many segmented volumes with the same settings in the background queue."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QGroupBox,
                               QHBoxLayout, QLabel, QLineEdit, QListWidget, QPushButton, QScrollArea, QSlider,
                               QSpinBox, QVBoxLayout, QWidget)

from ais_qt.controllers.tasks import coalescing_timer
from ais_qt.models.errors import AisError
from ais_qt.models.particles.filaments import FilamentSettings, pick_filaments
from ais_qt.models.formats.particle_io import FORMATS, Context, output_path, write
from ais_qt.models.particles.pick_state import PickState
from ais_qt.models.particles.picking import PickSettings, membrane_for, pick
from ais_qt.models.learning.segmentation import outputs_for, split_output_name
from ais_qt.views.export_tab import _checkable, _ticked
from ais_qt.views.queue_progress import QueueProgress

HELP = ("With this tab open, <b>click</b> on the slice to add a particle and <b>right-click</b> to remove the "
        "nearest (filaments: <b>Shift+right-click</b> removes the whole filament); Ctrl+Z undoes. Changing a "
        "setting picks again and keeps your hand edits.")
MODES = (("blob", "Blobs (one particle each)"), ("filament", "Filaments (points along each axis, oriented)"))
ORIENT_CHOICES = (("none", "No (positions only)"), ("disk", "Normal of a flat blob"), ("rod", "Axis of a long blob"),
                  ("membrane", "Normal of a membrane…"))
SIGN_CHOICES = (("+z", "towards +Z"), ("out", "out of the volume's centre"), ("in", "into the volume's centre"))


def _combo(choices, tip: str) -> QComboBox:
    combo = QComboBox()
    for key, text in choices:
        combo.addItem(text, key)
    combo.setToolTip(tip)
    return combo


def _nm_spin(value: float, top: float, tip: str) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setRange(0, top)
    spin.setDecimals(1)
    spin.setSuffix(" nm")
    spin.setValue(value)
    spin.setToolTip(tip)
    return spin


class PickTab(QScrollArea):
    state_changed = Signal(object)  # PickState of the current tomogram, or None
    problem = Signal(str)

    def __init__(self, editor, runner, queue, output_folder, parent=None):
        super().__init__(parent)
        self.session, self.runner, self.queue = editor.session, runner, queue
        self.output_folder = output_folder  # callable -> the Export tab's folder, where segmentations are
        self.states: dict = {}  # OpenTomogram -> PickState
        self.state: PickState | None = None
        self.busy = False
        self.pending = False

        self.segmentation = QComboBox()
        self.segmentation.setMinimumContentsLength(16)
        self.segmentation.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.open_button = QPushButton("Open…")
        self.threshold = QSlider(Qt.Horizontal)
        self.threshold.setRange(1, 255)
        self.threshold.setValue(128)
        self.threshold_spin = QSpinBox()
        self.threshold_spin.setRange(1, 255)
        self.threshold_spin.setValue(128)
        self.min_volume = QDoubleSpinBox()
        self.min_volume.setRange(0, 1e9)
        self.min_volume.setDecimals(0)
        self.volume_unit = QComboBox()
        self.volume_unit.addItem("nm³", "nm3")
        self.volume_unit.addItem("voxels", "voxels")
        self.min_spacing = QDoubleSpinBox()
        self.min_spacing.setRange(0, 10000)
        self.min_spacing.setDecimals(1)
        self.min_spacing.setSuffix(" nm")
        self.mode = QComboBox()
        for key, text in MODES:
            self.mode.addItem(text, key)
        defaults = FilamentSettings()
        self.min_length = _nm_spin(defaults.min_length_nm, 100000, "Shorter pieces are dropped")
        self.spacing = _nm_spin(defaults.spacing_nm, 10000, "Distance between points along a filament")
        self.twist = QDoubleSpinBox()
        self.twist.setRange(-180, 180)
        self.twist.setDecimals(1)
        self.twist.setSuffix(" °")
        self.twist.setToolTip("Added to psi from one point to the next (helical twist)")
        self.prune = _nm_spin(defaults.prune_nm, 10000, "Side branches shorter than this are removed")
        self.lumen = _nm_spin(defaults.lumen_nm, 1000, "Hollow filaments (a microtubule's wall) with an inner "
                                                       "radius up to this are filled, so points lie on the axis")
        self.orient = _combo(ORIENT_CHOICES, "Give each particle a Z axis (RELION angles in the coordinates)")
        self.orient_sign = _combo(SIGN_CHOICES, "Which way a disk's normal or a rod's axis points")
        self.membrane = QComboBox()
        self.membrane.setToolTip("The feature whose segmentation of this tomogram is the membrane: particles get its "
                                 "normal where it is nearest, pointing towards them")
        self.count = QLabel("No segmentation chosen")
        self.count.setObjectName("pick_count")
        font = self.count.font()
        font.setBold(True)
        self.count.setFont(font)
        self.format = QComboBox()
        for name, suffix in FORMATS.items():
            self.format.addItem(f"{name} ({suffix})", name)
        self.save_button = QPushButton("Save coordinates…")
        help_label = QLabel(HELP)
        help_label.setWordWrap(True)

        source = QGroupBox("Segmentation of this tomogram")
        row = QHBoxLayout()
        row.addWidget(self.segmentation, 1)
        row.addWidget(self.open_button)
        QVBoxLayout(source).addLayout(row)
        settings = QGroupBox("Settings")
        form = QFormLayout(settings)
        level = QHBoxLayout()
        level.addWidget(self.threshold, 1)
        level.addWidget(self.threshold_spin)
        form.addRow("Pick", self.mode)
        form.addRow("Threshold", level)
        volume = QHBoxLayout()
        volume.addWidget(self.min_volume, 1)
        volume.addWidget(self.volume_unit)
        form.addRow("Min. volume", volume)
        form.addRow("Min. spacing", self.min_spacing)
        orient = QHBoxLayout()
        orient.addWidget(self.orient, 1)
        orient.addWidget(self.orient_sign)
        form.addRow("Orient", orient)
        form.addRow("Membrane", self.membrane)
        self.blob_rows = [volume, self.min_spacing, orient, self.membrane]
        for label, widget in (("Min. length", self.min_length), ("Spacing", self.spacing), ("Twist", self.twist),
                              ("Prune branches", self.prune), ("Lumen radius", self.lumen)):
            form.addRow(label, widget)
        self.filament_rows = [self.min_length, self.spacing, self.twist, self.prune, self.lumen]
        self.form = form
        form.addRow(self.count)
        form.addRow(help_label)
        save = QHBoxLayout()
        save.addWidget(self.format, 1)
        save.addWidget(self.save_button)
        form.addRow(save)

        self.batch_files = QListWidget()
        self.batch_files.setMaximumHeight(90)
        self.batch_add = QPushButton("Add segmentations…")
        self.batch_folder = QLineEdit(str(Path.home() / "picks"))
        self.batch_overwrite = QCheckBox("Overwrite existing outputs")
        self.batch_start = QPushButton("Pick all")
        self.batch_cancel = QPushButton("Cancel")
        batch = QGroupBox("Pick many volumes (same settings)")
        bform = QFormLayout(batch)
        bform.addRow(self.batch_files)
        bform.addRow(self.batch_add)
        bform.addRow("Output folder", self.batch_folder)
        bform.addRow(self.batch_overwrite)
        buttons = QHBoxLayout()
        buttons.addWidget(self.batch_start)
        buttons.addWidget(self.batch_cancel)
        bform.addRow(buttons)
        self.progress = QueueProgress(queue)

        inner = QWidget()
        layout = QVBoxLayout(inner)
        for box in (source, settings, batch):
            layout.addWidget(box)
        layout.addWidget(self.progress, 1)
        self.setWidget(inner)
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.NoFrame)

        self.timer = coalescing_timer(self, 250, self.repick)  # a slider drag re-picks once it pauses
        self.threshold.valueChanged.connect(self.threshold_spin.setValue)
        self.threshold_spin.valueChanged.connect(self.threshold.setValue)
        self.threshold_spin.valueChanged.connect(self.timer.start)
        for widget in (self.min_volume, self.min_spacing, *self.filament_rows):
            widget.valueChanged.connect(self.timer.start)
        self.mode.currentIndexChanged.connect(self._mode_changed)
        for combo in (self.orient, self.orient_sign, self.membrane):
            combo.currentIndexChanged.connect(self._mode_changed)
        self.volume_unit.currentIndexChanged.connect(self.timer.start)
        self.segmentation.activated.connect(lambda i: self.choose(self.segmentation.itemData(i)))
        self.open_button.clicked.connect(lambda: self.open_segmentation())
        self.save_button.clicked.connect(lambda: self.save())
        self.batch_add.clicked.connect(lambda: self.add_batch_files())
        self.batch_start.clicked.connect(self.start_batch)
        self.batch_cancel.clicked.connect(queue.cancel)
        queue.running_changed.connect(self._queue_running)
        self.session.current_changed.connect(self._current_changed)
        self._current_changed(self.session.current)
        self._queue_running(False)
        self._show_mode()

    # ------------------------------------------------------------ settings
    def settings(self) -> PickSettings | FilamentSettings:
        if self.mode.currentData() == "filament":
            return FilamentSettings(self.threshold_spin.value(), self.min_length.value(), self.spacing.value(),
                                    self.twist.value(), self.prune.value(), self.lumen.value())
        orient = self.orient.currentData()
        if orient == "membrane" and not self.membrane.currentText():
            raise AisError(None, "Orienting by a membrane needs this tomogram's segmentation of it in the output folder")
        return PickSettings(self.threshold_spin.value(), self.min_volume.value(), self.volume_unit.currentData(),
                            self.min_spacing.value(), orient, self.orient_sign.currentData(),
                            self.membrane.currentText() if orient == "membrane" else "")

    def _show_settings(self, settings: PickSettings | FilamentSettings) -> None:
        widgets = (self.threshold_spin, self.threshold, self.min_volume, self.min_spacing, self.volume_unit,
                   self.mode, self.orient, self.orient_sign, self.membrane, *self.filament_rows)
        for w in widgets:
            w.blockSignals(True)
        self.threshold_spin.setValue(int(settings.threshold))
        self.threshold.setValue(int(settings.threshold))
        if isinstance(settings, FilamentSettings):
            self.mode.setCurrentIndex(self.mode.findData("filament"))
            for widget, value in zip(self.filament_rows, (settings.min_length_nm, settings.spacing_nm,
                                                          settings.twist_deg, settings.prune_nm, settings.lumen_nm)):
                widget.setValue(value)
        else:
            self.mode.setCurrentIndex(self.mode.findData("blob"))
            self.min_volume.setValue(settings.min_volume)
            self.min_spacing.setValue(settings.min_spacing_nm)
            self.volume_unit.setCurrentIndex(self.volume_unit.findData(settings.volume_unit))
            self.orient.setCurrentIndex(self.orient.findData(settings.orient))
            self.orient_sign.setCurrentIndex(self.orient_sign.findData(settings.orient_sign))
            if settings.orient_by:
                self.membrane.setCurrentIndex(max(self.membrane.findText(settings.orient_by), 0))
        for w in widgets:
            w.blockSignals(False)
        self._show_mode()

    def _mode_changed(self, *_) -> None:
        self._show_mode()
        self.timer.start()

    def _show_mode(self) -> None:
        filaments = self.mode.currentData() == "filament"
        for row in self.blob_rows:
            self.form.setRowVisible(row, not filaments)
        self.form.setRowVisible(self.membrane, not filaments and self.orient.currentData() == "membrane")
        self.orient_sign.setEnabled(self.orient.currentData() in ("disk", "rod"))
        for row in self.filament_rows:
            self.form.setRowVisible(row, filaments)

    # ---------------------------------------------------- segmentations
    def candidates(self, item) -> list[Path]:
        """Segmentations of this tomogram in the output folder (<tomogram>__<feature>.mrc)."""
        if item is None or item.tomogram.path is None:
            return []
        return list(outputs_for(item.tomogram.path, self.output_folder()).values())

    def _current_changed(self, item) -> None:
        self.segmentation.blockSignals(True)
        self.segmentation.clear()
        self.segmentation.addItem("(choose a segmentation)", None)
        known = [self.states[item].path] if item in self.states else []
        for path in dict.fromkeys(known + self.candidates(item)):
            self.segmentation.addItem(path.name, str(path))
        state = self.states.get(item)
        self.segmentation.setCurrentIndex(max(self.segmentation.findData(str(state.path)), 0) if state else 0)
        self.segmentation.blockSignals(False)
        self.membrane.blockSignals(True)
        chosen = self.membrane.currentText()
        self.membrane.clear()
        for path in self.candidates(item):
            feature = split_output_name(path)[1]
            if feature and (state is None or path != state.path):
                self.membrane.addItem(feature)
        self.membrane.setCurrentIndex(max(self.membrane.findText(chosen), 0))
        self.membrane.blockSignals(False)
        self._set_state(state)

    def open_segmentation(self, path: str | None = None) -> None:
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "Segmented volume", str(self.output_folder()),
                                                  "Segmentations (*.mrc)")
            if not path:
                return
        self.choose(path)

    def choose(self, path: str | None) -> None:
        item = self.session.current
        if item is None or path is None:
            return
        try:
            state = PickState(path, item.tomogram.shape, item.tomogram.voxel_size)
        except AisError as e:
            self.problem.emit(str(e))
            self._current_changed(item)
            return
        self.states[item] = state
        self._current_changed(item)
        self.repick()

    def _set_state(self, state: PickState | None) -> None:
        if self.state is not None:
            self.state.changed.disconnect(self._show_count)
        self.state = state
        if state is not None:
            state.changed.connect(self._show_count)
            self._show_settings(state.settings)
        self.save_button.setEnabled(state is not None)
        self._show_count()
        self.state_changed.emit(state)

    def _show_count(self) -> None:
        if self.state is None:
            self.count.setText("No segmentation chosen")
        elif not self.state.picked:
            self.count.setText("Picking…")
        else:
            self.count.setText(self.state.describe())

    # ------------------------------------------------------------ picking
    def repick(self) -> None:
        """Pick the current segmentation with the settings on screen (newest settings win)."""
        state = self.state
        if state is None:
            return
        if self.busy:
            self.pending = True
            return
        try:
            settings = self.settings()
            membrane = None
            if isinstance(settings, FilamentSettings):
                settings.in_pixels(state.voxel_size)
            else:
                settings.spacing_px(state.voxel_size)
                settings.min_voxels(state.voxel_size)
                membrane = membrane_for(state.path, settings, state.volume.shape)
        except AisError as e:
            self.count.setText(str(e))
            return
        self.busy, self.pending = True, False
        self.count.setText(self.count.text() + " …")
        volume, voxel_size = state.volume, state.voxel_size

        def work(progress):
            if isinstance(settings, FilamentSettings):
                return pick_filaments(np.asarray(volume.data), settings, voxel_size, progress)
            return pick(np.asarray(volume.data), settings, voxel_size, progress, membrane)

        self.runner.start(work, f"Pick {state.path.name}", finished=lambda p: state.set_auto(p, settings),
                          failed=self.problem.emit, done=self._picked)

    def _picked(self) -> None:
        self.busy = False
        if self.pending or (self.state is not None and self.state.settings != self.settings()):
            self.repick()

    def save(self, path: str | None = None) -> Path | None:
        state = self.state
        if state is None:
            return None
        fmt = self.format.currentData()
        if path is None:
            start = output_path(state.path, state.path.parent, fmt)
            path, _ = QFileDialog.getSaveFileName(self, "Save coordinates", str(start), f"*{FORMATS[fmt]}")
            if not path:
                return None
        try:
            return write(state.particles, path, Context.of_segmentation(state.path, state.voxel_size,
                                                                        state.volume.shape), fmt)
        except (AisError, OSError) as e:
            self.problem.emit(str(e))
            return None

    # -------------------------------------------------------------- batch
    def add_batch_files(self, paths: list[str] | None = None) -> None:
        if paths is None:
            paths, _ = QFileDialog.getOpenFileNames(self, "Segmented volumes", str(self.output_folder()),
                                                    "Segmentations (*.mrc)")
        present = {self.batch_files.item(i).data(Qt.UserRole) for i in range(self.batch_files.count())}
        for path in paths:
            if str(path) not in present:
                self.batch_files.addItem(_checkable(Path(path).name, str(path)))

    def start_batch(self) -> None:
        paths = _ticked(self.batch_files)
        if not paths:
            self.progress.log.appendPlainText("Add and tick at least one segmented volume.")
            return
        try:
            settings = self.settings()
        except AisError as e:
            self.problem.emit(str(e))
            return
        self.queue.pick(paths, settings, self.batch_folder.text().strip(), self.format.currentData(),
                        self.batch_overwrite.isChecked())

    def _queue_running(self, running: bool) -> None:
        self.batch_start.setEnabled(not running)
        self.batch_cancel.setEnabled(running)
