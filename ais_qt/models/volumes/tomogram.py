"""A tomogram: a (Z, Y, X) volume opened memory-mapped from an MRC file, with its voxel size.

Opening never reads the voxel data (a 4 GB file opens instantly and costs no memory until
slices are read); only one slice is touched to reject all-NaN volumes. Compressed files
(.mrc.gz, .mrc.bz2) cannot be memory-mapped and are decompressed into memory instead.
"""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path

import mrcfile
import mrcfile.dtypes
import numpy as np
from psygnal import Signal

from ais_qt.models.errors import TomogramError
from ais_qt.models.paths import long_path
from ais_qt.models.volumes.volume_writer import Grid, is_unsigned_bytes

#: Suffixes offered in file dialogs and accepted by drag and drop.
VOLUME_SUFFIXES = (".mrc", ".rec", ".map", ".st", ".ali", ".mrc.gz", ".rec.gz", ".map.gz", ".mrc.bz2")

_COMPRESSED_MAGIC = (b"\x1f\x8b", b"BZh")  # gzip, bzip2
# MRC mode -> (name, bytes per voxel), for messages about truncated files.
_MODES = {0: ("int8", 1), 1: ("int16", 2), 2: ("float32", 4), 3: ("complex int16", 4),
          4: ("complex float32", 8), 6: ("uint16", 2), 12: ("float16", 2), 101: ("4-bit", 0.5)}


def shape_text(shape) -> str:
    """(40, 512, 512) -> '40 × 512 × 512' (Z × Y × X), for messages and lists."""
    return " × ".join(str(n) for n in shape)


def is_volume_path(path: str | Path) -> bool:
    name = str(path).lower()
    return any(name.endswith(s) for s in VOLUME_SUFFIXES)


