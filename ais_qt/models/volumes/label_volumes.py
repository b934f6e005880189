"""Label volumes from other tools (IMOD, Amira, ...) as annotations, and annotations as label volumes."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ais_qt.models.errors import AisError
from ais_qt.models.volumes.tomogram import Tomogram, shape_text
from ais_qt.models.volumes.volume_writer import Grid, new_volume


def read_label_slices(path: str | os.PathLike, shape: tuple[int, int, int], value: int | Sequence[int],
                      slices: list[int] | None = None) -> dict[int, np.ndarray]:
    """Masks (labels == value, or any of several values) per slice, for the chosen slices or every
    slice holding the value(s).

    Reads the volume slice by slice (memory-mapped), so a big label volume costs little memory.
    """
    labels = Tomogram.open(path)
    try:
        if labels.shape != tuple(shape):
            raise AisError(path, f"shape {shape_text(labels.shape)} does not match the tomogram's {shape_text(shape)}")
        nz = shape[0]
        if slices is not None:
            bad = [z for z in slices if not 0 <= z < nz]
            if bad:
                raise AisError(path, f"slices {bad} are outside 0..{nz - 1}")
        values = sorted({int(v) for v in np.atleast_1d(value)})
        masks = {}
        for z in (range(nz) if slices is None else sorted(set(slices))):
            mask = np.isin(np.asarray(labels.data[z]), values)
            if mask.any() or slices is not None:
                masks[z] = mask
        if not any(m.any() for m in masks.values()):
            where = "the chosen slices" if slices is not None else "the volume"
            raise AisError(path, f"has no voxels with label value {values_text(values)} in {where}")
        return masks
    finally:
        labels.close()


def values_text(values: Sequence[int]) -> str:
    return ", ".join(str(v) for v in values)


def write_label_volume(masks: dict[int, np.ndarray], shape: tuple[int, int, int],
                       grid: Grid, path: str | os.PathLike, value: int = 1) -> Path:
    """A uint8 .mrc on the tomogram's grid: ``value`` on the masks' slices where they are set, 0 elsewhere.
    (Label values are small, so every reader takes these bytes the same, signed or not.)

    ``masks`` (z -> bool slice) is a snapshot, e.g. Annotation.copy_masks(feature_id), so this can
    run in the background while the user goes on annotating.
    """
    path = Path(path)
    with new_volume(path, shape, grid, "uint8") as volume:
        for z, mask in masks.items():
            volume[z] = np.where(mask, value, 0)
    return path


def parse_slices(text: str) -> list[int] | None:
    """"10, 40, 80-85" -> [10, 40, 80, ..., 85]; "" or "all" -> None (every labelled slice)."""
    text = text.strip().lower()
    if text in ("", "all"):
        return None
    return parse_numbers(text, "slice number")


def parse_numbers(text: str, noun: str) -> list[int]:
    """"4, 6-8" -> [4, 6, 7, 8] (sorted, each once); ``noun`` names one item in error messages."""
    numbers: set[int] = set()
    for part in text.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        bounds = part.split("-")
        if len(bounds) > 2 or not all(b.strip().isdigit() for b in bounds):
            raise AisError(None, f"'{part}' is not a {noun} or range (e.g. 10, 40, 80-85)")
        lo, hi = sorted(int(b) for b in bounds) if len(bounds) == 2 else (int(bounds[0]),) * 2
        numbers.update(range(lo, hi + 1))
    if not numbers:
        raise AisError(None, f"'{text}' names no {noun}")
    return sorted(numbers)
