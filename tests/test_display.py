"""Display pipeline: binning, smoothing, contrast levels, cache."""

import numpy as np
import pytest

from ais_qt.models.volumes.display import DisplaySettings, SliceRenderer, bin_image, percentile_levels, prepare_slice
from ais_qt.models.volumes.tomogram import Tomogram


def test_bin_image_averages_blocks_and_drops_ragged_edge():
    image = np.arange(5 * 6, dtype=np.float32).reshape(5, 6)
    binned = bin_image(image, 2)
    assert binned.shape == (2, 3)
    assert binned[0, 0] == pytest.approx((0 + 1 + 6 + 7) / 4)
    assert binned[1, 2] == pytest.approx((16 + 17 + 22 + 23) / 4)
    assert bin_image(image, 1) is image


def test_prepare_slice_fills_non_finite_and_smooths():
    image = np.zeros((20, 20), np.float32)
    image[10, 10] = 100
    image[0, 0] = np.nan
    image[0, 1] = np.inf
    out = prepare_slice(image, binning=1, sigma=2)
    assert np.isfinite(out).all()
    assert out[10, 10] < 100 and out[10, 12] > 0  # the spike spread to its neighbours
    assert prepare_slice(image, binning=4).shape == (5, 5)


def test_percentile_levels_and_flat_image():
    image = np.linspace(0, 100, 10000, dtype=np.float32).reshape(100, 100)
    lo, hi = percentile_levels(image, 1, 99)
    assert lo == pytest.approx(1, abs=0.5) and hi == pytest.approx(99, abs=0.5)
    lo, hi = percentile_levels(np.full((8, 8), 3.0), 0.5, 99.5)
    assert hi > lo


def test_renderer_caches_and_honours_manual_levels():
    tomo = Tomogram.from_array(np.random.default_rng(0).normal(size=(4, 32, 32)).astype(np.float32))
    settings = DisplaySettings()
    renderer = SliceRenderer(capacity=2)
    first = renderer.image(tomo, 1, settings)
    assert renderer.image(tomo, 1, settings) is first
    settings.binning = 2
    assert renderer.image(tomo, 1, settings).shape == (16, 16)
    settings.auto_contrast, settings.black, settings.white = False, -1.0, 2.0
    assert renderer.levels(first, settings) == (-1.0, 2.0)
    renderer.image(tomo, 2, settings)
    renderer.image(tomo, 3, settings)
    assert len(renderer._cache) == 2  # bounded
    renderer.forget(tomo)
    assert not renderer._cache


def test_settings_announce_changes():
    settings = DisplaySettings()
    seen = []
    settings.events.sigma.connect(seen.append)
    settings.sigma = 1.5
    settings.sigma = 1.5
    assert seen == [1.5]
