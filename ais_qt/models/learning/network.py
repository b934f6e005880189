"""A trained network for one feature, and its file (.aisnet), documented in docs/network-format.md.

The file is a zip holding ``network.json`` (metadata, a superset of what Ais stores: feature name,
colour, architecture, box/tile size, voxel size, normalisation, threshold, training history...) and
``model.keras`` (Keras' own format: architecture config + weights). Loading uses Keras safe mode,
so a model file can never run code.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import tempfile
import threading
import zipfile
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from psygnal import Signal

from ais_qt import __version__
from ais_qt.models.formats.ais_models import IMPORTED, has_ais_suffix, load_scnm
from ais_qt.models.atomic import atomic_path
from ais_qt.models.backend import keras
from ais_qt.models.learning.calibration import predict_tiles
from ais_qt.models.errors import AisError

SUFFIX = ".aisnet"


def is_network_path(path) -> bool:
    """An Ais-Qt network or one of the original Ais's (.scnm)."""
    return str(path).lower().endswith(SUFFIX) or has_ais_suffix(path)


FORMAT_NAME = "ais-qt-network"
FORMAT_VERSION = 1


@dataclass
class NetworkInfo:
    """Everything about a network except its weights; saved as network.json."""

    feature: str
    colour: str
    architecture: str  # key in the ArchitectureLibrary, e.g. "unet"
    architecture_title: str
    params: dict
    tile_size: int
    voxel_size: float | None = None  # Å of the training data
    normalisation: str = "tile"
    threshold: float = 0.5
    visible: bool = True
    emit: bool = False
    absorb: bool = False
    training: dict = field(default_factory=dict)  # settings and training-set summary
    history: dict = field(default_factory=dict)  # loss / val_loss per epoch, batch_loss
    metrics: dict = field(default_factory=dict)  # dice, iou on validation tiles; "warning" when empty
    calibration: dict = field(default_factory=dict)  # models/learning/calibration.py's report; {} before calibration
    created: str = ""
    app_version: str = __version__

    def ais_metadata(self) -> dict:
        """The same facts under the names Ais uses in its .scnm metadata (for exchange)."""
        colour = [int(self.colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        return {"title": self.feature, "colour": colour, "apix": self.voxel_size or 0.0, "box_size": self.tile_size,
                "arch": self.architecture_title, "epochs": self.training.get("epochs_run", self.training.get("epochs")),
                "batch_size": self.training.get("batch_size"), "threshold": self.threshold,
                "n_copies": self.training.get("copies"), "emit": self.emit, "absorb": self.absorb,
                "loss": self.training.get("loss"), "normalization": self.normalisation, "model_depth": 1}


class Network:
    """A feature's network in the session: its Keras model plus display and interaction settings."""

    changed = Signal()  # threshold, colour, visibility or weights changed

    def __init__(self, info: NetworkInfo, model=None, model_file: bytes | None = None, digest: str | None = None):
        self.info = info
        self._model = model
        # A loaded file's Keras model, made only when first needed (``model``): a network whose fast
        # engine is cached (``digest``, of its weights, kept in the file) segments without it.
        self._model_file = None if model is not None else model_file
        self._digest = digest
        self._weights = 0  # counts weight changes: an engine is made for one set of weights
        self._load_lock = threading.Lock()
        self.path: Path | None = None
        self._engine = None
        self._building = None  # (weights count, Future of its Engine) while one is being made
        self._engine_lock = threading.Lock()

    @property
    def model(self):
        """The Keras model (the reference); None before training."""
        if self._model is None and self._model_file is not None:
            with self._load_lock:
                if self._model is None and self._model_file is not None:
                    self._model = _load_keras(self._model_file, self.path)
                    self._model_file = None
        return self._model

    @model.setter
    def model(self, model) -> None:
        with self._load_lock:
            self._model, self._model_file, self._digest = model, None, None
            self._weights += 1

    @property
    def has_weights(self) -> bool:
        return self._model is not None or self._model_file is not None

    @property
    def weights_version(self) -> int:
        """Changes whenever the weights do (training, adopt): what caches of its predictions key on,
        without loading a lazily loaded Keras model on the GUI thread."""
        return self._weights

    @property
    def trained(self) -> bool:
        """Has weights that learned something: trained here, or imported from another program."""
        return self.has_weights and (bool(self.info.history) or IMPORTED == self.info.architecture)

    def set(self, **changes) -> None:
        """Change display/interaction fields (threshold, colour, visible, emit, absorb)."""
        for name, value in changes.items():
            if not hasattr(self.info, name):
                raise AttributeError(name)
            setattr(self.info, name, value)
        self.changed.emit()

    def predict(self, tiles: np.ndarray, batch_size: int = 8, wait: bool = True) -> np.ndarray:
        """Probabilities for (N, H, W, 1) normalised tiles. ``wait=False`` (the live overlay): if the
        fast engine is still being made, the Keras model answers meanwhile."""
        if not self.has_weights:
            raise AisError(None, f"the {self.info.feature} network is not trained yet")
        return predict_tiles(self.engine(wait), tiles, batch_size)

    def engine(self, wait: bool = True):
        """The model compiled for fast inference (models/learning/engine.py), made once per set of weights
        (again after training or adopt), in a background thread; without ``wait`` (the live
        overlay), the Keras model answers until it is ready. Callers that ask at once share one."""
        from ais_qt.models.learning.engine import KerasOnly

        with self._engine_lock:
            weights = self._weights
            if self._engine is not None and self._engine[0] == weights:
                return self._engine[1]
            if self._building is None or self._building[0] != weights:
                loaded = self._model
                self._building = (weights, _builder().submit(_make_engine, loaded, self._digest,
                                                             lambda: self.model))
            future = self._building[1]
        if not wait and not future.done():
            return KerasOnly(self.model)
        made = future.result()
        with self._engine_lock:
            if self._weights == weights:
                self._engine = (weights, made)
        return made

    # ------------------------------------------------------------------ files
    def adopt(self, other: Network) -> None:
        """Take another network's weights and metadata (a retrained version of this one)."""
        self.info, self.model = other.info, other.model
        self.changed.emit()

    def save(self, path: str | os.PathLike) -> Path:
        path = Path(path)
        if not path.name.endswith(SUFFIX):
            path = path.with_name(path.name + SUFFIX)
        if not self.has_weights:
            raise AisError(path, "cannot save a network that has not been trained")
        from ais_qt.models.learning.engine import weights_digest

        with tempfile.TemporaryDirectory() as folder:
            model_file = Path(folder) / "model.keras"
            self.model.save(model_file)
            document = {"format": FORMAT_NAME, "version": FORMAT_VERSION, **asdict(self.info),
                        "ais": self.info.ais_metadata(), "weights_digest": self._digest or weights_digest(self.model)}
            with atomic_path(path) as tmp:
                with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                    archive.writestr("network.json", json.dumps(document, indent=1))
                    archive.write(model_file, "model.keras")
        self.path = path
        return path

    @classmethod
    def load(cls, path: str | os.PathLike, library) -> Network:
        """An Ais-Qt .aisnet, or an Ais .scnm (imported by models/formats/ais_models.py)."""
        path = Path(path)
        if has_ais_suffix(path):
            return load_scnm(path)
        if not path.exists():
            raise AisError(path, "file not found")
        try:
            with zipfile.ZipFile(path) as archive:
                document = json.loads(archive.read("network.json"))
                model_bytes = archive.read("model.keras")
        except KeyError as e:
            raise AisError(path, f"is not an Ais-Qt network file ({e.args[0]} missing)") from None
        except (zipfile.BadZipFile, json.JSONDecodeError, UnicodeDecodeError, OSError, EOFError) as e:
            raise AisError(path, f"is not an Ais-Qt network file or is damaged ({e})") from None
        if document.get("format") != FORMAT_NAME:
            raise AisError(path, "is not an Ais-Qt network file")
        if document.get("version", 0) > FORMAT_VERSION:
            raise AisError(path, f"was saved by a newer Ais-Qt (network format {document.get('version')})")
        known = NetworkInfo.__dataclass_fields__
        try:
            info = NetworkInfo(**{k: v for k, v in document.items() if k in known})
        except TypeError as e:
            raise AisError(path, f"is damaged: {e}") from None
        if info.architecture not in library.architectures and info.architecture != IMPORTED:
            raise AisError(path, f"was trained with the architecture '{info.architecture_title}' "
                                 f"({info.architecture}), which is not installed here; add its plugin file")
        from ais_qt.models.learning.engine import ready

        digest = document.get("weights_digest")
        if isinstance(digest, str) and digest.isalnum() and ready(digest):
            network = cls(info, model_file=model_bytes, digest=digest)  # Keras is loaded if ever needed
        else:
            network = cls(info, _load_keras(model_bytes, path))
        network.path = path
        return network


def _load_keras(data: bytes, path: Path):
    k = keras()
    with tempfile.TemporaryDirectory() as folder:
        model_file = Path(folder) / "model.keras"
        model_file.write_bytes(data)
        try:
            return k.saving.load_model(model_file, compile=False, safe_mode=True)
        except Exception as e:  # Keras raises many types for damaged or unsafe files
            raise AisError(path, f"holds a model Keras cannot load safely ({type(e).__name__}: {e})") from None


_BUILDER: concurrent.futures.ThreadPoolExecutor | None = None


def _builder() -> concurrent.futures.ThreadPoolExecutor:
    """One long-lived thread makes every engine, rather than a thread per engine: TensorFlow keeps
    state per thread, and threads that traced its graphs are not started and ended again."""
    global _BUILDER
    if _BUILDER is None:
        _BUILDER = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="ais-qt-engine")
    return _BUILDER


def _make_engine(model, digest: str | None, load):
    from ais_qt.models.backend import graph_lock
    from ais_qt.models.learning.engine import Engine

    with graph_lock:  # not while a training builds its graphs (models/backend.py)
        return Engine(model, digest=digest, load=load)


def new_info(feature: str, colour: str, architecture, params: dict, tile_size: int, **extra) -> NetworkInfo:
    return NetworkInfo(feature=feature, colour=colour, architecture=architecture.key,
                       architecture_title=architecture.title, params=architecture.checked_params(params),
                       tile_size=int(tile_size), created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                       **extra)


def history_to_json(history: dict) -> dict:
    return {k: [float(v) for v in values] for k, values in history.items()}



class NetworkSet:
    """The session's networks, at most one per feature (training again replaces the weights)."""

    added = Signal(object)
    removed = Signal(object)

    def __init__(self):
        self.networks: list[Network] = []

    def __iter__(self):
        return iter(self.networks)

    def __len__(self):
        return len(self.networks)

    def for_feature(self, name: str) -> Network | None:
        return next((n for n in self.networks if n.info.feature == name), None)

    def add(self, network: Network) -> None:
        """Add a network; one for a feature that already has a network takes its place."""
        existing = self.for_feature(network.info.feature)
        if existing is network:
            return
        if existing is not None:
            self.remove(existing)
        self.networks.append(network)
        self.added.emit(network)

    def remove(self, network: Network) -> None:
        self.networks.remove(network)
        self.removed.emit(network)
