"""Particle picking from a segmented volume, by the procedure of the Ais paper.

threshold (0..255 level) -> binary mask -> Euclidean distance transform -> watershed of the
distance map from its local maxima, limited to the mask -> groups smaller than the minimum volume
are discarded -> each group weighs the sum of its prediction values -> of two groups closer than
the minimum spacing the heavier is kept -> each remaining group's centroid is a particle.

Work is done per connected blob, in the blob's bounding box, so the distance transform and the
watershed never need whole-volume float arrays (a 1000x1000x300 segmentation of proteins is
mostly empty). Deterministic: no random numbers, ties broken by position.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree
from skimage.morphology import h_maxima
from skimage.segmentation import watershed

from ais_qt.models.errors import AisError
from ais_qt.models.particles.orientations import angles_for
from ais_qt.models.progress import Progress
from ais_qt.models.learning.segmentation import open_segmentation, safe_name, split_output_name
from ais_qt.models.volumes.tomogram import Tomogram

DEFAULT_THRESHOLD = 128
RIPPLE = 1.5  # voxels: see _blob_groups
#: none; disk: the normal of a flat blob; rod: a long blob's axis; membrane: the normal of another
#: feature's segmentation (a membrane) where it is nearest, pointing towards the particle.
ORIENTATIONS = ("none", "disk", "rod", "membrane")
SIGNS = ("+z", "out", "in")  # towards +Z, away from or towards the volume's centre
MEMBRANE_PATCH_NM = 6.0  # radius of the membrane patch whose plane gives the normal


@dataclass(frozen=True)
class PickSettings:
    threshold: float = DEFAULT_THRESHOLD  # level on the segmentation's 0..255 scale
    min_volume: float = 0.0
    volume_unit: str = "nm3"  # or "voxels"
    min_spacing_nm: float = 0.0
    orient: str = "none"  # ORIENTATIONS: how each particle's Z axis is chosen
    orient_sign: str = "+z"  # SIGNS: which way an axis without a direction of its own points
    orient_by: str = ""  # orient "membrane": the feature whose segmentation gives the normal

    def __post_init__(self):
        if self.volume_unit not in ("nm3", "voxels"):
            raise AisError(None, f"minimum volume unit must be nm3 or voxels, not '{self.volume_unit}'")
        if self.orient not in ORIENTATIONS or self.orient_sign not in SIGNS:
            raise AisError(None, f"orientation must be one of {', '.join(ORIENTATIONS)} and its sign one of "
                                 f"{', '.join(SIGNS)}")
        if self.orient == "membrane" and not self.orient_by:
            raise AisError(None, "orienting by a membrane needs the membrane's feature (its segmentation)")
        if self.min_volume < 0 or self.min_spacing_nm < 0:
            raise AisError(None, "minimum volume and spacing cannot be negative")

    def min_voxels(self, voxel_size: float | None) -> float:
        if self.volume_unit == "voxels" or self.min_volume == 0:
            return self.min_volume
        return self.min_volume / _voxel_nm(voxel_size, "a minimum volume in nm³") ** 3

    def spacing_px(self, voxel_size: float | None) -> float:
        if self.min_spacing_nm == 0:
            return 0.0
        return self.min_spacing_nm / _voxel_nm(voxel_size, "a minimum spacing in nm")


def _voxel_nm(voxel_size: float | None, what: str) -> float:
    if not voxel_size or voxel_size <= 0:
        raise AisError(None, f"{what} needs the voxel size, which the header gives as 0: give it (--voxel-size on "
                             "the command line, the tomogram list in the app)")
    return voxel_size / 10.0


def parse_volume(text: str) -> tuple[float, str]:
    """'500' or '500nm3' -> (500, 'nm3'); '40vx' or '40 voxels' -> (40, 'voxels')."""
    match = re.fullmatch(r"\s*([0-9.]+(?:e[0-9+-]+)?)\s*(nm3|nm\^3|vx|vox|voxels?)?\s*", str(text), re.I)
    if not match:
        raise AisError(None, f"'{text}' is not a volume (examples: 500 for nm³, 40vx for voxels)")
    unit = (match.group(2) or "nm3").lower()
    return float(match.group(1)), "nm3" if unit.startswith("nm") else "voxels"


@dataclass
class Particles:
    """Picked particles of one volume: centroids (z, y, x in voxels), weights, volumes and, when
    oriented, RELION angles (rot, tilt, psi in degrees; models/particles/orientations.py)."""

    zyx: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    weight: np.ndarray = field(default_factory=lambda: np.zeros(0))
    volume: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # voxels per group
    angles: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.zyx)

    def near(self, z: float, radius: float) -> np.ndarray:
        """Indices of particles within ``radius`` slices of z."""
        return np.flatnonzero(np.abs(self.zyx[:, 0] - z) <= radius)

    def added(self, zyx) -> Particles:
        """A copy with one more particle (placed by hand: weight and volume unknown, 0)."""
        # Oriented sets give a hand-placed particle the identity orientation (its Z axis along +Z).
        angles = None if self.angles is None else np.vstack([self.angles, np.zeros((1, 3))])
        return Particles(np.vstack([self.zyx, np.asarray(zyx, float)[None]]), np.append(self.weight, 0.0),
                         np.append(self.volume, 0), angles)

    def removed(self, index: int) -> Particles:
        keep = np.arange(len(self)) != index
        return Particles(self.zyx[keep], self.weight[keep], self.volume[keep],
                         None if self.angles is None else self.angles[keep])


def _blob_groups(blob: np.ndarray) -> tuple[np.ndarray, int]:
    """Watershed of one blob's distance map from its local maxima."""
    distance = ndimage.distance_transform_edt(blob)
    # Local maxima = regional maxima standing at least RIPPLE above their surroundings. The distance
    # map of a digitised shape ripples (steps of sqrt(n) voxels), and taking every 3x3x3 maximum
    # split one protein into ~10 groups on synthetic_mixed_10A; a touching pair of particles still
    # has a neck far deeper than this and is split.
    peaks = h_maxima(distance, RIPPLE).astype(bool) & blob
    markers, count = ndimage.label(peaks, structure=np.ones((3, 3, 3)))
    if count <= 1:
        return blob.astype(np.int32), 1
    return watershed(-distance, markers, mask=blob), count


