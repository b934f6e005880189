"""The built-in synthetic tomogram: deterministic, labelled, and shaped like a reconstruction."""

import json

import numpy as np
import pytest
from scipy import fft

from ais_qt.models.volumes.sample import LABEL_NAMES, TILT_RANGE_DEG, ensure_sample, make_sample, sample_paths
from ais_qt.models.volumes.tomogram import Tomogram

SMALL = (64, 160, 160)


@pytest.fixture(scope="module")
def small():
    return make_sample(SMALL, seed=3)


def test_deterministic(small):
    again = make_sample(SMALL, seed=3)
    np.testing.assert_array_equal(small.volume, again.volume)
    np.testing.assert_array_equal(small.labels, again.labels)
    assert not np.array_equal(small.volume, make_sample(SMALL, seed=4).volume)


def test_every_feature_is_labelled(small):
    assert small.volume.dtype == np.float32 and small.labels.dtype == np.uint8
    assert small.volume.shape == SMALL == small.labels.shape
    assert set(np.unique(small.labels)) == {0, *LABEL_NAMES}
    assert abs(small.volume.mean()) < 1e-3 and small.volume.std() == pytest.approx(1, abs=1e-3)
    assert len(small.particles["Ribosome"]) >= 3


def test_density_is_dark_and_noisy(small):
    """Features are darker than the background but far from clean: a real-looking signal-to-noise."""
    background = small.volume[small.labels == 0].mean()
    for label in (1, 2, 4):
        assert small.volume[small.labels == label].mean() < background - 0.2
    membrane = small.labels == 1
    # Not separable by a threshold: plenty of membrane voxels are brighter than the background mean.
    assert (small.volume[membrane] > background).mean() > 0.1


def test_missing_wedge_is_empty(small):
    spectrum = np.abs(fft.rfftn(small.volume))
    kz = np.abs(fft.fftfreq(SMALL[0]))[:, None, None]
    kx = fft.rfftfreq(SMALL[2])[None, None, :]
    wedge = (kz > np.tan(np.radians(TILT_RANGE_DEG)) * kx + 2.0 / SMALL[0]) & np.ones(spectrum.shape, bool)
    assert spectrum[wedge].max() < 1e-3 * spectrum.max()


def test_ensure_sample_caches_a_complete_set(tmp_path):
    path = ensure_sample(tmp_path)
    paths = sample_paths(tmp_path)
    assert path == paths["tomogram"] and all(p.exists() for p in paths.values())
    stamp = path.stat().st_mtime_ns
    assert ensure_sample(tmp_path) == path and path.stat().st_mtime_ns == stamp  # not regenerated
    tomo = Tomogram.open(path)
    assert tomo.voxel_size == 10.0 and tomo.shape[1] >= 256
    labels = Tomogram.open(paths["labels"])
    assert labels.shape == tomo.shape
    particles = json.loads(paths["particles"].read_text())["particles"]
    assert len(particles["Ribosome"]) > 20
    assert not list(tmp_path.glob(".*partial*"))  # no temporary files left behind
