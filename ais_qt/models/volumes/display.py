"""How a slice is shown: binning, Gaussian smoothing and contrast (automatic from percentiles or manual).

Pure functions plus a small cache, so the slice view, screenshots and exports show identical pixels.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from psygnal import evented
from scipy import ndimage

BINNINGS = (1, 2, 4)


@evented
@dataclass
class DisplaySettings:
    """Per-tomogram display choices; ``settings.events`` announces every change."""

    binning: int = 1
    sigma: float = 0.0  # Gaussian smoothing in (binned) pixels; 0 = off
    auto_contrast: bool = True
    low_percentile: float = 0.5
    high_percentile: float = 99.5
    black: float = 0.0  # manual levels, used when auto_contrast is off
    white: float = 1.0


def bin_image(image: np.ndarray, factor: int) -> np.ndarray:
    """Mean of factor x factor blocks; a ragged right/bottom edge is dropped."""
    if factor == 1:
        return image
    ny, nx = (n // factor * factor for n in image.shape)
    if ny == 0 or nx == 0:
        return image
    blocks = image[:ny, :nx].reshape(ny // factor, factor, nx // factor, factor)
    return blocks.mean(axis=(1, 3), dtype=np.float32)


def prepare_slice(raw: np.ndarray, binning: int = 1, sigma: float = 0.0) -> np.ndarray:
    """Float32 display image from a raw slice: non-finite voxels filled, binned, smoothed."""
    image = np.asarray(raw, dtype=np.float32)
    finite = np.isfinite(image)
    if not finite.all():
        image = np.where(finite, image, np.median(image[finite]) if finite.any() else 0.0).astype(np.float32)
    image = bin_image(image, binning)
    if sigma > 0:
        image = ndimage.gaussian_filter(image, sigma, mode="reflect")
    return image


def percentile_levels(image: np.ndarray, low: float, high: float, max_samples: int = 262_144) -> tuple[float, float]:
    """Black and white levels at the given percentiles, estimated on a regular subsample for speed."""
    step = max(1, int(np.sqrt(image.size / max_samples)))
    sample = image[::step, ::step]
    lo, hi = np.percentile(sample, [low, high])
    if hi <= lo:  # flat image: widen so the view still shows something sensible
        hi = lo + 1.0
    return float(lo), float(hi)


class SliceRenderer:
    """Prepares display images with a small LRU cache, so scrolling back and forth is instant."""

    def __init__(self, capacity: int = 32):
        self.capacity = capacity
        self._cache: OrderedDict[tuple, np.ndarray] = OrderedDict()

    def image(self, tomogram, z: int, settings: DisplaySettings) -> np.ndarray:
        key = (id(tomogram), z, settings.binning, round(settings.sigma, 4))
        image = self._cache.get(key)
        if image is None:
            image = prepare_slice(tomogram.slice(z), settings.binning, settings.sigma)
            self._cache[key] = image
            if len(self._cache) > self.capacity:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(key)
        return image

    def levels(self, image: np.ndarray, settings: DisplaySettings) -> tuple[float, float]:
        if settings.auto_contrast:
            return percentile_levels(image, settings.low_percentile, settings.high_percentile)
        return float(settings.black), float(settings.white)

    def forget(self, tomogram) -> None:
        for key in [k for k in self._cache if k[0] == id(tomogram)]:
            del self._cache[key]
