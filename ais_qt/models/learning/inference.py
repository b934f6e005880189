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

from ais_qt.models.formats.ais_models import AIS_PADDING, IMPORTED, robust_statistics
from ais_qt.models.learning.training_set import orient, orient_back, volume_statistics

# Largest tile side for fully convolutional networks: a 1024 px slice plus its reflected border fits
# in one tile, so no pixel is computed twice (the 2 x 2 tiles of 640 px computed 1.36 Mpx for its
# 1.05: a 1024 px slice took 0.66 s on 2 cores in float32, 0.53 s in one tile); a 512 px slice was
# 1.7x faster in one tile than in 512 px tiles.
DEFAULT_TILE = 1088
# Pixels per call to the network: 8 tiles of 640 px. Bigger tiles go fewer at a time, so memory per
# call (the network's activations) stays what it was with 640 px tiles, on a small GPU too.
BATCH_PIXELS = 8 * 640 * 640
DEFAULT_MARGIN = 48  # pixels at each tile edge whose predictions are never used (too little context)
DEFAULT_RAMP = 16  # cross-fade between neighbouring tiles
# Test-time augmentation: a slice predicted in this many of the 8 orientations its network was trained
# in (rotations by 90 degrees, mirrored or not), each answer turned back and all averaged. It costs as
# many times the compute. Codes as training_set.orient's; 4 are the mirror images (the half turn and
# the flips: no transposition, so the tiling is the same), 8 all of them.
ORIENTATION_CODES = {1: (0,), 4: (0, 2, 4, 6), 8: tuple(range(8))}
ORIENTATIONS = tuple(ORIENTATION_CODES)
ORIENTATIONS_HELP = ("average each slice over N orientations (test-time augmentation): 1 (default), 4 (its mirror "
                     "images) or 8 (also its quarter turns); takes N times as long")


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
    if length <= tile:
        return [0]  # one tile (its step may be meaningless, even negative)
    starts = list(range(0, max(length - tile, 0) + 1, step))
    if starts[-1] + tile < length:
        starts.append(length - tile)
    return starts


