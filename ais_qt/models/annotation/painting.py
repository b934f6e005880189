"""Raster operations on one slice's boolean mask: brush segments, flood fill, polygon fill.

Each returns the rectangle it touched as (y0, y1, x0, x1), so callers update only that much.
Coordinates are (x, y) in pixels of the full-resolution slice, floats allowed.
"""

from __future__ import annotations

import numpy as np
from skimage import draw
from skimage.segmentation import flood

Rect = tuple[int, int, int, int]  # y0, y1, x0, x1 (end exclusive)


def union(a: Rect | None, b: Rect | None) -> Rect | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), max(a[3], b[3])


def segment_rect(shape, p0, p1, radius: float) -> Rect | None:
    ny, nx = shape
    x0 = max(int(np.floor(min(p0[0], p1[0]) - radius)), 0)
    x1 = min(int(np.ceil(max(p0[0], p1[0]) + radius)) + 1, nx)
    y0 = max(int(np.floor(min(p0[1], p1[1]) - radius)), 0)
    y1 = min(int(np.ceil(max(p0[1], p1[1]) + radius)) + 1, ny)
    return (y0, y1, x0, x1) if x1 > x0 and y1 > y0 else None


def stamp_segment(mask: np.ndarray, p0, p1, radius: float, value: bool) -> Rect | None:
    """Paint the capsule swept by a round brush moving from p0 to p1 (no gaps between mouse events).

    A pixel is painted when its centre lies within ``radius`` of the segment.
    """
    rect = segment_rect(mask.shape, p0, p1, radius)
    if rect is None:
        return None
    y0, y1, x0, x1 = rect
    ys = np.arange(y0, y1, dtype=np.float32)[:, None] + 0.5
    xs = np.arange(x0, x1, dtype=np.float32)[None, :] + 0.5
    ax, ay = float(p0[0]), float(p0[1])
    dx, dy = float(p1[0]) - ax, float(p1[1]) - ay
    length2 = dx * dx + dy * dy
    if length2 > 0:
        t = np.clip(((xs - ax) * dx + (ys - ay) * dy) / length2, 0, 1)
        px, py = xs - (ax + t * dx), ys - (ay + t * dy)
    else:
        px, py = xs - ax, ys - ay
    inside = px * px + py * py <= radius * radius
    mask[y0:y1, x0:x1][inside] = value
    return rect


def enclosed_region(mask: np.ndarray, x: float, y: float) -> np.ndarray | None:
    """The unpainted region around (x, y), when painted pixels enclose it; None when it leaks to the edge.

    Uses 4-connectivity, so a one-pixel diagonal brush line still counts as a wall.
    """
    ny, nx = mask.shape
    col, row = int(x), int(y)
    if not (0 <= row < ny and 0 <= col < nx) or mask[row, col]:
        return None
    region = flood(mask, (row, col), connectivity=1)
    if region[0].any() or region[-1].any() or region[:, 0].any() or region[:, -1].any():
        return None
    return region


def polygon_region(shape, points) -> np.ndarray:
    """Pixels whose centres fall inside the polygon given by (x, y) points."""
    pts = np.asarray(points, dtype=float)
    region = np.zeros(shape, bool)
    if len(pts) >= 3:
        rows, cols = draw.polygon(pts[:, 1] - 0.5, pts[:, 0] - 0.5, shape=shape)
        region[rows, cols] = True
    return region


def bounding_rect(region: np.ndarray) -> Rect | None:
    rows = np.flatnonzero(region.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(region.any(axis=0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
