"""Distances for the ruler (3D, across slices) and lengths for scale bars, in nanometres."""

from __future__ import annotations

import math
from dataclasses import dataclass

Point = tuple[float, float, float]  # z, y, x in voxels


@dataclass(frozen=True)
class Ruler:
    start: Point
    end: Point

    @property
    def voxels(self) -> float:
        return math.dist(self.start, self.end)

    def nm(self, voxel_size: float | None) -> float | None:
        """Length in nm (voxel size in Å), or None when the voxel size is unknown."""
        return self.voxels * voxel_size / 10 if voxel_size else None

    def label(self, voxel_size: float | None) -> str:
        length = self.nm(voxel_size)
        text = format_nm(length) if length is not None else f"{self.voxels:.1f} px (voxel size unknown)"
        slices = abs(round(self.end[0]) - round(self.start[0]))
        return text + (f" (across {slices} slices)" if slices else "")

    def to_list(self) -> list[float]:
        return [*self.start, *self.end]

    @classmethod
    def from_list(cls, values) -> Ruler:
        v = [float(x) for x in values]
        if len(v) != 6:
            raise ValueError(f"a ruler needs 6 numbers (z, y, x twice), not {len(v)}")
        return cls(tuple(v[:3]), tuple(v[3:]))


def format_nm(nm: float) -> str:
    if nm >= 1000:
        return f"{nm / 1000:.3g} µm"
    return f"{nm:.1f} nm" if nm < 100 else f"{nm:.0f} nm"


def nice_length(target: float) -> float:
    """The largest 1, 2 or 5 × 10^k not above ``target`` (> 0): a scale bar's length."""
    if target <= 0:
        raise ValueError("a scale bar needs a positive length")
    power = 10 ** math.floor(math.log10(target))
    return next(m * power for m in (5, 2, 1) if m * power <= target * (1 + 1e-9))
