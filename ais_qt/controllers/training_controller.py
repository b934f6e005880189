"""Training from the GUI: builds training sets and trains networks in the thread pool.

Batch and epoch news arrive as signals in the GUI thread; Stop asks the trainer to end after the
current batch (it keeps the best weights). The architecture library is loaded from the built-ins
and the user's plugin folder (Preferences), and can be reloaded after adding a plugin.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QThreadPool, Signal

from ais_qt.controllers.session_controller import SessionController
from ais_qt.controllers.tasks import TaskRunner
from ais_qt.models.learning.architectures import ArchitectureLibrary
from ais_qt.models.learning.network import Network
from ais_qt.models.paths import default_plugin_folder
from ais_qt.models.learning.training import TrainSettings, train
from ais_qt.models.learning.training_set import TrainingSet, TrainingSetOptions, build_training_set


class TrainingController(QObject):
    training_set_ready = Signal(object)  # TrainingSet
    batch = Signal(dict)  # {"batch", "epoch", "loss", "batches"}
    epoch = Signal(dict)  # {"epoch_end", "loss", "val_loss"}
    progress = Signal(float, str)
    trained = Signal(object)  # Network
    failed = Signal(str)
    running_changed = Signal(bool)
    library_changed = Signal()

    def __init__(self, sessions: SessionController):
        super().__init__()
        self.sessions = sessions
        self.session = sessions.session
        self.library = ArchitectureLibrary(self.plugin_folder)
        self.training_set: TrainingSet | None = None
        self.task = None
        # Trainings run in a thread of their own, never one the live overlay or a batch job has
        # predicted in: a second training in a pool thread that had run the live overlay's Keras
        # predictions crashed TensorFlow (a segfault building the training's input pipeline).
        pool = QThreadPool(self)
        pool.setMaxThreadCount(1)
        self.runner = TaskRunner(pool)

    # -------------------------------------------------------------- plugins
    @property
    def plugin_folder(self) -> Path:
        stored = self.sessions.settings.value("plugin_folder")
        return Path(stored) if stored else default_plugin_folder()

    def set_plugin_folder(self, folder: str | Path) -> None:
        self.sessions.settings.setValue("plugin_folder", str(folder))
        self.reload_library()

    def reload_library(self) -> None:
        self.library = ArchitectureLibrary(self.plugin_folder)
        self.library_changed.emit()

    # --------------------------------------------------------- training sets
    def build_training_set(self, options: TrainingSetOptions) -> None:
        items = list(self.session.items)
        features = self.session.features
        self._start(lambda progress: build_training_set(items, features, options, progress), "Training set",
                    finished=self._set_ready)

    def use_training_set(self, training_set: TrainingSet) -> None:
        self._set_ready(training_set)

    def _set_ready(self, training_set: TrainingSet) -> None:
        self.training_set = training_set
        self.training_set_ready.emit(training_set)

    # --------------------------------------------------------------- training
    @property
    def running(self) -> bool:
        return self.task is not None

    def train(self, settings: TrainSettings) -> None:
        training_set = self.training_set
        if training_set is None:
            self.failed.emit("Build or load a training set first.")
            return
        existing = self.session.networks.for_feature(training_set.metadata["feature"])
        library = self.library
        self._start(lambda progress: train(training_set, settings, library, progress, existing), "Training",
                    finished=self._trained, event=self._event)

    def retrain(self, options: TrainingSetOptions, settings: TrainSettings, fresh: bool = False) -> None:
        """Build the feature's training set from all its boxes and train its network again, from
        its current weights (a few epochs) unless ``fresh`` or there is none to continue."""
        items = list(self.session.items)
        features = self.session.features
        existing = self.session.networks.for_feature(options.feature)
        library = self.library

        def work(progress):
            training_set = build_training_set(items, features, options)
            progress.event({"training_set": training_set})
            return train(training_set, settings, library, progress, existing, fine_tune=not fresh)

        self._start(work, "Retraining" if existing is not None and not fresh else "Training",
                    finished=self._trained, event=self._event)

    def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()

    def _event(self, payload: dict) -> None:
        # Batches and epochs feed the curves; anything else (the emptiness warning) reaches the
        # panel with the trained network's metrics instead.
        if "training_set" in payload:  # a retraining built its own
            self._set_ready(payload["training_set"])
        elif "epoch_end" in payload:
            self.epoch.emit(payload)
        elif "batch" in payload:
            self.batch.emit(payload)

    def _trained(self, network: Network) -> None:
        existing = self.session.networks.for_feature(network.info.feature)
        if existing is not None:  # retrained: the same network object, new weights
            existing.adopt(network)
            network = existing
        else:
            self.session.networks.add(network)
        self.trained.emit(network)

    def _start(self, fn, name, finished, event=None) -> None:
        if self.task is not None:
            self.failed.emit("Training is already running; stop it first.")
            return
        self.task = self.runner.start(fn, name, finished=finished, failed=self.failed.emit,
                                               progress=self.progress.emit, event=event, done=self._done)
        self.running_changed.emit(True)

    def _done(self) -> None:
        self.task = None
        self.running_changed.emit(False)
