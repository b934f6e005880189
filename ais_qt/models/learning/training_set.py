"""Training sets: annotated boxes turned into (image, label) tiles for one feature, as in Ais.

Positives are the feature's boxes that hold its annotation, each copied ``copies`` times in random
orientations (90-degree rotations and flips). Negatives are boxes of the features chosen as
negatives plus the feature's own empty boxes; their label is the feature's mask there (all zeros
unless the user painted the feature inside them). They are sampled to ``negative_ratio`` per
positive tile. Tiles are normalised per tile (mean 0, sd 1) or with the whole volume's statistics.
Every tile is ``tile_size`` square, centred on its box (boxes of another size are re-cut).
Saved as one compressed .npz with the arrays and a JSON metadata string (docs/training-set-format.md).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from scipy import ndimage

from ais_qt import __version__
from ais_qt.models.annotation.annotation import clamped_box
from ais_qt.models.atomic import atomic_path
from ais_qt.models.errors import AisError

NORMALISATIONS = ("tile", "volume")
FORMAT_NAME = "ais-qt-training-set"
FORMAT_VERSION = 1


@dataclass
class TrainingSetOptions:
    feature: str
    negatives: list[str] = field(default_factory=list)
    tile_size: int = 64
    copies: int = 10
    negative_ratio: float = 1.3
    normalisation: str = "tile"
    intensity_augmentation: bool = False  # contrast, brightness, blur and noise per copy
    # Each copy of a positive box but the first is cut up to this fraction of the tile off the box's
    # centre, so a few boxes give more than their 8 orientations; pixels outside every box used are
    # unknown (the user vouched only for the boxes) and are labelled ignore. bench/quality.py: the
    # worse of two seeds went from 0.68 to 0.82 (membrane, SNR 0.1) and 0.03 to 0.06 (microtubule,
    # SNR 0.5), other rows within the seed spread (bench/results/recipe_search.md).
    shift: float = 0.25
    seed: int = 0


@dataclass
class TrainingSet:
    x: np.ndarray  # (N, S, S, 1) float32, normalised
    y: np.ndarray  # (N, S, S, 1) float32, 0 or 1
    positive: np.ndarray  # (N,) bool: drawn from a positive box
    groups: np.ndarray  # (N,) int: which box each tile was cut from (copies share it)
    metadata: dict

    def __len__(self) -> int:
        return len(self.x)

    @property
    def tile_size(self) -> int:
        return int(self.x.shape[1])

    def summary(self) -> str:
        m = self.metadata
        return (f"{m['feature']}: {m['positive_boxes']} positive and {m['negative_boxes']} negative boxes -> "
                f"{int(self.positive.sum())} positive and {int((~self.positive).sum())} negative tiles of "
                f"{self.tile_size} px")

    # ---------------------------------------------------------------- files
    def save(self, path: str | os.PathLike) -> Path:
        path = Path(path)
        meta = dict(self.metadata, format=FORMAT_NAME, version=FORMAT_VERSION)
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as f:
                np.savez_compressed(f, x=self.x.astype(np.float32), y=self.y.astype(np.uint8),
                                    positive=self.positive, groups=self.groups, metadata=np.array(json.dumps(meta)))
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> TrainingSet:
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data["metadata"]))
                x, y, positive, groups = data["x"], data["y"], data["positive"], data["groups"]
        except FileNotFoundError:
            raise AisError(path, "file not found") from None
        except (OSError, ValueError, KeyError, EOFError) as e:
            raise AisError(path, f"is not an Ais-Qt training set or is damaged ({e})") from None
        if meta.get("format") != FORMAT_NAME:
            raise AisError(path, "is not an Ais-Qt training set")
        if meta.get("version", 0) > FORMAT_VERSION:
            raise AisError(path, f"was written by a newer Ais-Qt (training set format {meta.get('version')})")
        if x.ndim != 4 or x.shape != y.shape or not len(positive) == len(groups) == len(x):
            raise AisError(path, "is damaged: its arrays do not match")
        return cls(x.astype(np.float32), y.astype(np.float32), positive.astype(bool), groups.astype(int), meta)

    def split(self, fraction: float, seed: int = 0) -> tuple[TrainingSet, TrainingSet | None]:
        """Hold out whole boxes (never copies of a training box) as a validation set of about
        ``fraction``: that fraction of the positive boxes and of the negative boxes, each rounded up
        when there are at least two (so the held-back tiles can calibrate the network), and never
        the last box of either kind."""
        if fraction <= 0:
            return self, None
        rng = np.random.default_rng(seed)
        held = []
        for positive in (True, False):
            boxes = rng.permutation(np.unique(self.groups[self.positive == positive]))
            count = min(int(np.ceil(fraction * len(boxes))), len(boxes) - 1)
            held.extend(boxes[:count])
        val = np.isin(self.groups, held)
        if not val.any():
            return self, None
        part = lambda m: TrainingSet(self.x[m], self.y[m], self.positive[m], self.groups[m], self.metadata)  # noqa: E731
        return part(~val), part(val)

    # --------------------------------------------------------------- preview
    def preview(self, count: int = 24, columns: int = 8, seed: int = 0) -> np.ndarray:
        """An RGB grid of sampled tiles, label in red; green frame = positive, grey = negative."""
        rng = np.random.default_rng(seed)
        n = min(count, len(self))
        pos, neg = np.flatnonzero(self.positive), np.flatnonzero(~self.positive)
        take_pos = min(len(pos), max(n // 2, n - len(neg)))
        chosen = np.concatenate([rng.choice(pos, take_pos, replace=False),
                                 rng.choice(neg, min(len(neg), n - take_pos), replace=False)]).astype(int)
        s, gap = self.tile_size, 4
        rows = int(np.ceil(len(chosen) / columns)) or 1
        grid = np.full((rows * (s + gap) + gap, columns * (s + gap) + gap, 3), 40, np.uint8)
        for i, k in enumerate(chosen):
            r, c = divmod(i, columns)
            y0, x0 = gap + r * (s + gap), gap + c * (s + gap)
            tile = self.x[k, ..., 0]
            lo, hi = np.percentile(tile, [1, 99])
            grey = np.clip((tile - lo) / max(hi - lo, 1e-6), 0, 1) * 255
            rgb = np.repeat(grey[..., None], 3, axis=2)
            label = (self.y[k, ..., 0] > 0.5) & (self.y[k, ..., 0] < 1.5)  # 2: ignored
            rgb[label] = 0.55 * rgb[label] + 0.45 * np.array([255, 40, 40])
            grid[y0 - 2:y0 + s + 2, x0 - 2:x0 + s + 2] = (60, 200, 90) if self.positive[k] else (120, 120, 120)
            grid[y0:y0 + s, x0:x0 + s] = rgb.astype(np.uint8)
        return grid


# ------------------------------------------------------------------- building
def orient(tile: np.ndarray, k: int) -> np.ndarray:
    """One of the 8 symmetries of the square: k in 0..7 (rotation k % 4, flipped when k >= 4)."""
    tile = np.rot90(tile, k % 4)
    return np.flip(tile, axis=1) if k >= 4 else tile


def orient_back(tile: np.ndarray, k: int) -> np.ndarray:
    """The inverse of ``orient(tile, k)``."""
    tile = np.flip(tile, axis=1) if k >= 4 else tile
    return np.rot90(tile, -(k % 4))


def volume_statistics(tomogram, max_samples: int = 2_000_000) -> tuple[float, float]:
    """Mean and sd of a whole tomogram from a regular subsample of slices and pixels."""
    nz, ny, nx = tomogram.shape
    step = max(1, int(np.ceil((nz * ny * nx / max_samples) ** (1 / 3))))
    sample = np.asarray(tomogram.data[::step, ::step, ::step], dtype=np.float64)
    sample = sample[np.isfinite(sample)]
    sd = float(sample.std())
    return float(sample.mean()), sd if sd > 0 else 1.0


def normalise_tile(tile: np.ndarray) -> np.ndarray:
    tile = tile.astype(np.float32)
    sd = tile.std()
    return (tile - tile.mean()) / (sd if sd > 0 else 1.0)


def jitter_intensity(tile: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The same object as a tomogram of other contrast, offset, resolution or noise would show it.

    Not normalised again afterwards: slices are normalised as a whole at inference, so a box's own
    mean and spread do vary in what the network sees, and that is what this teaches it to ignore.
    """
    if rng.random() < 0.3:
        tile = ndimage.gaussian_filter(tile, rng.uniform(0.3, 1.0))
    tile = tile * rng.uniform(0.75, 1.25) + rng.uniform(-0.25, 0.25)
    if rng.random() < 0.5:
        tile = tile + rng.normal(0.0, rng.uniform(0.1, 0.4), tile.shape)
    return tile.astype(np.float32)