def group(mask: np.ndarray, progress: Progress | None = None) -> tuple[np.ndarray, int]:
    """Label every watershed group of the mask (ids 1..n, 0 outside), blob by blob."""
    progress = progress or Progress()
    # One int32 array serves both: blob labels (positive) are overwritten, blob by blob, with
    # their groups' ids negated, then flipped at the end (a second volume-sized array is 4 bytes
    # a voxel: 1.2 GB for 1000x1000x300).
    labels, n_blobs = ndimage.label(mask)
    total = 0
    for index, box in enumerate(ndimage.find_objects(labels), 1):
        if box is None:
            continue
        padded = tuple(slice(max(s.start - 1, 0), s.stop + 1) for s in box)  # a background rim for the EDT
        target = labels[padded]
        blob = target == index
        groups, count = _blob_groups(blob)
        target[blob] = -(groups[blob] + total)
        total += count
        if index % 64 == 0:
            progress.report(0.1 + 0.7 * index / max(n_blobs, 1), f"blob {index} of {n_blobs}")
    np.negative(labels, out=labels)
    return labels, total


def pick(segmentation: np.ndarray, settings: PickSettings = PickSettings(), voxel_size: float | None = None,
         progress: Progress | None = None, membrane: np.ndarray | None = None) -> Particles:
    """Pick particles in a 0..255 segmentation (uint8 or float in 0..255); ``membrane`` (0..255, the
    same shape) orients them when settings.orient is "membrane"."""
    progress = progress or Progress()
    min_voxels = settings.min_voxels(voxel_size)  # both raise before any work when the voxel size is missing
    spacing = settings.spacing_px(voxel_size)
    progress.report(0.02, "thresholding")
    values = np.asarray(segmentation)
    mask = values >= settings.threshold
    if not mask.any():
        progress.report(1.0, "nothing above the threshold")
        return Particles()
    # Work in the mask's bounding box only (segmentations of particles are mostly empty).
    box = tuple(slice(int(np.argmax(a)), len(a) - int(np.argmax(a[::-1])))
                for a in (mask.any(axis=(1, 2)), mask.any(axis=(0, 2)), mask.any(axis=(0, 1))))
    origin = np.array([s.start for s in box], float)
    mask, values = np.ascontiguousarray(mask[box]), values[box]
    groups, n = group(mask, progress)
    progress.report(0.82, f"{n} groups")
    # Statistics from the mask's voxels only: never a float copy of the whole volume.
    where = np.nonzero(mask)
    del mask
    ids_at = groups[where]
    volume = np.bincount(ids_at, minlength=n + 1)
    weight = np.bincount(ids_at, weights=values[where], minlength=n + 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        centres = np.column_stack([np.bincount(ids_at, weights=w, minlength=n + 1) / volume for w in where])
    ids = np.flatnonzero(volume >= max(min_voxels, 1))
    ids = ids[ids > 0]
    if len(ids) == 0:
        return Particles()
    axes = _shape_axes(where, ids_at, volume, centres, ids, settings.orient) if settings.orient in ("disk", "rod") \
        else None
    volume, weight, centres = volume[ids].astype(np.int64), weight[ids], centres[ids] + origin
    order = _keep_heavier(centres, weight, spacing)
    centres = centres[order]
    angles = None
    if settings.orient == "membrane":
        if membrane is None:
            raise AisError(None, f"orienting by the {settings.orient_by} membrane needs its segmentation")
        angles = angles_for(_membrane_normals(centres, membrane, settings.threshold,
                                              MEMBRANE_PATCH_NM / _voxel_nm(voxel_size, "a membrane patch in nm"),
                                              settings.orient_sign, segmentation.shape)[:, ::-1])
    elif axes is not None:
        angles = angles_for(_signed(axes[order], centres, settings.orient_sign, segmentation.shape)[:, ::-1])
    progress.report(1.0, f"{len(order)} particles")
    return Particles(centres, weight[order], volume[order], angles)


def _shape_axes(where, ids_at, volume, centres, ids, kind: str) -> np.ndarray:
    """Per kept group (z, y, x unit vectors): the axis of least spread (a disk's normal) or of most
    spread (a rod's axis), from the groups' second moments (no per-group loops over voxels)."""
    n = len(volume)
    second = np.zeros((n, 3, 3))
    for a in range(3):
        for b in range(a, 3):
            moment = np.bincount(ids_at, weights=where[a].astype(float) * where[b], minlength=n) / np.maximum(volume, 1)
            second[:, a, b] = second[:, b, a] = moment
    # ``centres`` are the groups' means, in the same (box) coordinates as ``where``.
    covariance = second - centres[:, :, None] * centres[:, None, :]
    _, vectors = np.linalg.eigh(covariance[ids])
    return vectors[:, :, 0] if kind == "disk" else vectors[:, :, 2]


def _signed(axes: np.ndarray, centres: np.ndarray, sign: str, shape) -> np.ndarray:
    """Axes (z, y, x) turned to point towards +Z, or away from / towards the volume's centre."""
    if sign == "+z":
        reference = np.tile([1.0, 0, 0], (len(axes), 1))
    else:
        reference = centres - (np.array(shape) - 1) / 2
        if sign == "in":
            reference = -reference
    flip = np.einsum("ij,ij->i", axes, reference) < 0
    return np.where(flip[:, None], -axes, axes)


def _membrane_normals(centres: np.ndarray, membrane: np.ndarray, threshold: float, patch: float, sign: str,
                      shape) -> np.ndarray:
    """The membrane's normal (z, y, x) at its point nearest each particle, pointing towards the
    particle (by ``sign`` when the particle sits on the membrane itself)."""
    points = np.argwhere(np.asarray(membrane) >= threshold).astype(float)
    if len(points) < 3:
        raise AisError(None, "the membrane segmentation holds no membrane above the threshold")
    tree = cKDTree(points)
    distance, nearest = tree.query(centres)
    normals = np.zeros((len(centres), 3))
    for i, (d, j) in enumerate(zip(distance, nearest)):
        patch_points = points[tree.query_ball_point(points[j], max(patch, 2.0))]
        if len(patch_points) < 3:
            normals[i] = (centres[i] - points[j]) / max(d, 1e-9)
            continue
        normal = np.linalg.svd(patch_points - patch_points.mean(axis=0), full_matrices=False)[2][2]
        if d < 1:  # on the membrane: no side to point to
            normals[i] = _signed(normal[None], centres[i][None], sign, shape)[0]
        else:
            normals[i] = normal if normal @ (centres[i] - points[j]) >= 0 else -normal
    return normals


def _keep_heavier(centres: np.ndarray, weight: np.ndarray, spacing: float) -> np.ndarray:
    """Indices kept, heaviest first: a group closer than ``spacing`` to a kept heavier one is dropped."""
    # Heaviest first; equal weights by position so the result never depends on label numbering.
    order = np.lexsort((centres[:, 2], centres[:, 1], centres[:, 0], -weight))
    if spacing <= 0 or len(order) < 2:
        return order
    tree = cKDTree(centres)
    dropped = np.zeros(len(centres), bool)
    kept = []
    for i in order:  # a loop over groups (hundreds to thousands), not over voxels
        if dropped[i]:
            continue
        kept.append(i)
        dropped[tree.query_ball_point(centres[i], spacing - 1e-9)] = True
    return np.array(kept, int)


def pick_file(path: str | os.PathLike, settings: PickSettings = PickSettings(),
              progress: Progress | None = None, voxel_size: float | None = None) -> tuple[Particles, Tomogram]:
    """Pick a segmented .mrc (as written by `ais-qt segment`, in any of its encodings, or by Ais);
    ``voxel_size`` (Å) overrides the header's."""
    volume = open_segmentation(Path(path))
    if voxel_size is not None:
        volume.voxel_size = voxel_size
    if volume.dtype not in (np.uint8, np.uint16, np.int16, np.float32, np.float16):
        volume.close()
        raise AisError(volume.path, f"is not a segmentation ({volume.dtype} voxels)")
    try:
        membrane = membrane_for(path, settings, volume.shape)
    except AisError:
        volume.close()
        raise
    try:
        return pick(np.asarray(volume.data), settings, volume.voxel_size, progress, membrane), volume
    except AisError as e:
        raise AisError(volume.path, e.problem) from None


def membrane_for(segmentation: str | os.PathLike, settings: PickSettings, shape: tuple) -> np.ndarray | None:
    """The membrane that orients the picks of ``segmentation`` (memory-mapped levels 0..255): the same
    tomogram's segmentation of settings.orient_by beside it, as `ais-qt segment` names it; None when
    the settings do not orient by a membrane."""
    if settings.orient != "membrane":
        return None
    tomogram, _ = split_output_name(segmentation)
    path = Path(segmentation).parent / f"{tomogram}__{safe_name(settings.orient_by)}.mrc"
    if not path.exists():
        raise AisError(path, f"not found: orienting by the {settings.orient_by} membrane needs this tomogram's "
                             "segmentation of it beside the one picked")
    return np.asarray(open_segmentation(path, shape).data)


def count_matches(found: np.ndarray, truth: np.ndarray, within: float) -> int:
    """Points of ``found`` matched one-to-one to ``truth`` within ``within`` voxels, nearest first
    (for checking picks against ground truth or another picker)."""
    if len(found) == 0 or len(truth) == 0:
        return 0
    distance, nearest = cKDTree(truth).query(found)
    taken, hits = set(), 0
    for i in np.argsort(distance, kind="stable"):
        if distance[i] <= within and nearest[i] not in taken:
            taken.add(nearest[i])
            hits += 1
    return hits