class Tomogram:
    """Read-only access to one volume, arrays indexed (Z, Y, X), voxel size in Å."""

    voxel_size_changed = Signal(object)  # new voxel size in Å, or None when unknown

    def __init__(self, data: np.ndarray, path: Path | None = None, name: str | None = None,
                 header_voxel_size: float | None = None, _mrc=None, header_grid: Grid | None = None):
        if data.ndim == 2:
            data = data[np.newaxis]
        self._data = data
        self._mrc = _mrc  # keeps the memory map alive
        self.path = path
        self.name = name or (path.name if path else "untitled")
        self.header_voxel_size = header_voxel_size
        self._header_grid = header_grid or Grid()  # origin and start indices from the header
        self._voxel_size_override: float | None = None

    # ----------------------------------------------------------------- opening
    @classmethod
    def open(cls, path: str | os.PathLike) -> Tomogram:
        """Open an MRC-family file; raise TomogramError with a readable reason on any problem."""
        path = Path(path)
        if not path.exists():
            raise TomogramError(path, "file not found")
        if path.is_dir():
            raise TomogramError(path, "is a folder, not a volume file")
        try:
            with open(path, "rb") as f:
                magic = f.read(3)
        except OSError as e:
            raise TomogramError(path, f"cannot be read ({e.strerror})") from e
        compressed = magic.startswith(_COMPRESSED_MAGIC)
        try:
            with warnings.catch_warnings():  # mrcfile's own warnings (NaNs, padding) are not the user's problem
                warnings.simplefilter("ignore", RuntimeWarning)
                mrc = (mrcfile.open if compressed else mrcfile.mmap)(long_path(path), mode="r", permissive=False)
        except (ValueError, EOFError, OSError) as e:
            raise TomogramError(path, _explain_mrc_error(path, e, compressed)) from e
        problem = _unusable_data(mrc)
        if problem:
            mrc.close()
            raise TomogramError(path, problem)
        data = mrc.data.view(np.uint8) if is_unsigned_bytes(mrc.header) else mrc.data
        tomo = cls(data, path=path, header_voxel_size=_header_voxel_size(mrc), _mrc=mrc,
                   header_grid=Grid.of_header(mrc.header))
        try:
            tomo._reject_all_nan()
        except TomogramError:
            tomo.close()
            raise
        return tomo

    @classmethod
    def from_array(cls, data: np.ndarray, voxel_size: float | None = None, name: str = "array") -> Tomogram:
        return cls(np.asarray(data), name=name, header_voxel_size=voxel_size)

    def close(self) -> None:
        if self._mrc is not None:
            self._mrc.close()
            self._mrc = None

    # ------------------------------------------------------------- properties
    @property
    def data(self) -> np.ndarray:
        """The whole volume (Z, Y, X); memory-mapped, so index it rather than copying it."""
        return self._data

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(int(n) for n in self._data.shape)

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def nbytes(self) -> int:
        return int(self._data.nbytes)

    @property
    def voxel_size(self) -> float | None:
        """Voxel size in Å: the user's override, else the header's, else None (unknown)."""
        if self._voxel_size_override is not None:
            return self._voxel_size_override
        return self.header_voxel_size

    @voxel_size.setter
    def voxel_size(self, value: float | None) -> None:
        """Override the header's voxel size; None goes back to the header's value."""
        if value is not None:
            value = float(value)
            if not math.isfinite(value) or value <= 0:
                raise TomogramError(self.path or self.name, f"voxel size must be a positive number of Å, not {value}")
        if value == self._voxel_size_override:
            return
        self._voxel_size_override = value
        self.voxel_size_changed.emit(self.voxel_size)

    @property
    def grid(self) -> Grid:
        """Voxel size (the override if any), origin and start indices: what outputs copy to lie on this volume."""
        return Grid(self.voxel_size, self._header_grid.origin, self._header_grid.start)

    @property
    def voxel_size_is_override(self) -> bool:
        return self._voxel_size_override is not None

    def require_voxel_size(self) -> float:
        """The voxel size, for computations in nm; a clear error when the header had none."""
        if self.voxel_size is None:
            raise TomogramError(self.path or self.name,
                                "voxel size is unknown (zero in the header); set it in the tomogram list")
        return self.voxel_size

    def reinterpret(self, data) -> None:
        """Read the same voxels through another view (e.g. signed bytes as unsigned); same shape."""
        if tuple(data.shape) != tuple(self._data.shape):
            raise ValueError("a reinterpreted view must keep the volume's shape")
        self._data = data

    # ------------------------------------------------------------- voxel access
    def slice(self, z: int) -> np.ndarray:
        """One XY slice as a float32 copy (reads only that slice from disk)."""
        if not 0 <= z < self.shape[0]:
            raise IndexError(f"slice {z} outside 0..{self.shape[0] - 1}")
        return np.asarray(self._data[z], dtype=np.float32)

    def value_at(self, z: int, y: int, x: int) -> float | None:
        """The raw value of one voxel, or None outside the volume."""
        nz, ny, nx = self.shape
        if 0 <= z < nz and 0 <= y < ny and 0 <= x < nx:
            return float(self._data[z, y, x])
        return None

    def _reject_all_nan(self) -> None:
        if not np.issubdtype(self.dtype, np.floating):
            return
        nz = self.shape[0]
        # The middle slice decides cheaply; only a NaN middle slice makes us look further.
        if np.isfinite(self._data[nz // 2]).any():
            return
        for z in np.linspace(0, nz - 1, min(nz, 9)).astype(int):
            if np.isfinite(self._data[z]).any():
                return
        raise TomogramError(self.path or self.name, "contains only NaN or infinite values")

    def __repr__(self) -> str:
        return f"Tomogram({self.name!r}, shape={self.shape}, voxel_size={self.voxel_size})"


def _header_voxel_size(mrc) -> float | None:
    size = float(mrc.voxel_size.x)
    return size if math.isfinite(size) and size > 0 else None


def _unusable_data(mrc) -> str | None:
    """Why an opened file's data cannot be a tomogram, or None when it can."""
    data, h = mrc.data, mrc.header
    if data is None or data.size == 0:
        return f"contains no voxels (nx, ny, nz = {int(h.nx)}, {int(h.ny)}, {int(h.nz)})"
    if data.ndim > 3:
        return f"is a stack of {data.shape[0]} volumes; open one volume at a time"
    if np.iscomplexobj(data):
        return f"holds complex numbers (mode {int(h.mode)}), which are Fourier transforms, not tomograms"
    return None


def _explain_mrc_error(path: Path, error: Exception, compressed: bool) -> str:
    """Turn mrcfile's low-level messages into a reason a user can act on."""
    text = str(error)
    size = path.stat().st_size
    if "enough bytes for MRC header" in text or size < mrcfile.dtypes.HEADER_DTYPE.itemsize:
        return f"is not an MRC file: only {size} bytes, too small for an MRC header"
    if "Map ID string not found" in text:
        return "is not an MRC file (its header lacks the 'MAP ' identifier) or its header is corrupt"
    if "mode" in text.lower() and ("unrecognised" in text.lower() or "unsupported" in text.lower()):
        return f"uses an unsupported MRC data mode ({text})"
    header = _read_header(path) if not compressed else None
    if header is not None:
        nx, ny, nz, mode = (int(header[k]) for k in ("nx", "ny", "nz", "mode"))
        if mode not in _MODES:
            return f"uses an unsupported MRC data mode ({mode})"
        if min(nx, ny, nz) <= 0:
            return f"contains no voxels (nx, ny, nz = {nx}, {ny}, {nz})"
        if "greater than file size" in text or "Expected" in text:
            mode_name, itemsize = _MODES[mode]
            expected = int(nx * ny * nz * itemsize)
            present = size - mrcfile.dtypes.HEADER_DTYPE.itemsize - int(header["nsymbt"])
            return (f"is truncated: the header describes {nz}x{ny}x{nx} voxels of {mode_name} "
                    f"({expected:,} bytes) but only {max(present, 0):,} bytes of data are present")
    if "Expected" in text:
        return f"is truncated ({text})"
    return f"cannot be read as MRC ({text})"


def _read_header(path: Path):
    try:
        raw = np.fromfile(path, dtype=mrcfile.dtypes.HEADER_DTYPE, count=1)
    except (OSError, ValueError):
        return None
    if raw.size != 1:
        return None
    header = raw[0]
    if int(header["nx"]) < 0 or abs(int(header["mode"])) > 1000:  # other byte order
        header = raw.byteswap()[0]
    return header