class SlicePredictor:
    """Predicts whole slices with one network; reusable for many slices of a volume."""

    def __init__(self, network, tile: int = DEFAULT_TILE, margin: int = DEFAULT_MARGIN, ramp: int = DEFAULT_RAMP,
                 library=None, live: bool = False, orientations: int = 1):
        if orientations not in ORIENTATIONS:
            raise ValueError(f"orientations must be one of {ORIENTATIONS}, not {orientations}")
        self.network = network
        self.orientations = orientations
        # Live: never wait for the fast engine to be made (the first slices use Keras meanwhile).
        self.live = live
        info = network.info
        multiple = 1
        if library is not None and info.architecture in library.architectures:
            arch = library.get(info.architecture)
            multiple = arch.multiple(info.params)
            fully_convolutional = arch.fully_convolutional
        else:  # an imported graph (or a plugin that is gone): the network says what it needs
            multiple = int(info.params.get("multiple", 2 ** int(info.params.get("depth", 1))))
            fully_convolutional = True
        # Networks from Ais see each slice as Ais shows it to them: whole, reflect-padded to a
        # multiple of 32 plus 32 px each side, so the outputs agree with Ais's own.
        self.ais_padding = info.architecture == IMPORTED
        size = tile if fully_convolutional else info.tile_size
        self.fully_convolutional = fully_convolutional
        self.tile = max(multiple, size // multiple * multiple)
        self.margin = min(margin, self.tile // 4)
        self.ramp = max(1, min(ramp, self.tile // 8))
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
        return self.predict_many([image], scale, stats)[0]

    def predict_many(self, images, scale: float = 1.0, stats: tuple[float, float] | None = None) -> list[np.ndarray]:
        """``predict`` for several slices of one shape at once: their tiles share the network's
        batches, so a GPU is asked fewer, fuller calls (the answers are the same)."""
        prepared = [self._prepare(image, scale, stats) for image in images]
        results = None
        for k in ORIENTATION_CODES[self.orientations]:
            turned = [orient(image, k) for image in prepared]
            answers = [orient_back(r, k) for r in self._predict_prepared(turned)]
            results = answers if results is None else [a + b for a, b in zip(results, answers)]
        if self.orientations > 1:
            results = [r / self.orientations for r in results]
        shape = np.shape(images[0])
        if scale != 1.0:
            results = [ndimage.zoom(r, (shape[0] / r.shape[0], shape[1] / r.shape[1]), order=1) for r in results]
        return [np.clip(r, 0, 1).astype(np.float32) for r in results]

    def _predict_prepared(self, prepared: list[np.ndarray]) -> list[np.ndarray]:
        if self.ais_padding and self._fits_whole(prepared[0].shape):
            return self._whole_as_ais(prepared)
        return self._tiled(prepared)

    def _prepare(self, image, scale: float, stats) -> np.ndarray:
        """A raw slice normalised (and rescaled) as the network's training tiles were."""
        image = np.asarray(image, np.float32)
        finite = np.isfinite(image)
        if not finite.all():
            image = np.where(finite, image, np.median(image[finite]) if finite.any() else 0)
        mean, sd = stats if stats is not None else (float(image.mean()), float(image.std()))
        image = (image - mean) / (sd if sd > 0 else 1.0)
        return ndimage.zoom(image, scale, order=1) if scale != 1.0 else image

    def slices_at_once(self, shape: tuple[int, int], on_gpu: bool, scale: float = 1.0) -> int:
        """How many slices of this shape to predict together: on a GPU, as many as fill one batch of
        tiles (a 384 px slice alone used it a twentieth as well), so that every call has the same
        shape and the network is compiled once; on the CPU one, which keeps memory and progress per
        slice and loses nothing (the CPU engine is busy with one slice)."""
        if not on_gpu:
            return 1
        ny, nx = (max(1, round(n * scale)) for n in shape)
        if self.ais_padding and self._fits_whole((ny, nx)):
            return int(np.clip(BATCH_PIXELS // (ny * nx), 1, 64))
        (ty, tx), (y_starts, x_starts), _ = self._grid(ny, nx)
        return max(1, self._batch(ty, tx) // (len(y_starts) * len(x_starts)))

    @staticmethod
    def _batch(ty: int, tx: int) -> int:
        """Tiles per call: BATCH_PIXELS' worth (more of small tiles, fewer of big ones)."""
        return max(1, BATCH_PIXELS // (ty * tx))

    def _fits_whole(self, shape) -> bool:
        """Slices up to the tile size go whole, as Ais does; larger ones are tiled (bounded memory)."""
        return max(_ais_padding(n)[1] + n for n in shape) <= self.tile + 2 * AIS_PADDING

    def _whole_as_ais(self, images: list[np.ndarray]) -> list[np.ndarray]:
        (ya, yb), (xa, xb) = (_ais_padding(n)[0] for n in images[0].shape)
        padded = np.stack([np.pad(image, ((ya, yb), (xa, xb)), mode="reflect") for image in images])[..., None]
        out = self.network.predict(padded, batch_size=len(images), wait=not self.live)[..., 0]
        ny, nx = images[0].shape
        return list(out[:, ya:ya + ny, xa:xa + nx])

    def _layout(self, length: int) -> tuple[int, int, int]:
        """(tile, step, padded length) along one axis: the fewest tiles of at most ``self.tile``
        pixels, each shrunk to just cover the axis (fully convolutional networks only)."""
        m, r, mult = self.margin, self.ramp, self.multiple
        overlap = 2 * m + r
        if not self.fully_convolutional:
            t = self.tile
            count = 1 if length <= t else math.ceil((length - t) / (t - overlap)) + 1
        else:
            count = 1 if length <= self.tile else math.ceil((length - self.tile) / (self.tile - overlap)) + 1
            t = max(mult, math.ceil((length + (count - 1) * overlap) / count / mult) * mult)
        step = t - overlap
        return t, step, t + (count - 1) * step

    def _grid(self, ny: int, nx: int):
        """The tiling of an ny x nx slice with its border of ``ramp`` px: (tile shape, tile origins
        along y and along x, padded shape)."""
        (ty, sy, py), (tx, sx, px) = self._layout(ny + 2 * self.ramp), self._layout(nx + 2 * self.ramp)
        return (ty, tx), (_starts(py, ty, sy), _starts(px, tx, sx)), (py, px)

    def _tiled(self, images: list[np.ndarray]) -> list[np.ndarray]:
        m, r = self.margin, self.ramp
        ny, nx = images[0].shape
        # Tiles on the outer border keep full weight on their outer side (there is no neighbour to
        # blend with), so the border needs only a little reflected context, not a whole margin.
        pad = r
        (ty, tx), (y_starts, x_starts), (py, px) = self._grid(ny, nx)
        mode = "reflect" if min(ny, nx) > pad else "symmetric"
        padded = [np.pad(image, ((pad, py - ny - pad), (pad, px - nx - pad)), mode=mode) for image in images]
        origins = [(y, x) for y in y_starts for x in x_starts]
        wy = [_edge_window(ty, m, r, i, len(y_starts)) for i in range(len(y_starts))]
        wx = [_edge_window(tx, m, r, j, len(x_starts)) for j in range(len(x_starts))]
        weights = [np.outer(a, b) for a in wy for b in wx]  # each tile's blend weights, in origins' order
        norm = np.zeros((py, px), np.float32)  # the same for every slice
        for (y, x), weight in zip(origins, weights):
            norm[y:y + ty, x:x + tx] += weight
        total = np.zeros((len(images), py, px), np.float32)
        corners = [(n, k) for n in range(len(images)) for k in range(len(origins))]
        batch = self._batch(ty, tx)
        for start in range(0, len(corners), batch):
            chunk = corners[start:start + batch]
            tiles = np.stack([padded[n][origins[k][0]:origins[k][0] + ty, origins[k][1]:origins[k][1] + tx]
                              for n, k in chunk])[..., None]
            out = self.network.predict(tiles, batch_size=batch, wait=not self.live)[..., 0]
            for (n, k), p in zip(chunk, out):
                y, x = origins[k]
                total[n, y:y + ty, x:x + tx] += p * weights[k]
        return list((total / np.maximum(norm, 1e-6))[:, pad:pad + ny, pad:pad + nx])


def _ais_padding(n: int) -> tuple[tuple[int, int], int]:
    """((before, after), total) reflect padding of a side of n px as Ais pads slices."""
    total = (-n) % AIS_PADDING + 2 * AIS_PADDING
    return (total // 2, total - total // 2), total


def _edge_window(n: int, margin: int, ramp: int, index: int, count: int) -> np.ndarray:
    """A tile's weights along one axis; the first and last tiles keep full weight on their outer side."""
    if count == 1:
        return np.ones(n, np.float32)
    w = _window(n, margin, ramp)
    if index == 0:
        w[: n // 2] = 1
    if index == count - 1:
        w[n // 2:] = 1
    return w


def slice_statistics(network, tomogram) -> tuple[float, float] | None:
    """Normalisation statistics for a tomogram: the volume's when the network was trained so (mean and
    sd, or Ais's mean and robust spread), else None (each slice uses its own)."""
    if network.info.normalisation == "volume_mad":
        return robust_statistics(tomogram)
    return volume_statistics(tomogram) if network.info.normalisation == "volume" else None
