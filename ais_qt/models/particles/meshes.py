"""Isosurfaces of segmented volumes (marching cubes) and .obj files, without VTK.

The volume is processed in slabs of z so no whole-volume float copy is ever made; neighbouring
slabs share their boundary plane, so the pieces join without gaps. "Dust" (blobs smaller than a
minimum volume) is removed first; an optional Gaussian smoothing rounds off voxel steps, and a
step > 1 samples every n-th voxel (fewer triangles, for speed on big volumes).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage
from skimage.measure import marching_cubes

from ais_qt.models.atomic import atomic_path
from ais_qt.models.errors import AisError
from ais_qt.models.progress import Progress

SLAB = 64  # slices per piece (rounded to the step)


@dataclass
class Mesh:
    vertices: np.ndarray  # (n, 3) float32, x y z in voxels
    faces: np.ndarray  # (m, 3) int64, indices into vertices

    def __len__(self) -> int:
        return len(self.faces)

    def in_angstrom(self, grid) -> Mesh:
        """Vertices in Å where the volume lies (its voxel size and origin: volume_writer.Grid), so
        the mesh overlays the tomogram in ChimeraX."""
        return Mesh((self.vertices * grid.voxel_size + grid.position_angstrom()).astype(np.float32), self.faces)


def without_dust(volume: np.ndarray, level: float, min_voxels: float) -> np.ndarray:
    """The volume with blobs (above level) smaller than ``min_voxels`` set to 0."""
    if min_voxels <= 1:
        return volume
    volume = np.asarray(volume)  # a memory map stays one; a Scaled probability map is read once
    blobs, _ = ndimage.label(volume >= level)
    sizes = np.bincount(blobs.ravel())
    small = sizes < min_voxels
    small[0] = False
    if not small.any():
        return volume
    cleaned = np.array(volume, copy=True)
    cleaned[small[blobs]] = 0
    return cleaned


def surface(volume, level: float = 128, min_voxels: float = 0, step: int = 1, smooth: float = 0.0,
            progress: Progress | None = None) -> Mesh:
    """Closed isosurface of ``volume`` (z, y, x) at ``level``; vertices in voxels, x y z order."""
    progress = progress or Progress()
    step = max(1, int(step))
    data = without_dust(volume, level, min_voxels)
    nz = data.shape[0]
    slab = max(step, SLAB // step * step)
    margin = math.ceil(4 * smooth) + 1 if smooth > 0 else 0  # gaussian_filter reaches 4 sigma
    pieces, offset = [], 0
    for z0 in range(0, max(nz - 1, 1), slab):
        z1 = min(z0 + slab, nz - 1)  # inclusive: the next piece starts on this plane
        lo, hi = max(z0 - margin, 0), min(z1 + 1 + margin, nz)
        block = np.asarray(data[lo:hi], dtype=np.float32)
        if smooth > 0:
            block = ndimage.gaussian_filter(block, smooth, mode="nearest")
        block = block[z0 - lo:z0 - lo + (z1 - z0 + 1)]
        # Zero borders close the surface where a blob touches the volume's edge; they are a whole
        # step wide so every piece samples the same planes (z0 + k * step) and the seams match.
        pad_z = (step if z0 == 0 else 0, step if z1 == nz - 1 else 0)
        block = np.pad(block, (pad_z, (step, step), (step, step)))
        progress.report(z0 / nz, f"surface: slices {z0}-{z1}")
        if block.max() < level or block.min() > level:
            continue
        verts, faces, _, _ = marching_cubes(block, level, step_size=step, allow_degenerate=False)
        verts = verts - (pad_z[0], step, step) + (z0, 0, 0)
        pieces.append((verts[:, ::-1].astype(np.float32), faces + offset))
        offset += len(verts)
    progress.report(1.0, "surface done")
    if not pieces:
        return Mesh(np.zeros((0, 3), np.float32), np.zeros((0, 3), np.int64))
    vertices = np.concatenate([p[0] for p in pieces])
    faces = np.concatenate([p[1] for p in pieces]).astype(np.int64)
    if len(pieces) > 1:  # pieces repeat the vertices of their shared plane: weld them (watertight mesh)
        vertices, inverse = np.unique(vertices, axis=0, return_inverse=True)
        faces = inverse.reshape(-1)[faces]
    return Mesh(vertices, faces)


def write_obj(mesh: Mesh, path: str | os.PathLike, name: str = "feature", units: str = "voxels") -> Path:
    """Wavefront .obj (as Ais exports for Blender and ChimeraX): v lines, then 1-based f lines."""
    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "w") as f:
        f.write(f"# Ais-Qt isosurface of {name}; coordinates in {units}, x y z\n")
        f.write(f"o {name.replace(' ', '_')}\n")
        np.savetxt(f, mesh.vertices, fmt="v %.3f %.3f %.3f")
        np.savetxt(f, mesh.faces + 1, fmt="f %d %d %d")
    return path


def read_obj(path: str | os.PathLike) -> Mesh:
    path = Path(path)
    vertices, faces = [], []
    try:
        for line in path.read_text().splitlines():
            parts = line.split()
            if parts and parts[0] == "v":
                vertices.append([float(v) for v in parts[1:4]])
            elif parts and parts[0] == "f":
                faces.append([int(p.split("/")[0]) - 1 for p in parts[1:4]])
    except (OSError, ValueError, UnicodeDecodeError) as e:
        raise AisError(path, f"is not a readable .obj mesh ({e})") from None
    return Mesh(np.array(vertices, np.float32).reshape(-1, 3), np.array(faces, np.int64).reshape(-1, 3))
