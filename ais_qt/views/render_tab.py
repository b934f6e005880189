"""The Render tab: segmented features of the current tomogram as 3D surfaces, in their colours,
with the current slice as a plane and the picked particles as spheres (arrows along their axes when
oriented, filaments' centre lines as tubes); screenshots and .obj export.

Surfaces are computed in the thread pool (one at a time, newest settings win), so a big volume
never freezes the window. The 3D view itself takes the centre of the window while this tab is open; it renders in a
process of its own (render_process.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QGroupBox,
                               QHBoxLayout, QLabel, QPushButton, QScrollArea, QSlider, QTreeWidget, QTreeWidgetItem,
                               QVBoxLayout, QWidget)

from ais_qt.controllers.tasks import coalescing_timer
from ais_qt.models.errors import AisError
from ais_qt.models.particles.meshes import Mesh, surface, write_obj
from ais_qt.models.particles.orientations import z_axis
from ais_qt.models.particles.picking import PickSettings
from ais_qt.models.learning.segmentation import open_segmentation, outputs_for, split_output_name
from ais_qt.models.volumes.tomogram import Tomogram
from ais_qt.views.feature_panel import swatch
from ais_qt.views.vtk_view import VtkView

FALLBACK_COLOURS = ["#e69f00", "#56b4e9", "#009e73", "#f0e442", "#0072b2", "#d55e00", "#cc79a7"]
QUALITY = {"Full (every voxel)": 1, "Fast (every 2nd voxel)": 2, "Fastest (every 4th voxel)": 4}


@dataclass
class Layer:
    """One segmented feature: its file, how it is drawn, and the surface computed for it."""

    name: str
    path: Path
    colour: str
    level: int = 128
    visible: bool = True
    mesh: Mesh | None = None
    key: tuple | None = None  # the settings ``mesh`` was computed with
    volume: Tomogram | None = field(default=None, repr=False)


class RenderTab(QScrollArea):
    problem = Signal(str)

    def __init__(self, editor, runner, output_folder, slice_view, particle_layer, parent=None):
        super().__init__(parent)
        self.session, self.runner, self.output_folder = editor.session, runner, output_folder
        self.slice_view, self.particle_layer = slice_view, particle_layer
        self.view = VtkView()
        self.layers: dict[str, Layer] = {}
        self.busy = False
        self.item = None

        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Feature", "Surface"])
        self.tree.setRootIsDecorated(False)
        self.tree.setMaximumHeight(140)
        self.add_button = QPushButton("Add segmentation…")
        self.refresh_button = QPushButton("Find in output folder")
        self.level = QSlider(Qt.Horizontal)
        self.level.setRange(1, 255)
        self.level.setValue(128)
        self.level_label = QLabel("128")
        self.dust = QDoubleSpinBox()
        self.dust.setRange(0, 1e9)
        self.dust.setDecimals(0)
        self.dust.setSuffix(" nm³")
        self.dust.setToolTip("Blobs smaller than this are not drawn (and not exported)")
        self.quality = QComboBox()
        self.quality.addItems(list(QUALITY))
        self.quality.setToolTip("Coarser surfaces have fewer triangles: faster on big volumes")
        self.smooth = QCheckBox("Smooth surfaces")
        self.show_slice = QCheckBox("Show the current slice")
        self.show_slice.setChecked(True)
        self.show_particles = QCheckBox("Show picked particles")
        self.show_particles.setChecked(True)
        self.reset_button = QPushButton("Reset view")
        self.screenshot_button = QPushButton("Save screenshot…")
        self.units = QComboBox()
        self.units.addItem("voxels", "voxels")
        self.units.addItem("Å", "angstrom")
        self.export_button = QPushButton("Export .obj…")
        self.status = QLabel()
        self.status.setWordWrap(True)
        help_label = QLabel("Drag: rotate · Shift+drag or middle drag: pan · wheel or right drag: zoom")
        help_label.setWordWrap(True)

        features = QGroupBox("Segmented features")
        fl = QVBoxLayout(features)
        fl.addWidget(self.tree)
        row = QHBoxLayout()
        row.addWidget(self.add_button)
        row.addWidget(self.refresh_button)
        fl.addLayout(row)
        surfaces = QGroupBox("Surfaces")
        form = QFormLayout(surfaces)
        level_row = QHBoxLayout()
        level_row.addWidget(self.level, 1)
        level_row.addWidget(self.level_label)
        form.addRow("Level", level_row)
        form.addRow("Hide dust under", self.dust)
        form.addRow("Quality", self.quality)
        form.addRow(self.smooth)
        form.addRow(self.show_slice)
        form.addRow(self.show_particles)
        form.addRow(self.status)
        output = QGroupBox("View and export")
        ol = QFormLayout(output)
        buttons = QHBoxLayout()
        buttons.addWidget(self.reset_button)
        buttons.addWidget(self.screenshot_button)
        ol.addRow(buttons)
        export = QHBoxLayout()
        export.addWidget(self.units)
        export.addWidget(self.export_button, 1)
        ol.addRow("Selected feature", export)
        ol.addRow(help_label)
        inner = QWidget()
        layout = QVBoxLayout(inner)
        for box in (features, surfaces, output):
            layout.addWidget(box)
        layout.addStretch(1)
        self.setWidget(inner)
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.NoFrame)

        self.timer = coalescing_timer(self, 200, self.update_surfaces)  # slider drags recompute once they pause
        self.level.valueChanged.connect(self._level_moved)
        for signal in (self.dust.valueChanged, self.quality.currentIndexChanged, self.smooth.toggled):
            signal.connect(self.timer.start)
        self.tree.itemChanged.connect(self._ticked)
        self.tree.currentItemChanged.connect(lambda *_: self._show_selected())
        self.add_button.clicked.connect(lambda: self.add_segmentation())
        self.refresh_button.clicked.connect(self.find_segmentations)
        self.show_slice.toggled.connect(self.update_slice)
        self.show_particles.toggled.connect(self.update_particles)
        self.reset_button.clicked.connect(self.view.reset_camera)
        self.screenshot_button.clicked.connect(lambda: self.save_screenshot())
        self.export_button.clicked.connect(lambda: self.export_obj())
        self.view.problem.connect(self.problem)
        self.view.shown.connect(self.update_slice)
        self.session.current_changed.connect(self._current_changed)
        self._current_changed(self.session.current)

    # ------------------------------------------------------------ features
    def _current_changed(self, item) -> None:
        if self.item is not None:
            self.item.z_changed.disconnect(self.update_slice)
        self.item = item
        if item is not None:
            item.z_changed.connect(self.update_slice)
        for name in list(self.layers):
            self.view.set_surface(name, None, "#000000")
        self.layers = {}
        self.find_segmentations()
        self.update_slice()
        self.view.reset_camera()

    def find_segmentations(self) -> None:
        """List this tomogram's segmentations in the output folder (<tomogram>__<feature>.mrc)."""
        if self.item is not None and self.item.tomogram.path is not None:
            for name, path in outputs_for(self.item.tomogram.path, self.output_folder()).items():
                self._add_layer(name, path)
        self._fill_tree()
        self.update_surfaces()

    def add_segmentation(self, path: str | None = None) -> None:
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "Segmented volume", str(self.output_folder()),
                                                  "Segmentations (*.mrc)")
            if not path:
                return
        tomogram, feature = split_output_name(path)
        self._add_layer(feature or tomogram, Path(path))
        self._fill_tree()
        self.update_surfaces()

    def _add_layer(self, name: str, path: Path) -> None:
        if name in self.layers and self.layers[name].path == path:
            return
        try:
            volume = open_segmentation(path, self.item.tomogram.shape if self.item is not None else None)
        except AisError as e:
            self.problem.emit(str(e))
            return
        self.layers[name] = Layer(name, path, self._colour(name, len(self.layers)), volume=volume)

    def _colour(self, name: str, index: int) -> str:
        return self.session.colour_of(name) or FALLBACK_COLOURS[index % len(FALLBACK_COLOURS)]

    def _fill_tree(self) -> None:
        current = self.selected()
        self.tree.blockSignals(True)
        self.tree.clear()
        for layer in self.layers.values():
            row = QTreeWidgetItem([layer.name, self._describe(layer)])
            row.setFlags(row.flags() | Qt.ItemIsUserCheckable)
            row.setCheckState(0, Qt.Checked if layer.visible else Qt.Unchecked)
            row.setIcon(0, swatch(layer.colour))
            row.setToolTip(0, str(layer.path))
            row.setData(0, Qt.UserRole, layer.name)
            self.tree.addTopLevelItem(row)
            if current is None or current.name == layer.name:
                self.tree.setCurrentItem(row)
                current = layer
        self.tree.blockSignals(False)
        self._show_selected()

    def _describe(self, layer: Layer) -> str:
        if layer.mesh is None:
            return "…" if layer.visible else "hidden"
        return f"{len(layer.mesh):,} triangles"

    def selected(self) -> Layer | None:
        row = self.tree.currentItem()
        return self.layers.get(row.data(0, Qt.UserRole)) if row is not None else None

    def _show_selected(self) -> None:
        layer = self.selected()
        for w in (self.level, self.export_button):
            w.setEnabled(layer is not None)
        if layer is not None:
            self.level.blockSignals(True)
            self.level.setValue(layer.level)
            self.level.blockSignals(False)
            self.level_label.setText(str(layer.level))

    def _ticked(self, row: QTreeWidgetItem, column: int) -> None:
        layer = self.layers.get(row.data(0, Qt.UserRole))
        if layer is not None:
            layer.visible = row.checkState(0) == Qt.Checked
            self.view.set_surface(layer.name, layer.mesh if layer.visible else None, layer.colour)
            self.update_surfaces()

    def _level_moved(self, value: int) -> None:
        self.level_label.setText(str(value))
        layer = self.selected()
        if layer is not None:
            layer.level = value
            self.timer.start()

    # ------------------------------------------------------------ surfaces
    def settings_key(self, layer: Layer) -> tuple:
        min_voxels = PickSettings(min_volume=self.dust.value()).min_voxels(layer.volume.voxel_size)
        return layer.path, layer.level, min_voxels, QUALITY[self.quality.currentText()], \
            1.0 if self.smooth.isChecked() else 0.0

    def update_surfaces(self) -> None:
        """Compute the next visible surface whose settings changed (one job at a time)."""
        if self.busy:
            return
        for layer in self.layers.values():
            if not layer.visible:
                continue
            try:
                key = self.settings_key(layer)
            except AisError as e:
                self.status.setText(f"{layer.name}: {e}")
                continue
            if key != layer.key:
                self._compute(layer, key)
                return
        self.status.setText(", ".join(f"{layer.name}: {self._describe(layer)}" for layer in self.layers.values())
                            or "No segmentation of this tomogram yet: segment it in the Export tab, or Add one.")

    def _compute(self, layer: Layer, key: tuple) -> None:
        self.busy = True
        self.status.setText(f"Computing the {layer.name} surface…")
        _, level, min_voxels, step, smooth = key
        volume = layer.volume

        def work(progress):
            return surface(volume.data, level, min_voxels, step, smooth, progress)

        def finished(mesh: Mesh) -> None:
            if self.layers.get(layer.name) is not layer:
                return  # the tomogram changed meanwhile
            layer.mesh, layer.key = mesh, key
            self.view.set_surface(layer.name, mesh if layer.visible else None, layer.colour)
            if len(self.view.surfaces) == 1:  # the first surface: frame it
                self.view.reset_camera()
            self._fill_tree()

        self.runner.start(work, f"Surface of {layer.name}", finished=finished, failed=self.problem.emit,
                          done=self._computed)

    def _computed(self) -> None:
        self.busy = False
        self.update_surfaces()

    # ------------------------------------------------------- slice, picks
    def update_slice(self, *_) -> None:
        if not self.view.isVisible():
            return  # not while scrolling elsewhere: the view catches up when it is shown
        item = self.item
        image = None
        if item is not None and self.show_slice.isChecked():
            shown = self.slice_view.image_item.image
            levels = self.slice_view.image_item.levels
            if shown is not None and levels is not None:
                low, high = float(levels[0]), float(levels[1])
                image = np.clip((np.asarray(shown, np.float32) - low) / max(high - low, 1e-6) * 255, 0, 255)
        self.view.set_slice(None if image is None else image.astype(np.uint8), item.z if item else 0,
                            item.tomogram.shape if item else (0, 0, 0))

    def update_particles(self, *_) -> None:
        state = self.particle_layer.state
        if state is None or not self.show_particles.isChecked():
            self.view.set_particles(None, "", 0)
        else:
            particles = state.particles
            angles = getattr(particles, "angles", None)
            axes = z_axis(angles) if angles is not None and len(angles) else None
            lines = particles.lines() if state.filaments else None
            self.view.set_particles(particles.zyx, self.particle_layer.colour, self.particle_layer.radius, axes, lines)

    # -------------------------------------------------------------- output
    def save_screenshot(self, path: str | None = None) -> bool:
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, "Save screenshot", "render.png", "PNG images (*.png)")
            if not path:
                return False
        if not self.view.save_png(path):
            self.problem.emit(f"{path}: could not be saved")
            return False
        return True

    def export_obj(self, path: str | None = None) -> Path | None:
        layer = self.selected()
        if layer is None or layer.mesh is None:
            self.problem.emit("Tick a feature and wait for its surface before exporting it")
            return None
        units = self.units.currentData()
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, f"Export the {layer.name} surface", f"{layer.name}.obj",
                                                  "Wavefront meshes (*.obj)")
            if not path:
                return None
        mesh = layer.mesh
        if units == "angstrom":
            if not layer.volume.voxel_size:
                self.problem.emit(f"{layer.path}: no voxel size, export in voxels instead")
                return None
            mesh = mesh.in_angstrom(layer.volume.grid)
        try:
            return write_obj(mesh, path, layer.name, units)
        except OSError as e:
            self.problem.emit(f"{path}: could not be written ({e})")
            return None
