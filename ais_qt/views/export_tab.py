"""The Export tab: choose tomograms and networks, segment them all in the background."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLineEdit,
                               QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget)

from ais_qt.models.volumes.tomogram import VOLUME_SUFFIXES
from ais_qt.models.volumes.volume_writer import DEFAULT_DTYPE, DTYPE_HELP
from ais_qt.views.queue_progress import QueueProgress

# Output encodings as a user chooses them (volume_writer.DTYPES explains each).
DTYPE_CHOICES = (("uint16", "0–255, 16-bit: read the same by every tool"),
                 ("float32", "Probabilities 0–1, 32-bit float"),
                 ("uint8", "0–255, 8-bit IMOD style: half the size, signed in mrcfile/napari"))
# Test-time augmentation (inference.ORIENTATIONS), with what each costs.
ORIENTATION_CHOICES = ((1, "1: as it is (fastest)"),
                       (4, "4: averaged with its mirror images (4× the time)"),
                       (8, "8: all turns and mirror images (8× the time)"))


def gpus_present() -> bool:
    from ais_qt.models.backend import has_gpu

    return has_gpu()


def _checkable(text: str, data, checked: bool = True) -> QListWidgetItem:
    item = QListWidgetItem(text)
    item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
    item.setCheckState(Qt.Checked if checked else Qt.Unchecked)
    item.setData(Qt.UserRole, data)
    return item


def _ticked(widget: QListWidget) -> list:
    return [widget.item(i).data(Qt.UserRole) for i in range(widget.count())
            if widget.item(i).checkState() == Qt.Checked]


class ExportTab(QWidget):
    def __init__(self, session, queue, parent=None):
        super().__init__(parent)
        self.session, self.queue = session, queue
        self.tomograms = QListWidget()
        self.add_button = QPushButton("Add files…")
        self.networks = QListWidget()
        self.networks.setMaximumHeight(90)
        self.folder = QLineEdit(str(Path.home() / "segmented"))
        browse = QPushButton("Browse…")
        self.dtype = QComboBox()
        for key, text in DTYPE_CHOICES:
            self.dtype.addItem(text, key)
        self.dtype.setCurrentIndex(self.dtype.findData(DEFAULT_DTYPE))
        self.dtype.setToolTip(DTYPE_HELP.replace("; ", ";\n"))
        self.orientations = QComboBox()
        for count, text in ORIENTATION_CHOICES:
            self.orientations.addItem(text, count)
        self.orientations.setToolTip("Test-time augmentation: each slice is also predicted turned and mirrored,\n"
                                     "and the answers averaged. Smoother, sometimes more accurate outputs\n"
                                     "for as many times the segmentation time (ais-qt segment --orientations).")
        self.overwrite = QCheckBox("Overwrite existing outputs")
        self.interactions = QCheckBox("Apply the interaction graph")
        self.interactions.setChecked(True)
        self.where = QComboBox()
        self.where.addItem("This computer", "")
        self.where.addItem("A Dask scheduler", "dask")
        self.where.addItem("This computer's GPUs", "gpus")
        self.where.setToolTip("This computer: one tomogram after another, here.\nA Dask scheduler: one task per "
                              "tomogram on a running cluster (ais-qt segment --cluster for a local or SLURM one);\n"
                              "its workers must see the tomograms and the output folder at the same paths.\n"
                              "This computer's GPUs: one worker per GPU listed (e.g. 0,1 as nvidia-smi numbers "
                              "them), as ais-qt segment --gpu does.")
        self.scheduler = QLineEdit()
        self.scheduler.setPlaceholderText("tcp://host:8786")
        self.start_button = QPushButton("Segment")
        self.cancel_button = QPushButton("Cancel")
        self.progress = QueueProgress(queue)
        self.overall, self.log = self.progress.overall, self.progress.log

        what = QGroupBox("Segment")
        form = QFormLayout(what)
        form.addRow("Tomograms", self.tomograms)
        form.addRow("", self.add_button)
        form.addRow("Networks", self.networks)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(browse)
        form.addRow("Output folder", folder_row)
        form.addRow("Values", self.dtype)
        form.addRow("Orientations", self.orientations)
        form.addRow(self.overwrite)
        form.addRow(self.interactions)
        where_row = QHBoxLayout()
        where_row.addWidget(self.where)
        where_row.addWidget(self.scheduler, 1)
        form.addRow("Run on", where_row)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.cancel_button)
        form.addRow(buttons)
        layout = QVBoxLayout(self)
        layout.addWidget(what)
        layout.addWidget(self.progress, 1)

        self.add_button.clicked.connect(lambda: self.add_files())
        browse.clicked.connect(self._browse)
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(queue.cancel)
        queue.running_changed.connect(self._running)
        self.where.currentIndexChanged.connect(self._where_changed)
        self.scheduler.setEnabled(False)
        session.added.connect(self._tomogram_opened)
        session.networks.added.connect(self._fill_networks)
        session.networks.removed.connect(self._fill_networks)
        for item in session.items:
            self._tomogram_opened(item)
        self._fill_networks()
        self._running(False)

    def _tomogram_opened(self, item) -> None:
        path = item.tomogram.path
        if path is not None and str(path) not in self._paths():
            self.tomograms.addItem(_checkable(path.name, str(path)))

    def _paths(self) -> list[str]:
        return [self.tomograms.item(i).data(Qt.UserRole) for i in range(self.tomograms.count())]

    def add_files(self, paths: list[str] | None = None) -> None:
        if paths is None:
            patterns = " ".join(f"*{s}" for s in VOLUME_SUFFIXES)
            paths, _ = QFileDialog.getOpenFileNames(self, "Tomograms to segment", "", f"Tomograms ({patterns})")
        for path in paths:
            if str(path) not in self._paths():
                self.tomograms.addItem(_checkable(Path(path).name, str(path)))

    def _fill_networks(self, *_):
        self.networks.clear()
        for network in self.session.networks:
            if network.trained:
                self.networks.addItem(_checkable(network.info.feature, network))

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Output folder", self.folder.text())
        if folder:
            self.folder.setText(folder)

    def output_folder(self) -> str:
        """Where segmentations go (and where the Pick and Render tabs look for them)."""
        return self.folder.text().strip()

    def _where_changed(self, *_):
        where = self.where.currentData()
        self.scheduler.setEnabled(bool(where))
        self.scheduler.setPlaceholderText("0,1" if where == "gpus" else "tcp://host:8786")
        if where == "gpus" and not self.scheduler.text().strip():
            self.scheduler.setText("0")
        elif where == "dask" and "://" not in self.scheduler.text():
            self.scheduler.clear()

    def start(self) -> None:
        tomograms, networks = _ticked(self.tomograms), _ticked(self.networks)
        if not tomograms or not networks:
            self.log.appendPlainText("Tick at least one tomogram and one trained network.")
            return
        graph = self.session.interactions if self.interactions.isChecked() else None
        where, text = self.where.currentData(), self.scheduler.text().strip()
        if where == "dask" and "://" not in text:
            self.log.appendPlainText("Give the Dask scheduler's address, e.g. tcp://host:8786 (what "
                                     "`dask scheduler` prints when it starts).")
            return
        if where == "gpus" and not gpus_present():
            self.log.appendPlainText("No GPU is visible to TensorFlow on this computer (a CUDA build is needed: "
                                     "pip install \"ais-qt[gpu]\"); segment on this computer instead.")
            return
        self.queue.segment(tomograms, networks, self.output_folder(), graph, self.overwrite.isChecked(),
                           self.dtype.currentData(), text if where == "dask" else None,
                           gpus=text if where == "gpus" else None, orientations=self.orientations.currentData())

    def _running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
