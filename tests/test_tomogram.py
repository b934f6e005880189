"""Opening volumes: formats, voxel size, memory mapping and every kind of bad file."""

from __future__ import annotations

import struct
import sys
import time

import mrcfile
import numpy as np
import pytest

from ais_qt.models.errors import TomogramError
from ais_qt.models.volumes.tomogram import Tomogram, is_volume_path
from tests.conftest import shared_file, write_mrc


def test_open_reads_shape_voxel_size_and_slices(mrc_path, volume):
    tomo = Tomogram.open(mrc_path)
    assert tomo.shape == (12, 40, 48)
    assert tomo.voxel_size == pytest.approx(13.5)
    assert isinstance(tomo.data, np.memmap)
    np.testing.assert_array_equal(tomo.slice(5), volume[5])
    assert tomo.slice(5).dtype == np.float32
    assert tomo.value_at(3, 7, 11) == 30711
    assert tomo.value_at(12, 0, 0) is None
    with pytest.raises(IndexError):
        tomo.slice(12)
    tomo.close()


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.uint16, np.float16, np.uint8])
def test_integer_and_half_modes_open(tmp_path, dtype):
    data = (np.arange(2 * 8 * 8) % 100).astype(dtype).reshape(2, 8, 8)
    tomo = Tomogram.open(write_mrc(tmp_path / "v.rec", data))
    np.testing.assert_array_equal(tomo.slice(1), data[1].astype(np.float32))


def test_single_image_opens_as_one_slice(tmp_path):
    tomo = Tomogram.open(write_mrc(tmp_path / "image.mrc", np.ones((16, 20), np.float32)))
    assert tomo.shape == (1, 16, 20)


def test_gzip_compressed_volume_opens(tmp_path, volume):
    tomo = Tomogram.open(write_mrc(tmp_path / "tomo.mrc.gz", volume))
    np.testing.assert_array_equal(tomo.slice(2), volume[2])


def test_voxel_size_zero_is_unknown_and_can_be_overridden(tmp_path, volume):
    tomo = Tomogram.open(write_mrc(tmp_path / "novox.mrc", volume, voxel_size=0))
    assert tomo.voxel_size is None
    with pytest.raises(TomogramError, match="novox.mrc.*voxel size is unknown"):
        tomo.require_voxel_size()
    seen = []
    tomo.voxel_size_changed.connect(seen.append)
    tomo.voxel_size = 8.5
    assert tomo.require_voxel_size() == 8.5 and tomo.voxel_size_is_override
    for bad in (0, -3, float("nan")):
        with pytest.raises(TomogramError, match="positive"):
            tomo.voxel_size = bad
    tomo.voxel_size = None
    assert tomo.voxel_size is None and seen == [8.5, None]


def test_partially_nan_volume_opens(tmp_path, volume):
    volume[:, :10] = np.nan
    tomo = Tomogram.open(write_mrc(tmp_path / "somenan.mrc", volume))
    assert np.isnan(tomo.slice(0)).any()


# ------------------------------------------------------------------ bad files
def _bad(path, pattern):
    with pytest.raises(TomogramError, match=pattern) as info:
        Tomogram.open(path)
    assert str(path.name) in str(info.value)  # every message names the file
    return str(info.value)


def test_missing_file_and_folder(tmp_path):
    _bad(tmp_path / "nothere.mrc", "file not found")
    (tmp_path / "dir.mrc").mkdir()
    _bad(tmp_path / "dir.mrc", "is a folder")


def test_text_file_is_not_an_mrc(tmp_path):
    path = tmp_path / "notes.mrc"
    path.write_text("these are my notes, not a tomogram")
    _bad(path, "not an MRC file.*too small")


def test_garbage_bytes_are_not_an_mrc(tmp_path):
    path = tmp_path / "garbage.mrc"
    path.write_bytes(np.random.default_rng(1).integers(0, 256, 8000, dtype=np.uint8).tobytes())
    _bad(path, "not an MRC file")


def test_truncated_file_says_how_much_is_missing(mrc_path):
    full = mrc_path.read_bytes()
    mrc_path.write_bytes(full[: len(full) - 5000])
    message = _bad(mrc_path, "truncated")
    assert "12x40x48" in message and "float32" in message


def test_truncated_gzip_file(tmp_path, volume):
    path = write_mrc(tmp_path / "t.mrc.gz", volume)
    path.write_bytes(path.read_bytes()[:-3000])
    _bad(path, "truncated|cannot be read")


def test_complex_mode_is_rejected(tmp_path):
    path = write_mrc(tmp_path / "fft.mrc", np.zeros((2, 4, 4), np.complex64))
    _bad(path, "complex")


def test_unsupported_mode_number(mrc_path):
    raw = bytearray(mrc_path.read_bytes())
    raw[12:16] = struct.pack("<i", 7)  # mode 7 does not exist
    mrc_path.write_bytes(bytes(raw))
    _bad(mrc_path, "mode")


def test_zero_size_volume(mrc_path):
    raw = bytearray(mrc_path.read_bytes())
    raw[8:12] = struct.pack("<i", 0)  # nz = 0
    mrc_path.write_bytes(bytes(raw))
    _bad(mrc_path, "no voxels")


def test_all_nan_volume(tmp_path):
    _bad(write_mrc(tmp_path / "nan.mrc", np.full((5, 8, 8), np.nan, np.float32)), "only NaN")


def test_volume_stack_is_rejected(tmp_path):
    path = tmp_path / "stack.mrc"
    with mrcfile.new(path) as mrc:
        mrc.set_data(np.zeros((2, 3, 4, 4), np.float32))
    _bad(path, "stack of 2 volumes")


def test_suffixes():
    assert is_volume_path("a/b/T1.MRC") and is_volume_path("x.rec") and is_volume_path("y.mrc.gz")
    assert not is_volume_path("notes.txt")


# ------------------------------------------------------------ memory mapping
def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc for memory use")
def test_four_gigabyte_tomogram_opens_without_reading_it(tmp_path):
    """A sparse 4 GiB file: opening and showing a slice must cost megabytes, not gigabytes."""
    nz, ny, nx = 1024, 1024, 1024
    path = tmp_path / "huge.mrc"
    with mrcfile.new(path) as mrc:  # a header for the big shape, then a sparse data block
        mrc.set_data(np.zeros((1, 1, 1), np.float32))
        mrc.header.nx, mrc.header.ny, mrc.header.nz = nx, ny, nz
        mrc.header.mx, mrc.header.my, mrc.header.mz = nx, ny, nz
        mrc.voxel_size = 7.0
    with open(path, "r+b") as f:
        f.truncate(1024 + nz * ny * nx * 4)
    before = _rss_bytes()
    started = time.perf_counter()
    tomo = Tomogram.open(path)
    opened = time.perf_counter() - started
    tomo.slice(17)
    grew = _rss_bytes() - before
    assert tomo.shape == (nz, ny, nx) and tomo.nbytes == 4 * 2**30
    assert grew < 64 * 2**20, f"opening a 4 GiB file grew memory by {grew / 2**20:.0f} MiB"
    print(f"opened 4 GiB in {opened * 1000:.1f} ms, memory grew {grew / 2**20:.1f} MiB")


def test_real_hiv_tomogram():
    tomo = Tomogram.open(shared_file("hiv_vlp_40A/tomogram.mrc"))
    assert tomo.shape == (101, 135, 135)
    assert tomo.voxel_size == pytest.approx(40, rel=0.01)
    assert np.isfinite(tomo.slice(50)).all()
