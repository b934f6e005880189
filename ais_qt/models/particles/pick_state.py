"""Picking one segmented volume interactively: its settings, the automatic picks and hand edits.

Hand edits are kept apart from the automatic result, so changing a setting re-picks and then
re-applies them: a particle added by hand stays, one removed by hand stays removed. Filaments
(FilamentSettings) are edited by removing points or whole filaments; points are not added by hand,
since a point off a traced filament has no orientation.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from psygnal import Signal

from ais_qt.models.particles.filaments import FilamentPicks
from ais_qt.models.particles.picking import Particles, PickSettings
from ais_qt.models.learning.segmentation import open_segmentation, split_output_name

SAME = 1.5  # voxels: an automatic pick this close to a removed position is the one that was removed


class PickState:
    changed = Signal()  # the particles (automatic or by hand) changed

    def __init__(self, path: str | Path, tomogram_shape: tuple | None = None,
                 fallback_voxel_size: float | None = None):
        self.path = Path(path)
        self.volume = open_segmentation(self.path, tomogram_shape)
        self.voxel_size = self.volume.voxel_size or fallback_voxel_size
        tomogram, feature = split_output_name(self.path)
        self.feature = feature or tomogram
        self.settings = PickSettings()
        self.auto = Particles()
        self.added: list[np.ndarray] = []
        self.removed: list[np.ndarray] = []
        self.removed_filaments: list[np.ndarray] = []  # a point of each filament removed by hand
        self.picked = False  # an automatic pick has been made with the current settings

    @property
    def filaments(self) -> bool:
        return isinstance(self.auto, FilamentPicks)

    @property
    def particles(self) -> Particles | FilamentPicks:
        # Edits of the other mode wait for it: a switch between blobs and filaments keeps them.
        result, filaments = self.auto, self.filaments
        for zyx in self.removed_filaments if filaments else ():
            index = _nearest(result, zyx, SAME)
            if index is not None:
                result = result.without_filament(result.filament[index])
        for zyx in self.removed:
            index = _nearest(result, zyx, SAME)
            if index is not None:
                result = result.removed(index)
        for zyx in () if filaments else self.added:
            result = result.added(zyx)
        return result

    def set_auto(self, particles: Particles | FilamentPicks, settings) -> None:
        self.auto, self.settings, self.picked = particles, settings, True
        self.changed.emit()

    def add(self, zyx) -> bool:
        """Add a particle by hand (blobs only); returns whether it was added."""
        if self.filaments:
            return False
        self.added.append(np.asarray(zyx, float))
        self.changed.emit()
        return True

    def remove_near(self, zyx, radius: float, whole_filament: bool = False) -> np.ndarray | None:
        """Remove the particle (or, with ``whole_filament``, the filament of the point) nearest to
        ``zyx`` within ``radius`` voxels; returns its position."""
        particles = self.particles
        index = _nearest(particles, zyx, radius)
        if index is None:
            return None
        position = particles.zyx[index].copy()
        if self.filaments:
            (self.removed_filaments if whole_filament else self.removed).append(position)
            self.changed.emit()
            return position
        hand = next((i for i, a in enumerate(self.added) if np.allclose(a, position)), None)
        if hand is not None:
            del self.added[hand]  # taking back a hand-placed particle
        else:
            self.removed.append(position)
        self.changed.emit()
        return position

    def edits(self) -> tuple[list, list, list]:
        return tuple([a.copy() for a in edits] for edits in (self.added, self.removed, self.removed_filaments))

    def restore_edits(self, edits: tuple[list, list, list]) -> None:
        self.added, self.removed, self.removed_filaments = ([a.copy() for a in part] for part in edits)
        self.changed.emit()

    def describe(self) -> str:
        particles = self.particles
        count = len(particles)
        hand = []
        if self.added:
            hand.append(f"{len(self.added)} added")
        if self.removed:
            hand.append(f"{len(self.removed)} removed")
        if self.removed_filaments:
            hand.append(f"{len(self.removed_filaments)} filament{'s' * (len(self.removed_filaments) != 1)} removed")
        if self.filaments:
            filaments = len(np.unique(particles.filament))
            text = f"{count} point{'s' * (count != 1)} on {filaments} filament{'s' * (filaments != 1)}"
        else:
            text = f"{count} particle{'s' * (count != 1)}"
        return text + (f" ({', '.join(hand)} by hand)" if hand else "")


def _nearest(particles: Particles, zyx, radius: float) -> int | None:
    if len(particles) == 0:
        return None
    distance = np.linalg.norm(particles.zyx - np.asarray(zyx, float), axis=1)
    index = int(np.argmin(distance))
    return index if distance[index] <= radius else None
