"""The open tomograms of one working session, each with its own slice position and display settings."""

from __future__ import annotations

from pathlib import Path

from psygnal import Signal

from ais_qt.models.annotation.annotation import DEFAULT_BOX_SIZE, Annotation
from ais_qt.models.volumes.display import DisplaySettings
from ais_qt.models.annotation.features import FeatureSet
from ais_qt.models.annotation.history import History
from ais_qt.models.learning.interactions import InteractionGraph
from ais_qt.models.learning.network import NetworkSet
from ais_qt.models.volumes.tomogram import Tomogram


class OpenTomogram:
    """A tomogram as the user works on it: where they are (slice z), how it is shown, what is annotated."""

    z_changed = Signal(int)
    cuts_changed = Signal(int, int)  # the row y of the XZ view and the column x of the YZ view
    rulers_changed = Signal()

    def __init__(self, tomogram: Tomogram):
        self.tomogram = tomogram
        self.display = DisplaySettings()
        self.annotation = Annotation(tomogram.shape[1:])
        self._z = tomogram.shape[0] // 2
        self._cuts = (tomogram.shape[1] // 2, tomogram.shape[2] // 2)
        self._rulers: list = []  # measurements.Ruler, kept until cleared and saved with the project

    @property
    def rulers(self) -> list:
        return list(self._rulers)

    @rulers.setter
    def rulers(self, value) -> None:
        self._rulers = list(value)
        self.rulers_changed.emit()

    @property
    def cuts(self) -> tuple[int, int]:
        """(y, x): where the side views cut the volume (XZ at row y, YZ at column x)."""
        return self._cuts

    @cuts.setter
    def cuts(self, value) -> None:
        _, ny, nx = self.tomogram.shape
        y, x = (min(max(int(v), 0), n - 1) for v, n in zip(value, (ny, nx)))
        if (y, x) != self._cuts:
            self._cuts = (y, x)
            self.cuts_changed.emit(y, x)

    def point_to(self, z: int | None = None, y: int | None = None, x: int | None = None) -> None:
        """Move the slice and the side views' cuts to a point (None: that one stays)."""
        if y is not None or x is not None:
            cy, cx = self._cuts
            self.cuts = (cy if y is None else y, cx if x is None else x)
        if z is not None:
            self.z = z

    @property
    def z(self) -> int:
        return self._z

    @z.setter
    def z(self, value: int) -> None:
        value = min(max(int(value), 0), self.tomogram.shape[0] - 1)
        if value != self._z:
            self._z = value
            self.z_changed.emit(value)

    def step(self, delta: int) -> None:
        self.z = self._z + delta


class Session:
    """Every open tomogram and which one is current, the features shared by all, and the undo history."""

    added = Signal(object)  # OpenTomogram
    removed = Signal(object)  # OpenTomogram
    current_changed = Signal(object)  # OpenTomogram or None
    box_size_changed = Signal(int)

    def __init__(self):
        self.items: list[OpenTomogram] = []
        self._current: OpenTomogram | None = None
        self.features = FeatureSet()
        self.history = History()
        self._box_size = DEFAULT_BOX_SIZE
        self.unresolved: list = []  # project tomograms that could not be opened (kept for saving)
        self.networks = NetworkSet()
        self.interactions = InteractionGraph()  # how the networks correct one another

    @property
    def box_size(self) -> int:
        """Side of new training boxes in pixels (existing boxes keep theirs)."""
        return self._box_size

    @box_size.setter
    def box_size(self, value: int) -> None:
        value = int(value)
        if value < 8:
            raise ValueError(f"box size must be at least 8 pixels, not {value}")
        if value != self._box_size:
            self._box_size = value
            self.box_size_changed.emit(value)

    @property
    def current(self) -> OpenTomogram | None:
        return self._current

    @current.setter
    def current(self, item: OpenTomogram | None) -> None:
        if item is not None and item not in self.items:
            raise ValueError("not an open tomogram of this session")
        if item is not self._current:
            self._current = item
            self.current_changed.emit(item)

    def clear(self) -> None:
        """Close everything: tomograms, features, history (a new or another project)."""
        for item in list(self.items):
            self.remove(item)
        self.features.clear()
        for network in list(self.networks):
            self.networks.remove(network)
        self.interactions.restore({})
        self.unresolved = []
        self.box_size = DEFAULT_BOX_SIZE
        self.history.clear()

    def colour_of(self, name: str) -> str | None:
        """The colour a feature is shown in: its network's, else its annotation feature's."""
        network = self.networks.for_feature(name)
        feature = self.features.by_name(name)
        return network.info.colour if network else feature.colour if feature else None

    def find(self, path: str | Path) -> OpenTomogram | None:
        path = Path(path).resolve()
        for item in self.items:
            if item.tomogram.path is not None and item.tomogram.path.resolve() == path:
                return item
        return None

    def add(self, tomogram: Tomogram, make_current: bool = True) -> OpenTomogram:
        item = OpenTomogram(tomogram)
        self.items.append(item)
        self.added.emit(item)
        if make_current or self._current is None:
            self.current = item
        return item

    def open(self, path: str | Path, make_current: bool = True) -> OpenTomogram:
        """Open a file, or bring it forward when it is open already; raises TomogramError."""
        item = self.find(path)
        if item is None:
            return self.add(Tomogram.open(path), make_current)
        if make_current:
            self.current = item
        return item

    def remove(self, item: OpenTomogram) -> None:
        index = self.items.index(item)
        self.items.remove(item)
        if item is self._current:
            self.current = self.items[min(index, len(self.items) - 1)] if self.items else None
        self.removed.emit(item)
        item.tomogram.close()
