"""Applying networks: one slice (live overlay) or whole volumes (batch), without seams or memory blow-up.

A slice is normalised like the training data (its own mean and sd, or the volume's), optionally
rescaled to the voxel size the network was trained at, reflect-padded, cut into overlapping tiles
(large ones for fully convolutional networks, the training size otherwise), predicted in batches,
and blended back with smooth weights that fall towards tile edges, so no seams show.
Volumes stream slice by slice from the memory-mapped tomogram; only a slice's tiles are in memory.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from ais_qt.models.training_set import volume_statistics

DEFAULT_TILE = 512
DEFAULT_MARGIN = 48  # pixels at each tile edge whose predictions are never used (too little context)
DEFAULT_RAMP = 16  # cross-fade between neighbouring tiles


def _window(n: int, margin: int, ramp: int) -> np.ndarray:
    """1D tile weight: 0 over the margin, a raised-cosine ramp, 1 in the middle; mirrored.

    Neighbouring tiles placed ``n - 2 * margin - ramp`` apart overlap exactly on their ramps, whose
    sum is 1 there, so the blend is a partition of unity: no seams and no darkening.
    """
    w = np.zeros(n, np.float32)
    t = (np.arange(ramp, dtype=np.float32) + 0.5) / ramp
    w[margin:margin + ramp] = 0.5 - 0.5 * np.cos(np.pi * t)
    w[margin + ramp:n - margin - ramp] = 1
    w[n - margin - ramp:n - margin] = w[margin:margin + ramp][::-1]
    return w


def _starts(length: int, tile: int, step: int) -> list[int]:
    """Tile origins from 0 in ``step``s; the last tile ends exactly at ``length``."""
    starts = list(range(0, max(length - tile, 0) + 1, step))
    if starts[-1] + tile < length:
        starts.append(length - tile)
    return starts


class SlicePredictor:
    """Predicts whole slices with one network; reusable for many slices of a volume."""

    def __init__(self, network, tile: int = DEFAULT_TILE, margin: int = DEFAULT_MARGIN, ramp: int = DEFAULT_RAMP,
                 batch_size: int = 8, library=None):
        self.network = network
        info = network.info
        multiple = 1
        if library is not None and info.architecture in library.architectures:
            arch = library.get(info.architecture)
            multiple = arch.multiple(info.params)
            fully_convolutional = arch.fully_convolutional
        else:
            multiple, fully_convolutional = 2 ** int(info.params.get("depth", 1)), True
        size = tile if fully_convolutional else info.tile_size
        self.tile = max(multiple, size // multiple * multiple)
        self.margin = min(margin, self.tile // 4)
        self.ramp = max(1, min(ramp, self.tile // 8))
        self.batch_size = batch_size
        self.multiple = multiple

    def scale_for(self, tomogram_voxel: float | None) -> float:
        """Zoom factor from the tomogram's pixels to the network's (1 when unknown or within 1 %)."""
        trained = self.network.info.voxel_size
        if not trained or not tomogram_voxel:
            return 1.0
        factor = tomogram_voxel / trained
        return 1.0 if abs(factor - 1) < 0.01 else factor

    def predict(self, image: np.ndarray, scale: float = 1.0, stats: tuple[float, float] | None = None) -> np.ndarray:
        """Probabilities (float32, 0..1) for one raw slice, same shape as the slice."""
        image = np.asarray(image, np.float32)
        finite = np.isfinite(image)
        if not finite.all():
            image = np.where(finite, image, np.median(image[finite]) if finite.any() else 0)
        mean, sd = stats if stats is not None else (float(image.mean()), float(image.std()))
        image = (image - mean) / (sd if sd > 0 else 1.0)
        shape = image.shape
        if scale != 1.0:
            image = ndimage.zoom(image, scale, order=1)
        result = self._tiled(image)
        if scale != 1.0:
            result = ndimage.zoom(result, (shape[0] / result.shape[0], shape[1] / result.shape[1]), order=1)
        return np.clip(result, 0, 1).astype(np.float32)

    def _tiled(self, image: np.ndarray) -> np.ndarray:
        t, m, r = self.tile, self.margin, self.ramp
        ny, nx = image.shape
        pad = m + r  # the image starts where the first tile's weight is full
        step = t - 2 * m - r
        # Reflect-pad (edges get real-looking context), then to a whole number of steps and the
        # network's size multiple, so every tile is full-size and aligned with its pooling grid.
        sizes = []
        for n in (ny, nx):
            covered = max(t, pad + n + pad)
            count = math.ceil((covered - t) / step)
            sizes.append(t + count * step)
        py, px = sizes
        mode = "reflect" if min(ny, nx) > pad else "symmetric"
        padded = np.pad(image, ((pad, py - ny - pad), (pad, px - nx - pad)), mode=mode)
        weight = np.outer(_window(t, m, r), _window(t, m, r))
        total = np.zeros(padded.shape, np.float32)
        norm = np.zeros(padded.shape, np.float32)
        corners = [(y, x) for y in _starts(py, t, step) for x in _starts(px, t, step)]
        for i in range(0, len(corners), self.batch_size):
            chunk = corners[i:i + self.batch_size]
            tiles = np.stack([padded[y:y + t, x:x + t] for y, x in chunk])[..., None]
            out = self.network.predict(tiles, batch_size=self.batch_size)[..., 0]
            for (y, x), p in zip(chunk, out):
                total[y:y + t, x:x + t] += p * weight
                norm[y:y + t, x:x + t] += weight
        return (total / np.maximum(norm, 1e-6))[pad:pad + ny, pad:pad + nx]


def slice_statistics(network, tomogram) -> tuple[float, float] | None:
    """Normalisation statistics for a tomogram: the volume's when the network was trained so, else
    None (each slice uses its own)."""
    return volume_statistics(tomogram) if network.info.normalisation == "volume" else None
