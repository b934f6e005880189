"""Training data and training: which feature, negatives, augmentation; architecture and settings;
Train / Stop, progress, and a live loss plot (per batch, per epoch, validation)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel,
                               QListWidget, QListWidgetItem, QProgressBar, QPushButton, QSpinBox, QVBoxLayout,
                               QWidget)

from ais_qt.models.errors import AisError
from ais_qt.models.learning.precision import PRECISIONS, cpu_has_bf16
from ais_qt.models.learning.training import LOSSES, TrainSettings, result_text
from ais_qt.models.learning.training_set import NORMALISATIONS, TrainingSet, TrainingSetOptions
from ais_qt.views.params_form import ParamsForm


LOSS_TIPS = ("Binary cross-entropy plus soft Dice (default): honest probabilities, and thin or rare "
             "features are not starved by the background",
             "Binary cross-entropy alone",
             "Soft Dice over each batch alone")
PRECISION_TIPS = ("bfloat16 where it is faster: on a processor with bfloat16 instructions ({}); "
                  "float32 elsewhere, GPUs included",
                  "float32 throughout (default)",
                  "bfloat16 arithmetic with float32 weights: about 1.6x faster training on processors with "
                  "bfloat16 instructions ({}), slower on others. Networks are saved in float32 either way")


def _combo(items, tips, current: str) -> QComboBox:
    combo = QComboBox()
    combo.addItems(items)
    for i, tip in enumerate(tips):
        combo.setItemData(i, tip, Qt.ToolTipRole)
    combo.setCurrentText(current)
    return combo


def _spin(kind, lo, hi, value, step=1, decimals=None, tip=""):
    spin = kind()
    spin.setRange(lo, hi)
    if decimals is not None:
        spin.setDecimals(decimals)
    spin.setSingleStep(step)
    spin.setValue(value)
    spin.setToolTip(tip)
    return spin


class TrainingPanel(QWidget):
    def __init__(self, training, parent=None):
        super().__init__(parent)
        self.training = training
        self.session = training.session

        # ---- training data
        self.feature = QComboBox()
        self.negatives = QListWidget()
        self.negatives.setMaximumHeight(70)
        self.negatives.setToolTip("Boxes of ticked features are negative examples (and the feature's own empty boxes)")
        # Every default comes from the settings objects, so the GUI and `ais-qt train` train alike.
        data_defaults, defaults = TrainingSetOptions(""), TrainSettings()
        self.copies = _spin(QSpinBox, 1, 100, data_defaults.copies,
                            tip="Copies of each positive box in random orientations")
        self.ratio = _spin(QDoubleSpinBox, 0, 10, data_defaults.negative_ratio, 0.1, 2, "Negative tiles per positive tile")
        self.augment = QCheckBox("Vary contrast, blur and noise")
        self.augment.setChecked(data_defaults.intensity_augmentation)
        self.augment.setToolTip("Each copy also gets a random contrast, offset, blur and noise, as other tomograms "
                                "would show the feature")
        self.normalisation = QComboBox()
        self.normalisation.addItems(NORMALISATIONS)
        self.normalisation.setToolTip("tile: each tile to mean 0, sd 1; volume: the whole tomogram's mean and sd")
        self.build_button = QPushButton("Build training set")
        self.load_set_button = QPushButton("Load…")
        self.save_set_button = QPushButton("Save…")
        self.set_summary = QLabel("No training set yet.")
        self.set_summary.setWordWrap(True)
        self.preview = QLabel()
        self.preview.setAlignment(Qt.AlignCenter)
        data = QGroupBox("Training data")
        form = QFormLayout(data)
        form.addRow("Feature", self.feature)
        form.addRow("Negatives", self.negatives)
        form.addRow("Copies", self.copies)
        form.addRow("Negatives per positive", self.ratio)
        form.addRow("Augment", self.augment)
        form.addRow("Normalisation", self.normalisation)
        row = QHBoxLayout()
        for b in (self.build_button, self.load_set_button, self.save_set_button):
            row.addWidget(b)
        form.addRow(row)
        form.addRow(self.set_summary)
        form.addRow(self.preview)

        # ---- training
        self.architecture = QComboBox()
        self.params = ParamsForm()
        self.epochs = _spin(QSpinBox, 0, 10000, defaults.epochs or 0,
                            tip=f"auto: as many epochs as make about {defaults.auto_steps} batches (more for "
                                "small training sets, fewer for big ones)")
        self.epochs.setSpecialValueText("auto")
        self.batch_size = _spin(QSpinBox, 1, 1024, defaults.batch_size)
        self.learning_rate = _spin(QDoubleSpinBox, 1e-6, 1.0, defaults.learning_rate, 1e-4, 6)
        self.validation = _spin(QDoubleSpinBox, 0, 0.9, defaults.validation_split, 0.05, 2,
                                "Fraction of boxes held back: they choose the best epoch, calibrate the threshold "
                                "and give the Dice shown after training")
        self.loss = _combo(LOSSES, LOSS_TIPS, defaults.loss)
        native = "this computer's has them" if cpu_has_bf16() else "not this computer's"
        self.precision = _combo(PRECISIONS, [tip.format(native) for tip in PRECISION_TIPS], defaults.precision)
        self.train_button = QPushButton("Train")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("End after the current batch, keeping the best weights")
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setMinimumHeight(3 * self.status.fontMetrics().height())  # room for the result
        self.plot = pg.PlotWidget(background="#1e1e1e")
        self.plot.setMinimumHeight(170)
        self.plot.setMaximumHeight(260)
        self.plot.getAxis("left").enableAutoSIPrefix(False)  # losses are plain numbers, not "x0.001"
        self.plot.setLabel("bottom", "epoch")
        self.plot.setLabel("left", "loss")
        self.plot.addLegend(offset=(-5, 5))
        self.batch_curve = self.plot.plot(pen=pg.mkPen("#7f7f7f", width=1), name="batch")
        self.epoch_curve = self.plot.plot(pen=pg.mkPen("#56b4e9", width=2), symbol="o", symbolSize=5,
                                          symbolBrush="#56b4e9", name="epoch")
        self.val_curve = self.plot.plot(pen=pg.mkPen("#e69f00", width=2), symbol="s", symbolSize=5,
                                        symbolBrush="#e69f00", name="validation")
        box = QGroupBox("Training")
        tform = QFormLayout(box)
        tform.addRow("Architecture", self.architecture)
        tform.addRow(self.params)
        tform.addRow("Epochs", self.epochs)
        tform.addRow("Batch size", self.batch_size)
        tform.addRow("Learning rate", self.learning_rate)
        tform.addRow("Validation split", self.validation)
        tform.addRow("Loss", self.loss)
        tform.addRow("Precision", self.precision)
        buttons = QHBoxLayout()
        buttons.addWidget(self.train_button)
        buttons.addWidget(self.stop_button)
        tform.addRow(buttons)
        tform.addRow(self.bar)
        tform.addRow(self.status)
        tform.addRow(self.plot)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(data)
        layout.addWidget(box)

        self.build_button.clicked.connect(self.build)
        self.load_set_button.clicked.connect(lambda: self.load_set())
        self.save_set_button.clicked.connect(lambda: self.save_set())
        self.train_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(training.stop)
        self.architecture.currentIndexChanged.connect(self._architecture_picked)
        self.feature.currentIndexChanged.connect(self._fill_negatives)
        training.training_set_ready.connect(self._show_set)
        training.batch.connect(self._batch)
        training.epoch.connect(self._epoch)
        training.progress.connect(self._progress)
        training.trained.connect(self._trained)
        training.failed.connect(self._failed)
        training.running_changed.connect(self._running)
        training.library_changed.connect(self._fill_architectures)
        features = self.session.features
        features.added.connect(self._fill_features)
        features.removed.connect(self._fill_features)
        features.active_changed.connect(self._fill_features)
        self._batches: list[float] = []
        self._epochs: list[tuple[int, float, float | None]] = []
        self._batches_per_epoch = 1
        self._fill_architectures()
        self._fill_features()
        self._running(False)

    # ------------------------------------------------------------ choices
    def _fill_features(self, *_):
        names = [f.name for f in self.session.features]
        current = self.feature.currentText()
        active = self.session.features.active
        self.feature.blockSignals(True)
        self.feature.clear()
        self.feature.addItems(names)
        keep = current if current in names else (active.name if active else "")
        self.feature.setCurrentIndex(max(self.feature.findText(keep), 0))
        self.feature.blockSignals(False)
        self._fill_negatives()
        self.build_button.setEnabled(bool(names) and not self.training.running)

    def _fill_negatives(self, *_):
        """Every feature except the one being trained can give negative examples."""
        ticked = {self.negatives.item(i).text() for i in range(self.negatives.count())
                  if self.negatives.item(i).checkState() == Qt.Checked}
        self.negatives.clear()
        for name in (f.name for f in self.session.features if f.name != self.feature.currentText()):
            item = QListWidgetItem(name)
            item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
            item.setCheckState(Qt.Checked if name in ticked else Qt.Unchecked)
            self.negatives.addItem(item)

    def _fill_architectures(self) -> None:
        current = self.architecture.currentData()
        self.architecture.blockSignals(True)
        self.architecture.clear()
        for arch in self.training.library:
            self.architecture.addItem(arch.title + ("" if arch.builtin else " (plugin)"), arch.key)
            self.architecture.setItemData(self.architecture.count() - 1, arch.doc, Qt.ToolTipRole)
        self.architecture.setCurrentIndex(max(self.architecture.findData(current or "unet"), 0))
        self.architecture.blockSignals(False)
        self._architecture_picked()

    def _architecture_picked(self, *_):
        key = self.architecture.currentData()
        if key:
            self.params.show_params(self.training.library.get(key).params)

    def options(self) -> TrainingSetOptions:
        negatives = [self.negatives.item(i).text() for i in range(self.negatives.count())
                     if self.negatives.item(i).checkState() == Qt.Checked]
        return TrainingSetOptions(self.feature.currentText(), negatives, self.session.box_size, self.copies.value(),
                                  self.ratio.value(), self.normalisation.currentText(),
                                  intensity_augmentation=self.augment.isChecked())

    def settings(self) -> TrainSettings:
        return TrainSettings(self.architecture.currentData(), self.params.values(),
                             epochs=self.epochs.value() or None, batch_size=self.batch_size.value(), learning_rate=self.learning_rate.value(),
                             validation_split=self.validation.value(), loss=self.loss.currentText(),
                             precision=self.precision.currentText())

    # ------------------------------------------------------------- actions
    def build(self) -> None:
        self.status.setText("Building the training set…")
        self.training.build_training_set(self.options())

    def load_set(self, path: str | None = None) -> None:
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "Load a training set", "", "Training sets (*.npz)")
            if not path:
                return
        try:
            self.training.use_training_set(TrainingSet.load(path))
        except AisError as e:
            self._failed(str(e))

    def save_set(self, path: str | None = None) -> None:
        training_set = self.training.training_set
        if training_set is None:
            return
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, "Save the training set",
                                                  f"{training_set.metadata['feature']}_training.npz",
                                                  "Training sets (*.npz)")
            if not path:
                return
        try:
            training_set.save(path)
            self.status.setText(f"Saved {path}")
        except OSError as e:
            self._failed(f"{path}: could not be saved ({e})")

    def start(self) -> None:
        training_set = self.training.training_set
        if training_set is None or training_set.metadata["feature"] != self.feature.currentText():
            self._failed(f"Build a training set for {self.feature.currentText() or 'a feature'} first.")
            return
        arch = self.training.library.get(self.architecture.currentData())
        self._batches, self._epochs = [], []
        self._batches_per_epoch = max(1, int(np.ceil(len(training_set) * (1 - self.validation.value())
                                                     / self.batch_size.value())))
        self._redraw()
        self.status.setText(f"Training {arch.title} for {training_set.metadata['feature']}…")
        self.training.train(self.settings())

    def retrain(self, fresh: bool = False) -> None:
        """Ctrl+T: the active feature's network again from all its boxes, continuing from its
        weights (Ctrl+Shift+T: from scratch), with this panel's settings."""
        feature = self.session.features.active
        if feature is None:
            self._failed("Select the feature to retrain (1-9 or Tab).")
            return
        if self.training.running:
            self._failed("Training is already running; stop it first.")
            return
        self.feature.setCurrentIndex(self.feature.findText(feature.name))
        self._batches, self._epochs = [], []
        self._redraw()
        existing = self.session.networks.for_feature(feature.name)
        how = "from scratch" if fresh or existing is None else "from its current weights"
        self.status.setStyleSheet("")
        self.status.setText(f"Retraining {feature.name} {how} on all its boxes…")
        self.training.retrain(self.options(), self.settings(), fresh)

    # ------------------------------------------------------------ feedback
    def _show_set(self, training_set: TrainingSet) -> None:
        self._batches_per_epoch = max(1, int(np.ceil(len(training_set) * (1 - self.validation.value())
                                                     / self.batch_size.value())))
        self.set_summary.setText(training_set.summary())
        grid = np.ascontiguousarray(training_set.preview(count=16, columns=8))
        h, w, _ = grid.shape
        image = QImage(grid.data, w, h, 3 * w, QImage.Format_RGB888).copy()
        self.preview.setPixmap(QPixmap.fromImage(image).scaledToWidth(min(w * 2, 300), Qt.SmoothTransformation))
        if not self.training.running:
            self.status.setText("Training set ready.")
        feature = training_set.metadata["feature"]
        if self.feature.findText(feature) >= 0:
            self.feature.setCurrentIndex(self.feature.findText(feature))
        self.save_set_button.setEnabled(True)

    def _batch(self, payload: dict) -> None:
        self._batches.append(payload["loss"])
        self._redraw()

    def _epoch(self, payload: dict) -> None:
        self._epochs.append((payload["epoch_end"], payload["loss"], payload.get("val_loss")))
        self._redraw()

    def _redraw(self) -> None:
        steps = np.arange(1, len(self._batches) + 1) / self._batches_per_epoch
        self.batch_curve.setData(steps, np.asarray(self._batches, float))
        epochs = [e for e, *_ in self._epochs]
        self.epoch_curve.setData(epochs, [loss for _, loss, _ in self._epochs])
        val = [(e, v) for e, _, v in self._epochs if v is not None]
        self.val_curve.setData([e for e, _ in val], [v for _, v in val])

    def _progress(self, fraction: float, message: str) -> None:
        self.status.setStyleSheet("")
        self.bar.setValue(int(fraction * 1000))
        self.status.setText(message)

    def _trained(self, network) -> None:
        info = network.info
        stopped = " (stopped early; best weights kept)" if info.training.get("stopped_early") else ""
        stopped += ", continuing from its earlier weights" if info.training.get("continued") else ""
        device = f" on {info.training['device']}" if info.training.get("device") else ""
        self.status.setText(f"Trained {info.architecture_title} for {info.feature} in "
                            f"{info.training.get('seconds', 0):.0f} s{device}{stopped}. {result_text(info)} "
                            "Save it under Networks.")
        self.status.setStyleSheet("color: #e69f00;" if info.metrics.get("warning") else "")
        self.bar.setValue(1000)

    def _failed(self, message: str) -> None:
        self.status.setStyleSheet("")
        self.status.setText(message)

    def _running(self, running: bool) -> None:
        self.train_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        self.build_button.setEnabled(not running and self.feature.count() > 0)
        self.save_set_button.setEnabled(self.training.training_set is not None)
