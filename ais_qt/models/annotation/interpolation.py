"""Shape-based interpolation of annotation between two slices (signed-distance blend).

Each object's mask becomes a signed distance map (negative inside, positive outside); the slices
between take the linear blend of the two maps of the same object, and whatever is below zero is
inside. A shape morphs smoothly into the other across any gap; several objects are matched and
morphed pair by pair, so they do not merge; objects on one slice only shrink away by halfway.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def signed_distance(mask: np.ndarray) -> np.ndarray:
    """Distance to the mask's edge in pixels: negative inside, positive outside.

    An empty mask is "far outside" everywhere (larger than any distance in the slice), so an object
    on the other slice shrinks to nothing over the gap instead of spreading.
    """
    mask = np.asarray(mask, bool)
    if not mask.any():
        return np.full(mask.shape, float(sum(mask.shape)), np.float32)
    if mask.all():
        return np.full(mask.shape, -float(sum(mask.shape)), np.float32)
    outside = ndimage.distance_transform_edt(~mask)
    inside = ndimage.distance_transform_edt(mask)
    # Half a pixel each way puts the zero level on the boundary between pixels, so a mask blended
    # with itself comes back unchanged.
    return np.where(mask, -(inside - 0.5), outside - 0.5).astype(np.float32)


def interpolate_masks(first: np.ndarray, last: np.ndarray, count: int) -> list[np.ndarray]:
    """The ``count`` masks strictly between ``first`` and ``last``, evenly spaced.

    Objects are matched between the two slices (most overlap first, then nearest within about two
    of their sizes); each pair morphs around its moving centroid, so an object that moved further
    than its own width between the slices is carried across instead of vanishing halfway (a plain
    blend of the two distance maps is empty where the shapes do not overlap). Unmatched objects
    shrink away by the middle of the gap.
    """
    if count <= 0:
        return []
    first, last = np.asarray(first, bool), np.asarray(last, bool)
    pairs, only_first, only_last = match_objects(first, last)
    out = [np.zeros(first.shape, bool) for _ in range(count)]
    for a, b in pairs:
        _morph_pair(a, b, out)
    for m in only_first:
        _fade(m, out, reverse=False)
    for m in only_last:
        _fade(m, out, reverse=True)
    return out


def _steps(count: int) -> list[float]:
    return [i / (count + 1) for i in range(1, count + 1)]


def _window(masks, margin: int, shape) -> tuple[slice, slice]:
    rows = np.flatnonzero(np.any(masks, axis=1))
    cols = np.flatnonzero(np.any(masks, axis=0))
    return (slice(max(rows[0] - margin, 0), min(rows[-1] + margin + 1, shape[0])),
            slice(max(cols[0] - margin, 0), min(cols[-1] + margin + 1, shape[1])))


def _morph_pair(a: np.ndarray, b: np.ndarray, out: list[np.ndarray]) -> None:
    ca, cb = np.argwhere(a).mean(axis=0), np.argwhere(b).mean(axis=0)
    window = _window(a | b, int(np.ceil(np.abs(cb - ca).max())) + 3, a.shape)
    da, db = signed_distance(a[window]), signed_distance(b[window])
    for mask, t in zip(out, _steps(len(out))):
        centre = (1 - t) * ca + t * cb
        shifted_a = ndimage.shift(da, centre - ca, order=1, mode="nearest")
        shifted_b = ndimage.shift(db, centre - cb, order=1, mode="nearest")
        mask[window] |= ((1 - t) * shifted_a + t * shifted_b) < 0


def _fade(m: np.ndarray, out: list[np.ndarray], reverse: bool) -> None:
    """An object on one slice only: eroded evenly until it is gone at the middle of the gap."""
    window = _window(m, 1, m.shape)
    d = signed_distance(m[window])
    depth = float(-d.min()) + 0.5
    for mask, t in zip(out, _steps(len(out))):
        away = 1 - t if reverse else t  # distance from the slice that has it, 0..1
        mask[window] |= (d + 2 * away * depth) < 0


def match_objects(first: np.ndarray, last: np.ndarray):
    """([(object on first, object on last)], [unmatched on first], [unmatched on last]) as masks.

    Objects overlapping most, then nearest, are the same object (about two sizes apart at most,
    unless each is the other's nearest).
    """
    la, na = ndimage.label(first)
    lb, nb = ndimage.label(last)
    if na == 0 or nb == 0:
        return [], [la == i for i in range(1, na + 1)], [lb == i for i in range(1, nb + 1)]
    overlap = np.bincount(la.ravel() * (nb + 1) + lb.ravel(), minlength=(na + 1) * (nb + 1)).reshape(na + 1, nb + 1)
    overlap = overlap[1:, 1:]
    sizes_a = np.bincount(la.ravel(), minlength=na + 1)[1:]
    sizes_b = np.bincount(lb.ravel(), minlength=nb + 1)[1:]
    ca = np.array(ndimage.center_of_mass(first, la, range(1, na + 1)))
    cb = np.array(ndimage.center_of_mass(last, lb, range(1, nb + 1)))
    # Cost: overlapping pairs first (by how much they overlap), then centroid distance in units of
    # the objects' radii; pairs further apart than about two sizes are not the same object, unless
    # each is the other's nearest (one object drawn twice, moved across the slice).
    radius = np.sqrt(sizes_a[:, None] / np.pi) + np.sqrt(sizes_b[None, :] / np.pi)
    distance = np.linalg.norm(ca[:, None, :] - cb[None, :, :], axis=2) / np.maximum(radius, 1)
    cost = np.where(overlap > 0, -overlap.astype(float), distance)
    mutual = (distance == distance.min(axis=1, keepdims=True)) & (distance == distance.min(axis=0, keepdims=True))
    used_a, used_b, pairs = set(), set(), []
    for flat in np.argsort(cost, axis=None):
        i, j = divmod(int(flat), nb)
        if i in used_a or j in used_b or (overlap[i, j] == 0 and distance[i, j] > 2 and not mutual[i, j]):
            continue
        used_a.add(i)
        used_b.add(j)
        pairs.append((la == i + 1, lb == j + 1))
    return (pairs, [la == i + 1 for i in range(na) if i not in used_a],
            [lb == j + 1 for j in range(nb) if j not in used_b])


def interpolation_partner(annotated: list[int], z: int, recent: int | None = None) -> int | None:
    """The annotated slice to interpolate towards from slice ``z``: one of its annotated neighbours
    (the nearest annotated slice below and above, so the slices between hold no annotation yet).

    The neighbour painted before this slice (``recent``) when it is one of them, else the nearer one
    that leaves a gap to fill; None when neither does.
    """
    below = [s for s in annotated if s < z]
    above = [s for s in annotated if s > z]
    neighbours = [s for s in (max(below) if below else None, min(above) if above else None)
                  if s is not None and abs(s - z) > 1]
    if recent in neighbours:
        return recent
    return min(neighbours, key=lambda s: (abs(s - z), s)) if neighbours else None
