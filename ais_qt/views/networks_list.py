"""The session's networks: one per feature, with colour, threshold, visibility; load, save, remove."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QFileDialog, QGroupBox, QHBoxLayout, QLabel, QPushButton, QSlider, QTreeWidget,
                               QTreeWidgetItem, QVBoxLayout)

from ais_qt.models.formats.ais_models import SUFFIX as AIS_SUFFIX
from ais_qt.models.formats.ais_models import has_ais_suffix, save_scnm
from ais_qt.models.errors import AisError
from ais_qt.models.learning.network import SUFFIX, Network
from ais_qt.models.learning.training import result_text
from ais_qt.views.feature_panel import swatch

NETWORK_FILTER = (f"Networks (*{SUFFIX} *{AIS_SUFFIX});;Ais-Qt networks (*{SUFFIX});;"
                  f"Ais models (*{AIS_SUFFIX})")


def status(network: Network) -> str:
    if not network.trained:
        return "untrained"
    if network.info.training.get("imported_from"):
        return f"imported ({network.info.training['imported_from']})"
    metrics = network.info.metrics
    epochs = len(network.info.history.get("loss", []))
    text = f"{epochs} epochs" + (f", Dice {metrics['dice']:.2f}" if "dice" in metrics else "")
    return text + (" ⚠" if metrics.get("warning") else "")


class NetworksList(QGroupBox):
    problem = Signal(str)

    def __init__(self, training, parent=None):
        super().__init__("Networks", parent)
        self.training = training
        self.networks = training.session.networks
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Feature", "Architecture", "Status"])
        self.tree.setRootIsDecorated(False)
        self.tree.setMinimumHeight(70)
        self.tree.setMaximumHeight(130)
        self.threshold = QSlider(Qt.Horizontal)
        self.threshold.setRange(1, 99)
        self.threshold.setToolTip("Probability above which the network's prediction counts as the feature")
        self.threshold_label = QLabel()
        self.load_button = QPushButton("Load…")
        self.save_button = QPushButton("Save…")
        self.remove_button = QPushButton("Remove")
        buttons = QHBoxLayout()
        for b in (self.load_button, self.save_button, self.remove_button):
            buttons.addWidget(b)
        row = QHBoxLayout()
        row.addWidget(QLabel("Threshold"))
        row.addWidget(self.threshold, 1)
        row.addWidget(self.threshold_label)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tree)
        layout.addLayout(row)
        layout.addLayout(buttons)

        self.load_button.clicked.connect(lambda: self.load())
        self.save_button.clicked.connect(lambda: self.save())
        self.remove_button.clicked.connect(self._remove)
        self.threshold.valueChanged.connect(self._threshold_moved)
        self.tree.currentItemChanged.connect(lambda *_: self._refresh_controls())
        self.tree.itemChanged.connect(self._ticked)
        self.networks.added.connect(self._rebuild)
        self.networks.removed.connect(self._rebuild)
        self._watched: list[Network] = []
        self._rebuild()

    def selected(self) -> Network | None:
        row = self.tree.currentItem()
        return row.data(0, Qt.UserRole) if row is not None else None

    def _rebuild(self, *_):
        for network in self._watched:
            network.changed.disconnect(self._rebuild)
        self._watched = list(self.networks)
        current = self.selected()
        # Rows are updated in place, never cleared: this runs inside the tree's itemChanged
        # signal (ticking visibility), and deleting the row Qt is handling crashes.
        self.tree.blockSignals(True)
        networks = list(self.networks)
        while self.tree.topLevelItemCount() > len(networks):
            self.tree.takeTopLevelItem(self.tree.topLevelItemCount() - 1)
        while self.tree.topLevelItemCount() < len(networks):
            row = QTreeWidgetItem()
            row.setFlags(row.flags() | Qt.ItemIsUserCheckable)
            self.tree.addTopLevelItem(row)
        for i, network in enumerate(networks):
            network.changed.connect(self._rebuild)
            info = network.info
            row = self.tree.topLevelItem(i)
            for column, text in enumerate((info.feature, info.architecture_title, status(network))):
                row.setText(column, text)
            row.setIcon(0, swatch(info.colour))
            row.setData(0, Qt.UserRole, network)
            row.setCheckState(0, Qt.Checked if info.visible else Qt.Unchecked)
            row.setToolTip(0, str(network.path) if network.path else "not saved yet")
            row.setToolTip(2, result_text(info) or status(network))
            if network is current or current not in networks:
                self.tree.setCurrentItem(row)
        self.tree.blockSignals(False)
        self._refresh_controls()

    def _refresh_controls(self) -> None:
        network = self.selected()
        for w in (self.threshold, self.save_button, self.remove_button):
            w.setEnabled(network is not None)
        self.threshold.blockSignals(True)
        self.threshold.setValue(round((network.info.threshold if network else 0.5) * 100))
        self.threshold.blockSignals(False)
        self.threshold_label.setText(f"{self.threshold.value() / 100:.2f}")

    def _threshold_moved(self, value: int) -> None:
        network = self.selected()
        self.threshold_label.setText(f"{value / 100:.2f}")
        if network is not None:
            network.set(threshold=value / 100)

    def _ticked(self, row: QTreeWidgetItem, column: int) -> None:
        network = row.data(0, Qt.UserRole)
        visible = row.checkState(0) == Qt.Checked
        if visible != network.info.visible:
            network.set(visible=visible)

    def _remove(self) -> None:
        network = self.selected()
        if network is not None:
            self.networks.remove(network)

    def load(self, paths: list[str] | None = None) -> None:
        if paths is None:
            paths, _ = QFileDialog.getOpenFileNames(self, "Load networks", "", NETWORK_FILTER)
        for path in paths:
            try:
                self.networks.add(Network.load(path, self.training.library))
            except AisError as e:
                self.problem.emit(str(e))

    def save(self, path: str | None = None) -> Path | None:
        network = self.selected()
        if network is None:
            return None
        if path is None:
            start = str(network.path.with_suffix(SUFFIX) if network.path else Path.home() / f"{network.info.feature}{SUFFIX}")
            path, chosen = QFileDialog.getSaveFileName(self, f"Save the {network.info.feature} network", start,
                                                       f"Ais-Qt network (*{SUFFIX});;Ais model, for Ais 1.2 (*{AIS_SUFFIX})")
            if not path:
                return None
            if AIS_SUFFIX in chosen and not has_ais_suffix(path):
                path = str(Path(path).with_suffix(AIS_SUFFIX))
        try:
            # An Ais model is an export: the network stays tied to its .aisnet (or to no file).
            saved = save_scnm(network, path) if has_ais_suffix(path) else network.save(path)
        except (AisError, OSError) as e:
            self.problem.emit(str(e))
            return None
        self._rebuild()
        return saved
