"""Writing volumes (segmentations, label volumes) as .mrc on the input's grid, streamed slice by slice
and saved atomically.

Segmentations hold probability x 255 (0..255). Their default encoding is MRC mode 6 (uint16), as
the original Ais writes them: every reader takes those bytes as the same numbers (mrcfile and so
napari, Ais and most scripts; IMOD; ChimeraX). The alternatives: ``float32`` (mode 2) holds the
probabilities 0..1 themselves; ``uint8`` is mode 0 with IMOD's stamp and flag marking the bytes
unsigned, half the size of mode 6 and read right by IMOD, ChimeraX and Ais-Qt, but mrcfile follows
the 2014 standard (mode 0 is signed) and reads values above 127 as negative numbers.

Every output copies the input's voxel size, origin and start indices (nxstart...), so it lies on the
tomogram in any viewer.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass

import mrcfile
import numpy as np

from ais_qt.models.atomic import atomic_path
from ais_qt.models.errors import AisError
from ais_qt.models.paths import long_path

IMOD_STAMP = 1146047817
IMOD_SIGNED_BYTES = 1  # imodFlags bit 0
_IMOD_OFFSET = 152 - 112  # imodStamp and imodFlags (header bytes 152-159) sit inside mrcfile's "extra2"

#: Output encodings of segmentations: name -> (MRC mode, numpy dtype).
DTYPES = {"uint16": (6, np.uint16), "float32": (2, np.float32), "uint8": (0, np.uint8)}
DEFAULT_DTYPE = "uint16"
DTYPE_HELP = ("uint16: 0..255 in MRC mode 6, read the same by every tool (default); float32: probabilities 0..1; "
              "uint8: 0..255 in IMOD's unsigned mode 0, half the size, but mrcfile-based tools read it as signed")


@dataclass(frozen=True)
class Grid:
    """Where a volume's voxels lie: voxel size (Å, None when unknown), origin (x, y, z in Å) and the
    index of the first voxel (nxstart, nystart, nzstart), as in the MRC header."""

    voxel_size: float | None = None
    origin: tuple[float, float, float] = (0.0, 0.0, 0.0)
    start: tuple[int, int, int] = (0, 0, 0)

    def position_angstrom(self) -> np.ndarray:
        """x, y, z in Å of voxel (0, 0, 0), as ChimeraX places a map: the origin when one is set,
        else the start indices times the voxel size."""
        if any(self.origin):
            return np.array(self.origin, float)
        return np.array(self.start, float) * (self.voxel_size or 0.0)

    @classmethod
    def of_header(cls, header) -> Grid:
        """Origin and start indices of an MRC header (its voxel size is the Tomogram's to judge)."""
        origin = tuple(float(header.origin[axis]) for axis in ("x", "y", "z"))
        start = (int(header.nxstart), int(header.nystart), int(header.nzstart))
        return cls(None, tuple(v if np.isfinite(v) else 0.0 for v in origin), start)


def check_dtype(name: str) -> str:
    if name not in DTYPES:
        raise AisError(None, f"output type must be one of {', '.join(DTYPES)}, not '{name}'")
    return name


def encode(probabilities: np.ndarray, dtype: str) -> np.ndarray:
    """Probabilities 0..1 as stored in a segmentation of ``dtype``."""
    if dtype == "float32":
        return probabilities.astype(np.float32)
    return np.round(probabilities * 255).astype(DTYPES[dtype][1])


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
def new_volume(path: str | os.PathLike, shape: tuple[int, int, int], grid: Grid | None,
               dtype: str = "uint8") -> Iterator[np.ndarray]:
    """Yield a writable (Z, Y, X) memory map of ``dtype`` (a DTYPES name), all zeros; on success it
    becomes ``path``, with the grid's voxel size and origin and the real statistics in its header."""
    mode, numpy_type = DTYPES[check_dtype(dtype)]
    grid = grid or Grid()
    with atomic_path(path) as tmp:
        with mrcfile.new_mmap(long_path(tmp), shape=tuple(int(n) for n in shape), mrc_mode=mode, overwrite=True) as mrc:
            if mode == 0:
                _mark_unsigned(mrc.header)
            mrc.voxel_size = grid.voxel_size or 0
            mrc.header.origin = grid.origin
            mrc.header.nxstart, mrc.header.nystart, mrc.header.nzstart = grid.start
            volume = mrc.data.view(numpy_type)
            yield volume
            # mrcfile would compute the statistics on signed bytes (mode 0) and in memory; give
            # readers the real ones, a slice at a time.
            _write_statistics(mrc.header, volume)


def _write_statistics(header, volume: np.ndarray) -> None:
    """min, max, mean and sd slice by slice: whole-volume numpy reductions would allocate a float
    copy of the volume (8 bytes per voxel for the sd)."""
    lo, hi, total, squares = np.inf, -np.inf, 0.0, 0.0
    for plane in volume:
        lo, hi = min(lo, float(plane.min())), max(hi, float(plane.max()))
        values = plane.astype(np.float64)
        total += float(values.sum())
        squares += float(np.square(values).sum())
    n = volume.size
    mean = total / n
    header.dmin, header.dmax, header.dmean = lo, hi, mean
    header.rms = float(np.sqrt(max(squares / n - mean * mean, 0.0)))
