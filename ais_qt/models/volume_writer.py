"""Writing uint8 volumes (labels, segmentations) as .mrc, streamed slice by slice and saved atomically.

MRC mode 0 is signed by the 2014 standard; IMOD's stamp with flag bit 0 clear marks the bytes as
unsigned, which IMOD, ChimeraX and our own reader (Tomogram.open) honour. So 0..255 survive as
one byte per voxel instead of mrcfile's default of widening uint8 to uint16.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import mrcfile
import numpy as np

from ais_qt.models.atomic import atomic_path

IMOD_STAMP = 1146047817
IMOD_SIGNED_BYTES = 1  # imodFlags bit 0
_IMOD_OFFSET = 152 - 112  # imodStamp and imodFlags (header bytes 152-159) sit inside mrcfile's "extra2"


def _imod_words(header) -> np.ndarray:
    order = ">" if header.mode.dtype.byteorder == ">" else "<"
    return np.frombuffer(bytes(header.extra2), dtype=f"{order}i4", count=2, offset=_IMOD_OFFSET)


def is_unsigned_bytes(header) -> bool:
    stamp, flags = (int(v) for v in _imod_words(header))
    return int(header.mode) == 0 and stamp == IMOD_STAMP and not flags & IMOD_SIGNED_BYTES


def _mark_unsigned(header) -> None:
    extra = bytearray(bytes(header.extra2))
    extra[_IMOD_OFFSET:_IMOD_OFFSET + 8] = np.array([IMOD_STAMP, 0], "<i4").tobytes()
    header.extra2 = bytes(extra)


@contextlib.contextmanager
def uint8_volume(path: str | os.PathLike, shape: tuple[int, int, int], voxel_size: float | None) -> Iterator[np.ndarray]:
    """Yield a writable (Z, Y, X) uint8 memory map, all zeros; on success it becomes ``path``."""
    with atomic_path(path) as tmp:
        with mrcfile.new_mmap(tmp, shape=tuple(int(n) for n in shape), mrc_mode=0, overwrite=True) as mrc:
            _mark_unsigned(mrc.header)
            mrc.voxel_size = voxel_size or 0
            volume = mrc.data.view(np.uint8)
            yield volume
            # mrcfile would compute the statistics on the signed bytes; give readers the real ones.
            _write_statistics(mrc.header, volume)


def _write_statistics(header, volume: np.ndarray) -> None:
    """min, max, mean and sd slice by slice: whole-volume numpy reductions would allocate a float
    copy of the volume (8 bytes per voxel for the sd)."""
    lo, hi, total, squares = 255, 0, 0.0, 0.0
    for plane in volume:
        lo, hi = min(lo, int(plane.min())), max(hi, int(plane.max()))
        values = plane.astype(np.float64)
        total += float(values.sum())
        squares += float(np.square(values).sum())
    n = volume.size
    mean = total / n
    header.dmin, header.dmax, header.dmean = lo, hi, mean
    header.rms = float(np.sqrt(max(squares / n - mean * mean, 0.0)))
