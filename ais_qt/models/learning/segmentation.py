"""Whole-volume segmentation: networks applied slice by slice, interactions applied, .mrc out (0..255).

Takes paths and plain settings and returns paths, holds no global state: the GUI queue, the
command line and (later) cluster workers call the same function. Outputs are named
``<tomogram>__<feature>.mrc``, have the tomogram's shape, voxel size and origin, are encoded as
volume_writer describes (uint16 0..255 by default), and are written to a
temporary name and renamed when complete, so a cancelled or crashed run never leaves a file that
looks finished. Existing outputs are skipped unless ``overwrite``.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

import numpy as np

from ais_qt.models.atomic import remove_partials
from ais_qt.models.backend import may_have_gpu
from ais_qt.models.errors import AisError
from ais_qt.models.learning.inference import DEFAULT_TILE, SlicePredictor, slice_statistics
from ais_qt.models.learning.interactions import InteractionGraph
from ais_qt.models.progress import Progress
from ais_qt.models.volumes.tomogram import VOLUME_SUFFIXES, Tomogram, shape_text
from ais_qt.models.volumes.volume_writer import DEFAULT_DTYPE, encode, new_volume


def volume_stem(path: str | os.PathLike) -> str:
    name = Path(path).name
    for suffix in sorted(VOLUME_SUFFIXES, key=len, reverse=True):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return Path(name).stem


def safe_name(text: str) -> str:
    return re.sub(r"[^\w.-]+", "_", text).strip("_") or "feature"


def output_path(tomogram: str | os.PathLike, feature: str, folder: str | os.PathLike) -> Path:
    return Path(folder) / f"{volume_stem(tomogram)}__{safe_name(feature)}.mrc"


def split_output_name(path: str | os.PathLike) -> tuple[str, str | None]:
    """`TS_01__Ribosome.mrc` -> ("TS_01", "Ribosome"); a name not made that way -> (its stem, None)."""
    stem = volume_stem(path)
    tomogram, _, feature = stem.partition("__")
    return (tomogram, feature) if tomogram and feature else (stem, None)


def open_segmentation(path: str | os.PathLike, tomogram_shape: tuple | None = None) -> Tomogram:
    """Open a segmented volume as levels 0..255 whatever its encoding, refusing one whose shape is not
    the tomogram's.

    Mode 6 (ours and Ais's) and IMOD-flagged mode 0 read as they are; mode 0 without the flag holds
    0..255 written as bytes by a tool that did not mark them unsigned; a float volume whose maximum
    is at most 1 is a probability map (ours with --dtype float32, and other tools'), scaled on read.
    """
    volume = Tomogram.open(path)
    if tomogram_shape is not None and tuple(volume.shape) != tuple(tomogram_shape):
        volume.close()
        raise AisError(volume.path, f"is {shape_text(volume.shape)}, the tomogram is {shape_text(tomogram_shape)}: "
                                    "not its segmentation")
    data = volume.data
    if data.dtype == np.int8:
        volume.reinterpret(data.view(np.uint8))
    elif np.issubdtype(data.dtype, np.floating) and _maximum(volume) <= 1.0:
        volume.reinterpret(Scaled(data, 255.0))
    return volume


def _maximum(volume: Tomogram) -> float:
    """The header's maximum when it is plausible, else the volume's (read slice by slice)."""
    header = volume._mrc.header if volume._mrc is not None else None
    if header is not None and float(header.dmax) >= float(header.dmin) and np.isfinite(float(header.dmax)):
        return float(header.dmax)
    return max(float(np.nanmax(plane)) for plane in volume.data)


class Scaled:
    """A read-only view of a (memory-mapped) array times a factor, computed on indexing: a probability
    map read as levels 0..255 without a float copy of the whole volume."""

    def __init__(self, data, factor: float):
        self.base, self.factor = data, factor
        self.shape, self.ndim, self.dtype = data.shape, data.ndim, np.dtype(np.float32)
        self.size, self.nbytes = data.size, data.size * 4

    def __getitem__(self, key):
        return np.asarray(self.base[key], np.float32) * np.float32(self.factor)

    def __len__(self) -> int:
        return len(self.base)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __array__(self, dtype=None, copy=None):
        return self[...].astype(dtype or np.float32, copy=False)


def outputs_for(tomogram: str | os.PathLike, folder: str | os.PathLike) -> dict[str, Path]:
    """Segmentations of a tomogram already in a folder: {feature: path}, by the naming above."""
    folder, stem = Path(folder), volume_stem(tomogram)
    if not folder.is_dir():
        return {}
    return {path.name[len(stem) + 2:-4]: path for path in sorted(folder.glob(f"{stem}__*.mrc"))}


def parse_roi(text: str | None, shape: tuple[int, int, int]) -> tuple[slice, slice, slice]:
    """'z0:z1,y0:y1,x0:x1' (any part may be empty, e.g. '40:80,,') -> slices clipped to the volume."""
    if not text:
        return tuple(slice(0, n) for n in shape)
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 3:
        raise AisError(None, f"--roi needs three ranges z0:z1,y0:y1,x0:x1, not '{text}'")
    out = []
    for part, n, axis in zip(parts, shape, "zyx"):
        lo, _, hi = part.partition(":")
        try:
            a = int(lo) if lo.strip() else 0
            b = int(hi) if hi.strip() else n
        except ValueError:
            raise AisError(None, f"--roi: '{part}' is not a range like 10:90") from None
        a, b = max(0, a), min(n, b)
        if b <= a:
            raise AisError(None, f"--roi: the {axis} range {part} is empty for a volume of {n}")
        out.append(slice(a, b))
    return tuple(out)


def segment_volume(tomogram: str | os.PathLike, networks, folder: str | os.PathLike,
                   graph: InteractionGraph | None = None, overwrite: bool = False, roi: str | None = None,
                   tile: int = DEFAULT_TILE, library=None, progress: Progress | None = None,
                   dtype: str = DEFAULT_DTYPE, voxel_size: float | None = None, orientations: int = 1) -> list[Path]:
    """Segment one tomogram with every network; returns the output paths (written or already there).
    ``dtype`` is one of volume_writer.DTYPES; ``voxel_size`` (Å) overrides the header's;
    ``orientations`` (inference.ORIENTATIONS) > 1 averages each slice over that many orientations."""
    progress = progress or Progress()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    names = [n.info.feature for n in networks]
    if len(set(names)) != len(names):
        raise AisError(None, "two networks are for the same feature; outputs would overwrite each other")
    outputs = {n.info.feature: output_path(tomogram, n.info.feature, folder) for n in networks}
    for path in outputs.values():  # what a killed earlier run of this tomogram left half-written
        remove_partials(path)
    todo = {name: path for name, path in outputs.items() if overwrite or not path.exists()}
    if not todo:
        progress.report(1.0, f"{Path(tomogram).name}: already segmented, skipped")
        return list(outputs.values())
    volume = Tomogram.open(tomogram)
    try:
        if voxel_size is not None:
            volume.voxel_size = voxel_size
        zs, ys, xs = parse_roi(roi, volume.shape)
        predictors = {n.info.feature: SlicePredictor(n, tile=tile, library=library, orientations=orientations) for n in networks}
        on_gpu = may_have_gpu() and all(n.has_weights and n.engine().name == "keras" for n in networks)
        scales = {name: p.scale_for(volume.voxel_size) for name, p in predictors.items()}
        stats = {n.info.feature: slice_statistics(n, volume) for n in networks}
        graph = graph or InteractionGraph()
        if volume.voxel_size is None and any(e.radius_nm for e in graph.edges):  # before any output is begun
            raise AisError(volume.path, "interaction radii are in nm, and the header gives no voxel size: give it "
                                        "(--voxel-size on the command line, the tomogram list in the app)")
        with contextlib.ExitStack() as stack:
            targets = {name: stack.enter_context(new_volume(path, volume.shape, volume.grid, dtype))
                       for name, path in todo.items()}
            count = zs.stop - zs.start
            plane = (ys.stop - ys.start, xs.stop - xs.start)
            at_once = min(p.slices_at_once(plane, on_gpu, scales[name]) for name, p in predictors.items())
            for start in range(zs.start, zs.stop, at_once):
                group = range(start, min(start + at_once, zs.stop))
                images = [volume.slice(z)[ys, xs] for z in group]
                # The last group is filled up (with its last slice) so the GPU sees no new shape.
                images += images[-1:] * (at_once - len(images))
                predicted = {name: p.predict_many(images, scales[name], stats[name]) for name, p in predictors.items()}
                for k, z in enumerate(group):
                    predictions = {name: values[k] for name, values in predicted.items()}
                    for name, values in graph.apply(predictions, volume.voxel_size).items():
                        if name in targets:
                            targets[name][z, ys, xs] = encode(values, dtype)
                    progress.report((z + 1 - zs.start) / count, f"{volume.name}: slice {z + 1 - zs.start}/{count}")
    finally:
        volume.close()
    return list(outputs.values())
