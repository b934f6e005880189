"""Picking one segmented volume interactively: its settings, the automatic picks and hand edits.

Hand edits are kept apart from the automatic result, so changing a setting re-picks and then
re-applies them: a particle added by hand stays, one removed by hand stays removed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from psygnal import Signal

from ais_qt.models.picking import Particles, PickSettings
from ais_qt.models.segmentation import open_segmentation, split_output_name

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
        self.picked = False  # an automatic pick has been made with the current settings

    @property
    def particles(self) -> Particles:
        result = self.auto
        for zyx in self.removed:
            index = _nearest(result, zyx, SAME)
            if index is not None:
                result = result.removed(index)
        for zyx in self.added:
            result = result.added(zyx)
        return result

    def set_auto(self, particles: Particles, settings: PickSettings) -> None:
        self.auto, self.settings, self.picked = particles, settings, True
        self.changed.emit()

    def add(self, zyx) -> None:
        self.added.append(np.asarray(zyx, float))
        self.changed.emit()

    def remove_near(self, zyx, radius: float) -> np.ndarray | None:
        """Remove the particle nearest to ``zyx`` within ``radius`` voxels; returns its position."""
        particles = self.particles
        index = _nearest(particles, zyx, radius)
        if index is None:
            return None
        position = particles.zyx[index].copy()
        hand = next((i for i, a in enumerate(self.added) if np.allclose(a, position)), None)
        if hand is not None:
            del self.added[hand]  # taking back a hand-placed particle
        else:
            self.removed.append(position)
        self.changed.emit()
        return position

    def edits(self) -> tuple[list, list]:
        return [a.copy() for a in self.added], [r.copy() for r in self.removed]

    def restore_edits(self, edits: tuple[list, list]) -> None:
        self.added, self.removed = [a.copy() for a in edits[0]], [r.copy() for r in edits[1]]
        self.changed.emit()

    def describe(self) -> str:
        count = len(self.particles)
        hand = []
        if self.added:
            hand.append(f"{len(self.added)} added")
        if self.removed:
            hand.append(f"{len(self.removed)} removed")
        return f"{count} particle{'s' * (count != 1)}" + (f" ({', '.join(hand)} by hand)" if hand else "")


def _nearest(particles: Particles, zyx, radius: float) -> int | None:
    if len(particles) == 0:
        return None
    distance = np.linalg.norm(particles.zyx - np.asarray(zyx, float), axis=1)
    index = int(np.argmin(distance))
    return index if distance[index] <= radius else None
