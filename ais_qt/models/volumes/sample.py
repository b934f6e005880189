"""The built-in sample: a deterministic synthetic cellular tomogram with its ground-truth labels.

It is meant to look like a reconstruction, not like clean geometry: an ice slab holds bilayer
vesicles, hollow microtubules, actin filaments, lumpy ribosome-like particles and a few gold
fiducials; noise is added and the whole volume passes through a tilt-series missing wedge
(+/-60 degrees about Y) and a band-pass, which gives the Z smear and the streaks real data has.
Generated once (a few seconds) and cached as MRC files, so it opens memory-mapped like any file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import mrcfile
import numpy as np
from scipy import fft, ndimage

from ais_qt.models.atomic import atomic_path
from ais_qt.models.paths import user_cache_dir

SAMPLE_VERSION = 1
SAMPLE_SHAPE = (128, 384, 384)
SAMPLE_VOXEL_SIZE = 10.0  # Å
LABEL_NAMES = {1: "Membrane", 2: "Microtubule", 3: "Actin", 4: "Ribosome", 5: "Gold"}
TILT_RANGE_DEG = 60.0


@dataclass
class Sample:
    volume: np.ndarray  # float32 (Z, Y, X), mean 0, sd 1, density dark as in raw reconstructions
    labels: np.ndarray  # uint8 (Z, Y, X), values from LABEL_NAMES, 0 = background
    voxel_size: float
    particles: dict[str, list[tuple[float, float, float]]] = field(default_factory=dict)  # name -> (z, y, x)


def make_sample(shape: tuple[int, int, int] = SAMPLE_SHAPE, seed: int = 0,
                voxel_size: float = SAMPLE_VOXEL_SIZE, noise: float = 1.0) -> Sample:
    """Build the synthetic scene; identical output for identical arguments."""
    rng = np.random.default_rng(seed)
    scene = _Scene(shape, rng)
    scene.add_ice()
    area = shape[1] * shape[2]  # object counts scale with the field of view
    scene.add_vesicles(count=max(2, area // 40_000))
    scene.add_filaments("Microtubule", count=max(1, area // 49_000), outer=12.5, inner=8.5, density=0.7)
    scene.add_filaments("Actin", count=max(2, area // 21_000), outer=3.5, inner=0.0, density=0.7)
    scene.add_ribosomes(count=max(8, area // 2_000))
    scene.add_gold(count=4)
    volume = _image(scene.density, rng, noise)
    return Sample(volume, scene.labels, voxel_size, scene.particles)


def sample_paths(directory: Path | None = None) -> dict[str, Path]:
    directory = Path(directory) if directory else user_cache_dir()
    stem = f"ais_qt_sample_v{SAMPLE_VERSION}"
    return {"tomogram": directory / f"{stem}.mrc", "labels": directory / f"{stem}_labels.mrc",
            "particles": directory / f"{stem}_particles.json"}


def ensure_sample(directory: Path | None = None) -> Path:
    """Path of the sample tomogram, generating and caching it (with labels and particles) if needed."""
    paths = sample_paths(directory)
    if all(p.exists() for p in paths.values()):
        return paths["tomogram"]
    paths["tomogram"].parent.mkdir(parents=True, exist_ok=True)
    sample = make_sample()
    # The tomogram is written last: its presence means the set is complete.
    _write_mrc(paths["labels"], sample.labels, sample.voxel_size)
    with atomic_path(paths["particles"]) as tmp:
        tmp.write_text(json.dumps({"order": "z, y, x (pixels)", "particles": sample.particles}, indent=1))
    _write_mrc(paths["tomogram"], sample.volume, sample.voxel_size)
    return paths["tomogram"]


def _write_mrc(path: Path, data: np.ndarray, voxel_size: float) -> None:
    with atomic_path(path) as tmp:
        with mrcfile.new(tmp, overwrite=True) as mrc:
            mrc.set_data(data)
            mrc.voxel_size = voxel_size


class _Scene:
    """Density (arbitrary units, ice = 0.25, protein ~ 1) and labels, built object by object."""

    def __init__(self, shape, rng: np.random.Generator):
        self.shape = shape
        self.rng = rng
        self.density = np.zeros(shape, np.float32)
        self.labels = np.zeros(shape, np.uint8)
        self.occupied = np.zeros(shape, bool)  # where no new particle may go
        self.vesicles = np.zeros(shape, bool)  # filaments stop at membranes instead of piercing them
        self.particles: dict[str, list[tuple[float, float, float]]] = {}
        nz = shape[0]
        self.ice_top, self.ice_bottom = 0.1 * nz, 0.9 * nz

    def _label(self, name: str) -> int:
        return next(k for k, v in LABEL_NAMES.items() if v == name)

    def _box(self, centre, radius):
        """Slices of the volume around centre, and the offset coordinates inside them."""
        slices = tuple(slice(max(0, int(c - radius)), min(n, int(c + radius) + 2))
                       for c, n in zip(centre, self.shape))
        grids = np.ogrid[slices]
        return slices, [g.astype(np.float32) - c for g, c in zip(grids, centre)]

    def add_ice(self):
        z = np.arange(self.shape[0], dtype=np.float32)
        ice = 1 / (1 + np.exp(-(z - self.ice_top) / 1.5)) / (1 + np.exp(-(self.ice_bottom - z) / 1.5))
        self.density += 0.25 * ice[:, None, None]
        # Gently uneven thickness across the field, as in a real lamella or thin ice.
        ny, nx = self.shape[1:]
        yy, xx = np.mgrid[0:ny, 0:nx].astype(np.float32)
        self.density += (0.04 * np.sin(xx / nx * 2.1 + 0.7) * np.cos(yy / ny * 1.7))[None] * ice[:, None, None]
        outside = ice < 0.5
        self.occupied[outside] = True

    def add_vesicles(self, count: int):
        nz, ny, nx = self.shape
        placed = []
        for _ in range(count * 30):
            if len(placed) == count:
                break
            r = self.rng.uniform(0.08, 0.17) * min(ny, nx)
            c = (self.rng.uniform(0.35, 0.65) * nz, self.rng.uniform(r, ny - r), self.rng.uniform(r, nx - r))
            if any(np.hypot(c[1] - p[1], c[2] - p[2]) < r + q + 10 for p, q in placed):
                continue
            placed.append((c, r))
            stretch = self.rng.uniform(0.88, 1.12, size=3)
            slices, (dz, dy, dx) = self._box(c, r * stretch.max() + 6)
            d = np.sqrt((dz / stretch[0]) ** 2 + (dy / stretch[1]) ** 2 + (dx / stretch[2]) ** 2)
            bilayer = np.exp(-((d - r + 1.8) ** 2) / 2) + np.exp(-((d - r - 1.8) ** 2) / 2)
            lumen = (d < r - 2) * self.rng.uniform(0.0, 0.06)
            self.density[slices] += 0.6 * bilayer + lumen
            self.labels[slices][np.abs(d - r) <= 3.2] = self._label("Membrane")
            self.occupied[slices] |= d < r + 4
            self.vesicles[slices] |= d < r + 4

    def add_filaments(self, name: str, count: int, outer: float, inner: float, density: float):
        """Smooth curved tubes lying roughly in the XY plane; hollow when inner > 0."""
        nz, ny, nx = self.shape
        axis = np.zeros(self.shape, bool)
        for _ in range(count):
            # A gently bending path across the field, entering and leaving at random edges.
            start = np.array([self.rng.uniform(0.3, 0.7) * nz, self.rng.uniform(0, ny), 0.0])
            angle = self.rng.uniform(-0.6, 0.6) + (np.pi if self.rng.random() < 0.5 else 0)
            if angle > np.pi / 2:
                start[2] = nx - 1
            length = 2 * max(ny, nx)
            s = np.arange(0, length, 0.5)
            bend = self.rng.uniform(-1, 1) * 0.9 / length * np.sin(s / length * np.pi * self.rng.uniform(0.5, 1.5))
            heading = angle + np.cumsum(bend) * 0.5
            tilt = self.rng.uniform(-0.08, 0.08)
            pts = np.stack([start[0] + s * tilt, start[1] + np.cumsum(np.sin(heading)) * 0.5,
                            start[2] + np.cumsum(np.cos(heading)) * 0.5], axis=1)
            inside = np.all((pts >= 0) & (pts < np.array(self.shape) - 1), axis=1)
            idx = np.round(pts[inside]).astype(int)
            axis[idx[:, 0], idx[:, 1], idx[:, 2]] = True
        if not axis.any():
            return
        zs = np.nonzero(axis.any(axis=(1, 2)))[0]
        zslice = slice(max(0, zs[0] - int(outer) - 3), min(nz, zs[-1] + int(outer) + 4))
        dist = ndimage.distance_transform_edt(~axis[zslice]).astype(np.float32)
        wall = (outer - inner) / 2
        mid = (outer + inner) / 2
        tube = np.exp(-np.maximum(np.abs(dist - mid) - wall * 0.6, 0) ** 2 / 1.2)
        if inner == 0:
            tube = np.exp(-np.maximum(dist - outer * 0.75, 0) ** 2 / 1.0)
        free = ~self.vesicles[zslice]
        self.density[zslice] += density * tube * free
        self.labels[zslice][(dist <= outer) & free] = self._label(name)
        self.occupied[zslice] |= dist <= outer + 2

    def add_ribosomes(self, count: int):
        """Lumpy globules ~25 nm across: a few overlapping Gaussian lobes each."""
        nz, ny, nx = self.shape
        centres = []
        for _ in range(count * 20):
            if len(centres) == count:
                break
            c = (self.rng.uniform(self.ice_top + 12, self.ice_bottom - 12),
                 self.rng.uniform(12, ny - 12), self.rng.uniform(12, nx - 12))
            ci = tuple(int(v) for v in c)
            if self.occupied[ci] or any(np.sum((np.subtract(c, p)) ** 2) < 24 ** 2 for p in centres):
                continue
            slices, (dz, dy, dx) = self._box(c, 14)
            if self.occupied[slices].mean() > 0.02:
                continue
            blob = np.zeros(np.broadcast_shapes(dz.shape, dy.shape, dx.shape), np.float32)
            for _lobe in range(self.rng.integers(4, 7)):
                o = self.rng.normal(0, 3.2, size=3)
                w = self.rng.uniform(3.5, 5.5)
                blob += np.exp(-((dz - o[0]) ** 2 + (dy - o[1]) ** 2 + (dx - o[2]) ** 2) / (2 * w ** 2))
            blob = np.clip(blob, 0, 1.0)
            self.density[slices] += 0.6 * blob
            self.labels[slices][blob > 0.3] = self._label("Ribosome")
            self.occupied[slices] |= blob > 0.1
            centres.append(c)
        self.particles["Ribosome"] = [tuple(round(v, 2) for v in c) for c in centres]

    def add_gold(self, count: int):
        nz, ny, nx = self.shape
        centres = []
        for _ in range(count * 20):
            if len(centres) == count:
                break
            c = (self.rng.uniform(self.ice_top, self.ice_bottom), self.rng.uniform(8, ny - 8), self.rng.uniform(8, nx - 8))
            if self.occupied[tuple(int(v) for v in c)]:
                continue
            slices, (dz, dy, dx) = self._box(c, 7)
            d = np.sqrt(dz ** 2 + dy ** 2 + dx ** 2)
            self.density[slices] += 5.0 / (1 + np.exp((d - 5) / 0.6))
            self.labels[slices][d <= 5] = self._label("Gold")
            centres.append(c)
        self.particles["Gold"] = [tuple(round(v, 2) for v in c) for c in centres]


def _image(density: np.ndarray, rng: np.random.Generator, noise: float) -> np.ndarray:
    """Dark density, noise, then the missing wedge and a CTF-like band-pass, all in one FFT."""
    image = -density
    image += rng.standard_normal(density.shape, dtype=np.float32) * np.float32(1.5 * noise)
    spectrum = fft.rfftn(image, workers=-1)
    nz, ny, nx = density.shape
    kz = fft.fftfreq(nz).astype(np.float32)[:, None, None]
    ky = fft.fftfreq(ny).astype(np.float32)[None, :, None]
    kx = fft.rfftfreq(nx).astype(np.float32)[None, None, :]
    # Tilts of +/-60 degrees about Y sample the (kx, kz) directions within 60 degrees of kx.
    measured = np.abs(kz) <= np.tan(np.radians(TILT_RANGE_DEG)) * np.abs(kx) + 0.75 / nz
    k = np.sqrt(kx ** 2 + ky ** 2 + kz ** 2)
    band = (1 - np.exp(-(k / 0.012) ** 2)) * np.exp(-(k / 0.30) ** 2)
    spectrum *= measured * band
    image = fft.irfftn(spectrum, s=density.shape, workers=-1).astype(np.float32)
    image -= image.mean()
    image /= image.std()
    return image
