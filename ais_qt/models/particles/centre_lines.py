"""Centre lines of the objects of a 3D mask, for filament picking (models/particles/filaments.py).

Each connected object's hollow interior is filled (a microtubule wall segmented as a ring of
protofilaments becomes a rod, so its axis is the lumen's centre, not a skeleton of the wall): the
object is closed with a ball as wide as the widest lumen (gaps between protofilaments bridged) and
its holes filled in the planes across each axis, so a tube in any direction closes (objects that are
pieces of one tube's wall are closed together); bumps are smoothed away; the rod is thinned to a
one-voxel skeleton; side branches shorter than the pruning length are removed and the skeleton is
split at its junctions, branches that continue each other straight on joined again (crossing
filaments); each piece is ordered end to end.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from skimage.morphology import skeletonize

from ais_qt.models.progress import Progress

SMOOTHING = 1.5  # voxels (Gaussian sigma) of surface smoothing before thinning; keeps 7 nm actin at 10 Å
_NEIGHBOURS = np.array([(dz, dy, dx) for dz in (-1, 0, 1) for dy in (-1, 0, 1) for dx in (-1, 0, 1)
                        if (dz, dy, dx) != (0, 0, 0)])


def centre_lines(mask: np.ndarray, prune: float = 0.0, lumen: float = 0.0,
                 progress: Progress | None = None) -> list[np.ndarray]:
    """Ordered centre lines (n, 3) of every object in a 3D mask, split at junctions. Objects that
    are pieces of one tube's wall (the missing wedge often leaves a microtubule's top and bottom
    unsegmented, so its two sides come out as separate objects) are traced as that one tube."""
    progress = progress or Progress()
    objects, count = ndimage.label(mask, structure=np.ones((3, 3, 3)))
    boxes = ndimage.find_objects(objects)
    lines = []
    groups = _near_groups(boxes, lumen) if lumen >= 1 else [[i] for i in range(1, count + 1)]
    done = 0
    for group in groups:
        for solid, origin in _tubes(objects, boxes, group, lumen):
            lines += [line + origin for line in _traced(solid, prune)]
        done += len(group)
        progress.report(0.9 * done / max(count, 1), f"object {done} of {count}")
    return lines


def _near_groups(boxes: list, reach: float) -> list[list[int]]:
    """Object numbers grouped where their bounding boxes, grown by ``reach``, overlap (transitively):
    only objects that close could be pieces of one tube."""
    parent = list(range(len(boxes) + 1))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    lo = np.array([[s.start for s in b] for b in boxes]).reshape(-1, 3) - reach
    hi = np.array([[s.stop for s in b] for b in boxes]).reshape(-1, 3) + reach
    for i in range(len(boxes)):
        overlapping = np.flatnonzero(np.all((lo[i + 1:] < hi[i]) & (hi[i + 1:] > lo[i]), axis=1)) + i + 1
        for j in overlapping:
            parent[root(j + 1)] = root(i + 1)
    groups: dict[int, list[int]] = {}
    for i in range(1, len(boxes) + 1):
        groups.setdefault(root(i), []).append(i)
    return list(groups.values())


def _union_box(boxes: list, pad: int, shape: tuple) -> tuple:
    return tuple(slice(max(min(b[a].start for b in boxes) - pad, 0), min(max(b[a].stop for b in boxes) + pad, n))
                 for a, n in enumerate(shape))


def _tubes(objects: np.ndarray, boxes: list, group: list[int], lumen: float):
    """(filled solid, its box's origin) to trace for the objects of one group: each object alone,
    except objects whose closing together encloses a lumen (a void at least a quarter of the widest
    lumen deep along the joint centre line), which are one tube's wall. Which objects those are is
    found at half resolution (the closing of a whole group's box is the slow part)."""
    pad = int(np.ceil(lumen)) + 1
    if len(group) > 1:
        box = _union_box([boxes[i - 1] for i in group], pad, objects.shape)
        part = objects[box]
        for members in _enclosing(part, group, lumen):
            inner = _union_box([boxes[i - 1] for i in members], 1, objects.shape)
            union = np.isin(objects[inner], members)
            yield filled(closed(union, lumen)), np.array([s.start for s in inner])
            group = [g for g in group if g not in members]
    for index in group:  # closed() adds its own margin
        box = _union_box([boxes[index - 1]], 1, objects.shape)
        yield filled(closed(objects[box] == index, lumen)), np.array([s.start for s in box])


def _enclosing(part: np.ndarray, group: list[int], lumen: float) -> list[list[int]]:
    """Sets of objects (of ``group``, numbered in ``part``) that close together around a lumen."""
    step = 2 if lumen >= 4 else 1
    shape = [n // step * step for n in part.shape]
    coarse = part[:shape[0], :shape[1], :shape[2]]
    if step > 1:  # each 2x2x2 block: the largest object number in it, so no object vanishes
        coarse = coarse.reshape(shape[0] // 2, 2, shape[1] // 2, 2, shape[2] // 2, 2).max(axis=(1, 3, 5))
    union = np.isin(coarse, group)
    joint, count = ndimage.label(closed(union, lumen / step), structure=np.ones((3, 3, 3)))
    found, void = [], None
    for k in range(1, count + 1):
        members = [int(m) for m in np.unique(coarse[(joint == k) & union]) if m in group]
        if len(members) < 2:
            continue
        skeleton = skeletonize(_smoothed(filled(joint == k), SMOOTHING / step)).astype(bool)
        if void is None:
            void = ndimage.distance_transform_edt(~union)
        if skeleton.any() and np.median(void[skeleton]) * step >= max(2.0, lumen / 4):
            found.append(members)
    return found


def _smoothed(solid: np.ndarray, sigma: float = SMOOTHING) -> np.ndarray:
    # Bumps on the surface (subunits, noise) each grow a skeleton spur: smooth them away first.
    return ndimage.gaussian_filter(solid.astype(np.float32), sigma) > 0.5


def _traced(solid: np.ndarray, prune: float) -> list[np.ndarray]:
    """Centre lines of one filled object, in its box's coordinates."""
    solid = _smoothed(solid)
    skeleton = skeletonize(solid).astype(bool)
    radius = ndimage.distance_transform_edt(solid)
    # Centred first, so the ends are continued along the axis, then centred again.
    return [recentred(reach_ends(recentred(piece, solid, radius), solid, radius), solid, radius)
            for piece in pieces(skeleton, prune)]


def recentred(path: np.ndarray, solid: np.ndarray, radius: np.ndarray) -> np.ndarray:
    """Each point moved to the centroid of the object's cross-section through it (the voxels within
    two radii of it and less than 1.5 voxels from the plane across the path there): a thinned
    object's skeleton wanders by a voxel or two, the centroid of a cross-section does not."""
    if len(path) < 3:
        return path
    r = max(float(np.median(radius[tuple(np.clip(np.round(path).astype(int), 0, np.array(solid.shape) - 1).T)])), 1.0)
    reach = int(np.ceil(2 * r)) + 1
    window = max(2, int(r))
    out = path.copy()
    for i, point in enumerate(path):
        a, b = path[max(i - window, 0)], path[min(i + window, len(path) - 1)]
        tangent = b - a
        norm = np.linalg.norm(tangent)
        if norm < 1e-6:
            continue
        tangent /= norm
        lo = np.maximum(np.floor(point).astype(int) - reach, 0)
        hi = np.minimum(np.floor(point).astype(int) + reach + 1, solid.shape)
        voxels = np.argwhere(solid[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]]) + lo
        offsets = voxels - point
        across = np.abs(offsets @ tangent) < 1.5
        near = np.linalg.norm(offsets, axis=1) <= 2 * r
        chosen = voxels[across & near]
        if len(chosen):
            out[i] = chosen.mean(axis=0)
    return out


def reach_ends(path: np.ndarray, solid: np.ndarray, radius: np.ndarray) -> np.ndarray:
    """A skeleton path whose ends are made right: within a radius of its tips a skeleton bends into
    the corners of the object's end and stops short of it, so that much is cut off each end and the
    path is continued straight, along its direction there, to the object's surface."""
    r = float(np.median(radius[tuple(path.astype(int).T)]))
    steps = np.linalg.norm(np.diff(path, axis=0), axis=1)
    arc = np.concatenate([[0.0], np.cumsum(steps)])
    if arc[-1] <= 3 * r:
        return path
    core = path[(arc >= r) & (arc <= arc[-1] - r)]
    if len(core) < 3:
        return path
    ends = []
    for tip, inner in ((core[0], core[:max(3, int(r) + 1)]), (core[-1], core[-max(3, int(r) + 1):][::-1])):
        direction = tip - inner.mean(axis=0)
        norm = np.linalg.norm(direction)
        extension = []
        if norm > 1e-6:
            direction /= norm
            for k in range(1, int(4 * r) + 2):
                point = tip + 0.5 * k * direction
                voxel = tuple(np.round(point).astype(int))
                if any(v < 0 or v >= n for v, n in zip(voxel, solid.shape)) or not solid[voxel]:
                    break
                extension.append(point)
        ends.append(np.array(extension).reshape(-1, 3))
    return np.concatenate([ends[0][::-1], core, ends[1]])


def closed(mask: np.ndarray, radius: float) -> np.ndarray:
    """Morphological closing with a ball of ``radius`` voxels (exact, by distance transforms), in a
    margin wide enough that nothing is cut at the box's edge; the object itself is always kept."""
    if radius < 1:
        return mask
    pad = int(np.ceil(radius)) + 2
    grown = ndimage.distance_transform_edt(~np.pad(mask, pad)) <= radius
    shrunk = ndimage.distance_transform_edt(grown) > radius
    return shrunk[pad:-pad, pad:-pad, pad:-pad] | mask


def filled(mask: np.ndarray) -> np.ndarray:
    """The object with its hollow interior filled: holes closed in every plane across each axis."""
    out = mask.copy()
    for axis in range(3):
        moved = np.moveaxis(mask, axis, 0)
        target = np.moveaxis(out, axis, 0)
        for i in range(moved.shape[0]):
            if moved[i].any():
                target[i] |= ndimage.binary_fill_holes(moved[i])
    return out


def pieces(skeleton: np.ndarray, prune: float) -> list[np.ndarray]:
    """A skeleton's branches as ordered voxel paths: side branches shorter than ``prune`` removed,
    then split where three or more branches meet."""
    skeleton = skeleton.copy()
    for _ in range(10):  # pruning can expose new short ends; a few rounds settle it
        degree = _degree(skeleton)
        junctions = skeleton & (degree >= 3)
        if not junctions.any():
            break
        segments, n = ndimage.label(skeleton & ~junctions, structure=np.ones((3, 3, 3)))
        ends = skeleton & (degree == 1)
        touching = ndimage.binary_dilation(junctions, np.ones((3, 3, 3)))
        sizes = np.bincount(segments.ravel(), minlength=n + 1)
        short = [i for i in range(1, n + 1) if sizes[i] < prune and (ends & (segments == i)).any()
                 and (touching & (segments == i)).any()]
        if not short:
            break
        skeleton[np.isin(segments, short)] = False
        skeleton = skeletonize(skeleton).astype(bool)  # junction blobs left behind thin out again
    # A crossing of thick filaments thins to several junction voxels a step or two apart: they, and
    # the skeleton within two voxels of them, are one junction.
    cube = np.ones((3, 3, 3), bool)
    zone = skeleton & ndimage.binary_dilation(skeleton & (_degree(skeleton) >= 3), cube, iterations=2)
    segments, n = ndimage.label(skeleton & ~zone, structure=cube)
    paths = [p for p in (_ordered(np.argwhere(segments == i)) for i in range(1, n + 1)) if len(p) > 1]
    return _through_junctions(paths, ndimage.label(zone, structure=cube)[0])


STRAIGHT_ON = np.cos(np.radians(35))  # two branches of a junction within this of a straight line are one filament
_REACH = 8  # voxels over which a branch's direction at a junction is taken


def _through_junctions(paths: list[np.ndarray], junctions: np.ndarray) -> list[np.ndarray]:
    """Branches that meet at a junction and continue each other straight on are joined into one
    path: filaments that cross or touch are followed through the crossing, not cut into short pieces
    (which the minimum length would then drop)."""
    arms: dict[int, list[tuple[int, int, np.ndarray]]] = {}  # junction: (path, end 0/1, outward direction)
    for k, path in enumerate(paths):
        for end, (tip, inner) in enumerate(((path[0], path[min(_REACH, len(path) - 1)]),
                                            (path[-1], path[max(len(path) - 1 - _REACH, 0)]))):
            near = junctions[tuple(np.clip(tip.astype(int) + _NEIGHBOURS, 0, np.array(junctions.shape) - 1).T)]
            direction = tip - inner
            norm = np.linalg.norm(direction)
            for j in set(near[near > 0].tolist()):
                if norm > 0:
                    arms.setdefault(j, []).append((k, end, direction / norm))
    partner: dict[tuple[int, int], tuple[int, int, int]] = {}  # (path, end): (path, end, junction)
    for j, meeting in arms.items():
        pairs = sorted(((float(a[2] @ -b[2]), i, m) for i, a in enumerate(meeting) for m, b in enumerate(meeting)
                        if i < m and a[0] != b[0]), reverse=True)
        for score, i, m in pairs:
            a, b = meeting[i][:2], meeting[m][:2]
            if score < STRAIGHT_ON:
                break
            if a not in partner and b not in partner:
                partner[a], partner[b] = (*b, j), (*a, j)
    joined, used = [], set()
    for k in range(len(paths)):
        if k in used:
            continue
        # Walk back to the first path of the chain (or around a loop once), then forwards.
        start, end, seen = k, 0, {k}
        while (start, end) in partner and partner[(start, end)][0] not in seen:
            start, end = partner[(start, end)][0], 1 - partner[(start, end)][1]
            seen.add(start)
        chain, here, entered = [], start, end
        while True:
            used.add(here)
            chain.append(paths[here] if entered == 0 else paths[here][::-1])
            nxt = partner.get((here, 1 - entered))
            if nxt is None or nxt[0] in used:
                break
            bridge = np.argwhere(junctions == nxt[2]).astype(float)
            chain.append(bridge[np.argsort(np.linalg.norm(bridge - chain[-1][-1], axis=1))])
            here, entered = nxt[0], nxt[1]
        joined.append(np.concatenate(chain) if len(chain) > 1 else chain[0])
    return joined


def _degree(skeleton: np.ndarray) -> np.ndarray:
    return ndimage.convolve(skeleton.astype(np.uint8), np.ones((3, 3, 3), np.uint8), mode="constant") - skeleton


def _ordered(points: np.ndarray) -> np.ndarray:
    """The voxels of a simple path, end to end (a closed loop is opened where it starts)."""
    index = {tuple(p): i for i, p in enumerate(points)}
    neighbours = [[index[t] for t in map(tuple, p + _NEIGHBOURS) if t in index] for p in points]
    ends = [i for i, n in enumerate(neighbours) if len(n) <= 1]
    start = ends[0] if ends else 0
    order, seen = [start], {start}
    while True:
        nxt = [j for j in neighbours[order[-1]] if j not in seen]
        if not nxt:
            break
        # Prefer face neighbours over diagonal ones, so a staircase is walked step by step.
        j = min(nxt, key=lambda k: np.abs(points[k] - points[order[-1]]).sum())
        order.append(j)
        seen.add(j)
    return points[order].astype(float)