def build_training_set(items, features, options: TrainingSetOptions, progress=None) -> TrainingSet:
    """Tiles for ``options.feature`` from the boxes in the given open tomograms (OpenTomogram list)."""
    feature = features.by_name(options.feature)
    if feature is None:
        raise AisError(None, f"there is no feature named '{options.feature}'")
    if options.normalisation not in NORMALISATIONS:
        raise AisError(None, f"normalisation must be one of {NORMALISATIONS}")
    negative_ids = {f.id for f in features if f.name in options.negatives and f.id != feature.id}
    rng = np.random.default_rng(options.seed)
    s = int(options.tile_size)
    positives, negatives, sources = [], [], []
    shifted = []  # per positive box: (item, z, rect, volume statistics or None), for off-centre copies
    for n, item in enumerate(items):
        annotation, tomo = item.annotation, item.tomogram
        ny, nx = annotation.slice_shape
        if ny < s or nx < s:
            continue
        stats = volume_statistics(tomo) if options.normalisation == "volume" else None
        used = 0
        for box in annotation.boxes:
            if box.feature_id != feature.id and box.feature_id not in negative_ids:
                continue
            cut = clamped_box(box.z, box.y, box.x, s, box.feature_id, (ny, nx))
            y0, y1, x0, x1 = cut.rect
            image = _normalised(_finite(tomo.slice(box.z)[y0:y1, x0:x1]), stats)
            label = annotation.region(feature.id, box.z, (y0, y1, x0, x1)).astype(np.float32)
            own_positive = box.feature_id == feature.id and label.any()
            (positives if own_positive else negatives).append((image, label))
            if own_positive and options.shift > 0:
                shifted.append((item, box.z, cut.rect, stats))
            used += 1
        if used:
            sources.append({"name": tomo.name, "path": str(tomo.path) if tomo.path else None,
                            "voxel_size": tomo.voxel_size, "boxes": used})
        if progress is not None:
            progress.report((n + 1) / max(len(items), 1), f"Collected boxes from {tomo.name}")
    if not positives:
        raise AisError(None, f"no box of {feature.name} holds {feature.name} annotation: place boxes (B) "
                             "over slices where you painted it")
    xs, ys, flags, groups = [], [], [], []
    jitter = (lambda t: jitter_intensity(t, rng)) if options.intensity_augmentation else (lambda t: t)
    cutter = _ShiftedCutter(feature.id, negative_ids, s) if shifted else None
    for g, (image, label) in enumerate(positives):
        for c, k in enumerate(rng.integers(0, 8, size=options.copies)):
            if cutter is not None and c > 0:  # the first copy is the box itself
                image_c, label_c = cutter.cut(*shifted[g], options.shift, rng)
            else:
                image_c, label_c = image, label
            xs.append(jitter(orient(image_c, k)))
            ys.append(orient(label_c, k))
            flags.append(True)
            groups.append(g)
    n_negative = int(round(options.negative_ratio * len(xs))) if negatives else 0
    order = np.concatenate([np.zeros(0, int)] + [rng.permutation(len(negatives))  # none when every box is positive
                                                 for _ in range(-(-n_negative // max(len(negatives), 1)))])
    for i in order[:n_negative].astype(int):
        k = rng.integers(0, 8)
        xs.append(jitter(orient(negatives[i][0], k)))
        ys.append(orient(negatives[i][1], k))
        flags.append(False)
        groups.append(len(positives) + i)
    shuffle = rng.permutation(len(xs))
    x = np.stack(xs)[shuffle][..., None].astype(np.float32)
    y = np.stack(ys)[shuffle][..., None].astype(np.float32)
    voxel_sizes = {src["voxel_size"] for src in sources if src["voxel_size"]}
    metadata = {"feature": feature.name, "colour": feature.colour, "negatives": sorted(options.negatives),
                "tile_size": s, "copies": options.copies, "negative_ratio": options.negative_ratio,
                "normalisation": options.normalisation, "intensity_augmentation": options.intensity_augmentation,
                "shift": options.shift,
                "seed": options.seed,
                "voxel_size": voxel_sizes.pop() if len(voxel_sizes) == 1 else None,
                "positive_boxes": len(positives), "negative_boxes": len(negatives), "sources": sources,
                "created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "app_version": __version__}
    return TrainingSet(x, y, np.asarray(flags)[shuffle], np.asarray(groups)[shuffle], metadata)


def _finite(image: np.ndarray) -> np.ndarray:
    """Non-finite voxels replaced by the mean of the finite ones (0 when there are none)."""
    if np.isfinite(image).all():
        return image
    return np.nan_to_num(image, nan=float(np.nanmean(image)) if np.isfinite(image).any() else 0.0)


def _normalised(tile: np.ndarray, stats: tuple[float, float] | None) -> np.ndarray:
    """Per tile (``stats`` None) or with the whole volume's mean and sd."""
    return normalise_tile(tile) if stats is None else ((tile - stats[0]) / stats[1]).astype(np.float32)


class _ShiftedCutter:
    """Cuts positive tiles off their box's centre, the label ignored where no box vouches for it."""

    def __init__(self, feature_id: int, negative_ids: set[int], size: int):
        self.feature_id, self.size = feature_id, size
        self.wanted = {feature_id, *negative_ids}
        self.slices: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}

    def _slice(self, item, z: int) -> tuple[np.ndarray, np.ndarray]:
        """(image, label) of a whole slice; label 2 outside every box of the feature or its negatives."""
        key = (id(item), z)
        if key not in self.slices:
            annotation = item.annotation
            ny, nx = annotation.slice_shape
            known = np.zeros((ny, nx), bool)
            for box in annotation.boxes:
                if box.z == z and box.feature_id in self.wanted:
                    y0, y1, x0, x1 = clamped_box(box.z, box.y, box.x, self.size, box.feature_id, (ny, nx)).rect
                    known[y0:y1, x0:x1] = True
            label = annotation.region(self.feature_id, z, (0, ny, 0, nx)).astype(np.float32)
            label[~known] = 2.0  # IGNORE in models/learning/training.py
            self.slices[key] = (_finite(np.asarray(item.tomogram.slice(z), dtype=np.float32)), label)
        return self.slices[key]

    def cut(self, item, z: int, rect, stats, fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        image, label = self._slice(item, z)
        ny, nx = label.shape
        y0, _, x0, _ = rect
        reach = int(round(fraction * self.size))
        y0 = int(np.clip(y0 + rng.integers(-reach, reach + 1), 0, ny - self.size))
        x0 = int(np.clip(x0 + rng.integers(-reach, reach + 1), 0, nx - self.size))
        tile = _normalised(image[y0:y0 + self.size, x0:x0 + self.size], stats)
        return tile, label[y0:y0 + self.size, x0:x0 + self.size].copy()
