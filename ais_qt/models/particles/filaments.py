"""Filament picking: points along each filament's centre line, with orientations, for helical and
filament averaging (microtubules, actin, ...).

A segmentation (0..255) is thresholded and its objects traced to centre lines
(models/particles/centre_lines.py); each line longer than the minimum length is smoothed by a
spline and sampled at the spacing. Every point gets RELION angles whose Z axis follows the filament
(models/particles/orientations.py), plus an optional twist per point, the filament's id and the
local radius of curvature.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import interpolate

from ais_qt.models.errors import AisError
from ais_qt.models.particles.centre_lines import centre_lines
from ais_qt.models.particles.orientations import angles_for
from ais_qt.models.progress import Progress


@dataclass
class FilamentSettings:
    threshold: float = 128  # level on the 0..255 scale
    min_length_nm: float = 50.0  # shorter pieces are dropped
    spacing_nm: float = 8.0  # between points along a filament
    twist_deg: float = 0.0  # psi added per point (helical twist)
    prune_nm: float = 10.0  # side branches shorter than this are removed before splitting
    lumen_nm: float = 10.0  # hollow filaments with an inner radius up to this are filled (microtubules: 8)

    def in_pixels(self, voxel_size: float | None) -> tuple[float, float, float, float]:
        if not voxel_size or voxel_size <= 0:
            raise AisError(None, "filament lengths and spacings are in nm and need the voxel size, which the header "
                                 "gives as 0: give it (--voxel-size on the command line, the tomogram list in the app)")
        nm = voxel_size / 10.0
        return self.min_length_nm / nm, max(self.spacing_nm / nm, 0.5), self.prune_nm / nm, self.lumen_nm / nm


@dataclass
class FilamentPicks:
    """Points along filaments: centres (z, y, x voxels), RELION angles (rot, tilt, psi in degrees),
    the filament each belongs to (1, 2, ...) and the local radius of curvature (voxels; inf = straight)."""

    zyx: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    angles: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    filament: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    curvature_radius: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def __len__(self) -> int:
        return len(self.zyx)

    @property
    def weight(self) -> np.ndarray:  # what coordinate writers call a figure of merit
        return np.ones(len(self))

    def near(self, z: float, radius: float) -> np.ndarray:
        """Indices of the points within ``radius`` slices of slice ``z``."""
        return np.flatnonzero(np.abs(self.zyx[:, 0] - z) <= radius)

    def lines(self) -> list[np.ndarray]:
        """Each filament's points in order, for drawing."""
        return [self.zyx[self.filament == i] for i in np.unique(self.filament)]

    def without_filament(self, number: int) -> FilamentPicks:
        keep = self.filament != number
        return FilamentPicks(self.zyx[keep], self.angles[keep], self.filament[keep], self.curvature_radius[keep])

    def removed(self, index: int) -> FilamentPicks:
        """A copy without one point (as Particles.removed)."""
        keep = np.arange(len(self)) != index
        return FilamentPicks(self.zyx[keep], self.angles[keep], self.filament[keep], self.curvature_radius[keep])


def pick_filaments(segmentation: np.ndarray, settings: FilamentSettings = FilamentSettings(),
                   voxel_size: float | None = None, progress: Progress | None = None) -> FilamentPicks:
    """Points along the filaments of a 0..255 segmentation (see the module docstring)."""
    progress = progress or Progress()
    min_length, spacing, prune, lumen = settings.in_pixels(voxel_size)
    lines = centre_lines(np.asarray(segmentation) >= settings.threshold, prune, lumen, progress)
    zyx, angles, ids, radii = [], [], [], []
    number = 0
    for line in lines:
        sampled = sample_line(line, spacing, min_length)
        if sampled is None:
            continue
        number += 1
        points, tangents, radius = sampled
        twist = settings.twist_deg * np.arange(len(points))
        zyx.append(points)
        angles.append(angles_for(tangents[:, ::-1], ((twist + 180) % 360) - 180))
        ids.append(np.full(len(points), number))
        radii.append(radius)
    progress.report(1.0, f"{number} filaments")
    if not zyx:
        return FilamentPicks()
    return FilamentPicks(np.concatenate(zyx), np.concatenate(angles), np.concatenate(ids), np.concatenate(radii))


def pick_filaments_file(path, settings: FilamentSettings = FilamentSettings(), progress: Progress | None = None,
                        voxel_size: float | None = None):
    """Filaments of a segmented .mrc (any encoding Ais-Qt or Ais writes): (FilamentPicks, its Tomogram)."""
    from ais_qt.models.learning.segmentation import open_segmentation

    volume = open_segmentation(path)
    if voxel_size is not None:
        volume.voxel_size = voxel_size
    try:
        return pick_filaments(np.asarray(volume.data), settings, volume.voxel_size, progress), volume
    except AisError as e:
        raise AisError(volume.path, e.problem) from None


def sample_line(line: np.ndarray, spacing: float, min_length: float):
    """(points, unit tangents, radius of curvature) every ``spacing`` voxels along a smoothed spline
    through ``line``; None when the line is shorter than ``min_length``."""
    steps = np.linalg.norm(np.diff(line, axis=0), axis=1)
    line = line[np.concatenate([[True], steps > 1e-3])]  # recentred neighbours can coincide
    steps = steps[steps > 1e-3]
    length = float(steps.sum())
    if length < max(min_length, 2.0) or len(line) < 4:
        return None
    u = np.concatenate([[0.0], np.cumsum(steps)]) / length
    # A voxel path zig-zags by about half a voxel: smooth it by that much.
    tck, _ = interpolate.splprep(line.T, u=u, s=len(line) * 0.5, k=3)
    dense = np.linspace(0, 1, max(int(length * 4), 8))
    curve = np.array(interpolate.splev(dense, tck)).T
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(curve, axis=0), axis=1))])
    count = int(arc[-1] // spacing) + 1
    offset = (arc[-1] - (count - 1) * spacing) / 2  # centre the points on the filament
    at = np.interp(offset + spacing * np.arange(count), arc, dense)
    points = np.array(interpolate.splev(at, tck)).T
    first = np.array(interpolate.splev(at, tck, der=1)).T
    second = np.array(interpolate.splev(at, tck, der=2)).T
    speed = np.linalg.norm(first, axis=1)
    curvature = np.linalg.norm(np.cross(first, second), axis=1) / np.maximum(speed ** 3, 1e-12)
    with np.errstate(divide="ignore"):
        radius = np.where(curvature > 1e-9, 1.0 / curvature, np.inf)
    return points, first / speed[:, None], radius
