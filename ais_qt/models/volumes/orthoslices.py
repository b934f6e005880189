"""Planes across the slices: XZ (at a row y) and YZ (at a column x) of a tomogram and its annotation.

Arrays come back in (Z, X) and (Z, Y) order. A YZ plane of a memory-mapped file touches every page
of it (one voxel per row), so large files get a binned copy, read once in Z slabs and kept in its
own dtype (float32 for wider types); planes then come from memory. Small or in-memory volumes are cut exactly.
"""

from __future__ import annotations

import numpy as np

AXES = ("xz", "yz")
CACHE_BUDGET = 256 * 2**20  # bytes a binned copy may take
EXACT_LIMIT = 256 * 2**20  # volumes up to this size are cut directly


def plane_shape(shape: tuple[int, int, int], axis: str) -> tuple[int, int]:
    nz, ny, nx = shape
    return (nz, nx) if axis == "xz" else (nz, ny)


def cut(volume: np.ndarray, axis: str, index: int) -> np.ndarray:
    """The XZ plane at row ``index`` or the YZ plane at column ``index`` of a (Z, Y, X) array."""
    _check_axis(axis)
    return volume[:, index, :] if axis == "xz" else volume[:, :, index]


def _check_axis(axis: str) -> None:
    if axis not in AXES:
        raise ValueError(f"axis must be one of {AXES}, not {axis!r}")


class OrthoSlicer:
    """Cuts planes of one tomogram; ``prepare()`` builds the binned copy (call it off the GUI thread)."""

    def __init__(self, tomogram, budget: int = CACHE_BUDGET, exact_limit: int = EXACT_LIMIT):
        self.tomogram = tomogram
        data = tomogram.data
        self.mapped = isinstance(data, np.memmap) or getattr(data, "base", None) is not None and isinstance(
            data.base, np.memmap)
        self.exact = not self.mapped or data.nbytes <= exact_limit
        itemsize = 4 if data.dtype.itemsize > 2 else data.dtype.itemsize
        self.binning = 1
        while not self.exact and data.size * itemsize / self.binning ** 3 > budget:
            self.binning *= 2
        self.dtype = np.float32 if data.dtype.itemsize > 2 else data.dtype
        self.cache: np.ndarray | None = None

    @property
    def ready(self) -> bool:
        return self.exact or self.cache is not None

    def prepare(self, progress=None) -> None:
        """Read the volume once, slab by slab, into the binned copy (no-op when cut exactly)."""
        if self.ready:
            return
        b, data = self.binning, self.tomogram.data
        nz, ny, nx = (n // b for n in data.shape)
        cache = np.empty((nz, ny, nx), self.dtype)
        for k in range(nz):
            cache[k] = bin_slab(data[k * b:(k + 1) * b, :ny * b, :nx * b], b)
            if progress is not None and k % 16 == 0:
                progress.report((k + 1) / nz, f"Preparing side views of {self.tomogram.name}")
        self.cache = cache

    def plane(self, axis: str, index: int) -> tuple[np.ndarray, int]:
        """(float32 plane, binning): the plane at full-resolution ``index``, binned by ``binning``."""
        _check_axis(axis)
        limit = self.tomogram.shape[1 if axis == "xz" else 2]
        index = int(min(max(index, 0), limit - 1))
        if self.cache is not None:
            i = min(index // self.binning, self.cache.shape[1 if axis == "xz" else 2] - 1)
            return np.asarray(cut(self.cache, axis, i), dtype=np.float32), self.binning
        return np.asarray(cut(self.tomogram.data, axis, index), dtype=np.float32), 1


def bin_slab(slab: np.ndarray, b: int) -> np.ndarray:
    """Mean of b x b x b blocks of a (b, Y, X) slab, b a power of two, Y and X multiples of b.

    Pairwise sums of strided halves: six times faster than a reshaped mean on a 2048 px slab.
    """
    image = np.asarray(slab, dtype=np.float32).sum(axis=0)
    step = 1
    while step < b:
        image = image[:, 0::2] + image[:, 1::2]
        image = image[0::2] + image[1::2]
        step *= 2
    return image / b ** 3


def annotation_plane(annotation, feature_id: int, axis: str, index: int, depth: int) -> np.ndarray:
    """A feature's annotation along a plane across the slices: (Z, X) or (Z, Y) bool."""
    ny, nx = annotation.slice_shape
    out = np.zeros((depth, nx if axis == "xz" else ny), bool)
    for z, mask in annotation.masks.get(feature_id, {}).items():
        if 0 <= z < depth:
            out[z] = mask[index, :] if axis == "xz" else mask[:, index]
    return out


def plane_boxes(annotation, axis: str, index: int) -> list[tuple]:
    """(box, start, stop) of every box the plane passes through, start..stop along the plane's width."""
    out = []
    for box in annotation.boxes:
        y0, y1, x0, x1 = box.rect
        across, along = ((y0, y1), (x0, x1)) if axis == "xz" else ((x0, x1), (y0, y1))
        if across[0] <= index < across[1]:
            out.append((box, along[0], along[1]))
    return out
