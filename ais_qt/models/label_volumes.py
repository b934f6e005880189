"""Label volumes from other tools (IMOD, Amira, ...) as annotations, and annotations as label volumes."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ais_qt.models.annotation import Annotation
from ais_qt.models.errors import AisError
from ais_qt.models.tomogram import Tomogram
from ais_qt.models.volume_writer import uint8_volume


def read_label_slices(path: str | os.PathLike, shape: tuple[int, int, int], value: int,
                      slices: list[int] | None = None) -> dict[int, np.ndarray]:
    """Masks (labels == value) per slice, for the chosen slices or every slice holding that value.

    Reads the volume slice by slice (memory-mapped), so a big label volume costs little memory.
    """
    labels = Tomogram.open(path)
    try:
        if labels.shape != tuple(shape):
            raise AisError(path, f"shape {_fmt(labels.shape)} does not match the tomogram's {_fmt(shape)}")
        nz = shape[0]
        if slices is not None:
            bad = [z for z in slices if not 0 <= z < nz]
            if bad:
                raise AisError(path, f"slices {bad} are outside 0..{nz - 1}")
        masks = {}
        for z in (range(nz) if slices is None else sorted(set(slices))):
            mask = np.asarray(labels.data[z]) == value
            if mask.any() or slices is not None:
                masks[z] = mask
        if not any(m.any() for m in masks.values()):
            where = "the chosen slices" if slices is not None else "the volume"
            raise AisError(path, f"has no voxels with label value {value} in {where}")
        return masks
    finally:
        labels.close()


def write_label_volume(annotation: Annotation, feature_id: int, shape: tuple[int, int, int],
                       voxel_size: float | None, path: str | os.PathLike, value: int = 1) -> Path:
    """A uint8 .mrc the size of the tomogram: ``value`` where the feature is annotated, 0 elsewhere."""
    path = Path(path)
    with uint8_volume(path, shape, voxel_size) as volume:
        for z in annotation.annotated_slices(feature_id):
            volume[z] = np.where(annotation.masks[feature_id][z], value, 0)
    return path


def _fmt(shape) -> str:
    return " × ".join(str(n) for n in shape)
