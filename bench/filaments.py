"""Filament picking against ground truth: ../shared/data/synthetic_mixed_10A (3 microtubules, 31 actin).

The filaments are picked at the defaults from the ground-truth label volume (and, with
--segmentation, from a network's segmentation of the tomogram) and compared with the true axes.
The true axis of a filament class is taken from the label independently of the picker: the ridge of
the distance transform of the (lumen-filled: microtubules closed across the whole label, as one tube
can be labelled as two half-walls; actin closed object by object, the grooves between its subunits
closed, ridge voxels outside the label, where closing webs a bundle, left out) label, i.e. the
voxels at least as far from the surface as all their neighbours and at least 0.6 of the deepest
voxel within a typical radius (so not the bumps of a rough surface). Reported per class:
- axis distance: from each point to the true axis there (the line fitted to the ridge voxels within
  a radius of the nearest one), voxels;
- angle: between each point's Z axis and the ridge's local direction (principal axis of the ridge
  voxels within 4 radii), degrees;
- coverage: the fraction of ridge voxels within half a spacing (+1 voxel) of a point along its axis
  and within the filament's radius (+1) across it;
- split / merged: true objects (connected components of the label) traced as several filaments, and
  filaments running through several true objects.

With --ais-python, the original Ais's filament picker (`ais pick -filament`, its pick_filament: no
binning or margin, the same spacing and minimum length) runs on the same volumes, timed in the same
run, and is measured the same way.

    python bench/filaments.py [--segmentation SEG.mrc --value 2] [--spacing 4] [--ais-python ~/aisvenv/bin/python]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import mrcfile
import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from ais_qt.models.particles.centre_lines import closed, filled
from ais_qt.models.particles.filaments import FilamentPicks, FilamentSettings, pick_filaments_file
from ais_qt.models.particles.orientations import z_axis
from ais_qt.models.volumes.tomogram import Tomogram

HERE = Path(__file__).resolve().parent
SHARED = Path(os.environ.get("AIS_QT_SHARED_DATA", HERE.parents[1] / "shared" / "data")) / "synthetic_mixed_10A"
# (name, label value, hollow): a microtubule is one tube even where its label is two separate
# half-walls (one of the three here), so its reference is closed across the whole label; actin is
# solid and its filaments touch, so it is closed object by object.
CLASSES = (("microtubule", 2, True), ("actin", 3, False))
sys.path.insert(0, str(HERE))
from runs import run_json  # noqa: E402


def ridge(mask: np.ndarray, lumen_px: float, hollow: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(ridge voxels z, y, x; their distance to the surface) of each object, lumens filled and the
    grooves between subunits closed. Where closing webs touching filaments of a bundle together, the
    ridge runs through the web, outside the label: those ridge voxels are not an axis and are left out."""
    if hollow:
        mask, lumen_px = closed(mask, lumen_px), 0.0
    objects, _ = ndimage.label(mask, structure=np.ones((3, 3, 3)))
    points, radii = [], []
    for index, box in enumerate(ndimage.find_objects(objects), start=1):
        box = tuple(slice(max(s.start - 1, 0), s.stop + 1) for s in box)
        own = objects[box] == index
        solid = filled(closed(own, lumen_px))
        distance = ndimage.distance_transform_edt(solid)
        peaks = distance >= ndimage.maximum_filter(distance, size=3) - 1e-6
        # Local maxima that are deep inside (not the bumps of a rough surface): at least 0.6 of the
        # deepest voxel within a typical radius (a bundle of touching filaments is deeper where they
        # touch than along each single one, so the object's own deepest voxel would lose them).
        typical = float(np.median(distance[peaks & (distance >= 1.5)])) if (peaks & (distance >= 1.5)).any() else 1.5
        deepest = ndimage.maximum_filter(distance, size=2 * int(np.ceil(typical)) + 1)
        keep = peaks & (distance >= np.maximum(1.5, 0.6 * deepest))
        if not hollow:
            keep &= ndimage.binary_dilation(own, np.ones((3, 3, 3)))
        found = np.argwhere(keep)
        points.append(found + [s.start for s in box])
        radii.append(distance[keep])
    return np.concatenate(points), np.concatenate(radii)


def axis_distance(point: np.ndarray, axis: np.ndarray, tree: cKDTree, nearest: int, radius: float) -> float:
    """Distance from a point to the true axis: to the line through the centroid of the ridge voxels
    within a radius of the nearest one, along their principal direction. The distance to the nearest
    ridge voxel itself would add the staircase of a digitised line (up to 0.87 voxels for a point on
    the exact axis); a radius is short enough not to reach a touching neighbour's ridge."""
    neighbours = axis[tree.query_ball_point(axis[nearest], max(radius, 2.0))]
    if len(neighbours) < 3:
        return float(np.linalg.norm(point - axis[nearest]))
    centre = neighbours.mean(axis=0)
    direction = np.linalg.svd(neighbours - centre, full_matrices=False)[2][0]
    offset = point - centre
    return float(np.linalg.norm(offset - (offset @ direction) * direction))


def measure(picks, truth_mask: np.ndarray, lumen_px: float, spacing_px: float, hollow: bool = False) -> dict:
    axis, radius = ridge(truth_mask, lumen_px, hollow)
    tree = cKDTree(axis)
    _, nearest = tree.query(picks.zyx)
    distance = np.array([axis_distance(point, axis, tree, i, radius[i]) for point, i in zip(picks.zyx, nearest)])
    angles = []
    point_axes = z_axis(picks.angles)[:, ::-1] if len(picks) else np.zeros((0, 3))  # z, y, x
    for point_axis, i in zip(point_axes, nearest):
        # The direction of a digitised centre line is only defined over several voxels: within 4 radii
        # (14 voxels for actin) its staircase adds little; within 2 it added about 5° to actin's angles.
        neighbours = axis[tree.query_ball_point(axis[i], max(4 * radius[i], 4))]
        if len(neighbours) < 3:
            continue
        direction = np.linalg.svd(neighbours - neighbours.mean(axis=0), full_matrices=False)[2][0]
        angles.append(np.degrees(np.arccos(min(1.0, abs(float(point_axis @ direction))))))
    covered = np.zeros(len(axis), bool)
    if len(picks):  # within half a spacing (+1) along a point's axis, and within the filament's radius across
        reach = np.hypot(spacing_px / 2 + 1, radius.max())
        for k, voxels in enumerate(cKDTree(axis).query_ball_point(picks.zyx, reach)):
            offsets = axis[voxels] - picks.zyx[k]
            along = offsets @ point_axes[k]
            across = np.linalg.norm(offsets - along[:, None] * point_axes[k], axis=1)
            covered[np.array(voxels, int)[(np.abs(along) <= spacing_px / 2 + 1) & (across <= radius[voxels] + 1)]] = True
    objects, count = ndimage.label(truth_mask, structure=np.ones((3, 3, 3)))
    owner = objects[tuple(np.clip(np.round(axis[nearest]).astype(int), 0, np.array(truth_mask.shape) - 1).T)]
    per_filament = {f: set(owner[picks.filament == f]) - {0} for f in np.unique(picks.filament)}
    per_object = {}
    for f, objs in per_filament.items():
        for o in objs:
            per_object.setdefault(o, set()).add(f)
    return {"filaments": len(per_filament), "true objects": int(count), "points": len(picks),
            "median distance": float(np.median(distance)) if len(picks) else float("nan"),
            "median angle": float(np.median(angles)) if angles else float("nan"),
            "coverage": float(covered.mean()), "split": sum(len(v) > 1 for v in per_object.values()),
            "merged": sum(len(v) > 1 for v in per_filament.values())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--segmentation", type=Path, help="a network's segmentation of the SNR 0.5 tomogram")
    parser.add_argument("--value", type=int, help="the label value its feature is (2 microtubule, 3 actin)")
    parser.add_argument("--spacing", type=float, default=FilamentSettings().spacing_nm, help="nm between points")
    parser.add_argument("--ais-python", help="interpreter of a virtual environment with ais-cryoet installed")
    args = parser.parse_args()
    if not SHARED.exists():
        sys.exit(f"{SHARED} is absent: nothing to measure")
    labels = Tomogram.open(SHARED / "labels.mrc.gz")
    truth, voxel = np.asarray(labels.data), labels.voxel_size
    settings = FilamentSettings(spacing_nm=args.spacing)
    lumen_px, spacing_px = settings.lumen_nm * 10 / voxel, settings.spacing_nm * 10 / voxel
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name, value, hollow in CLASSES:
            if args.segmentation and args.value != value:
                continue
            mask = truth == value
            if args.segmentation:
                path, what = args.segmentation, f"{name} from {args.segmentation.name}"
            else:
                path, what = Path(folder) / f"labels__{name}.mrc", f"{name} from the labels"
                with mrcfile.new(path, overwrite=True) as mrc:
                    mrc.set_data(mask.astype(np.uint16) * 255)
                    mrc.voxel_size = voxel
            started = time.perf_counter()
            picks, _ = pick_filaments_file(path, settings)
            seconds = time.perf_counter() - started
            rows.append((f"{what}: Ais-Qt", measure(picks, mask, lumen_px, spacing_px, hollow), seconds))
            if args.ais_python:
                out = Path(folder) / f"ais_{name}.npz"
                result = run_json([args.ais_python, str(HERE / "reference" / "ais_filaments.py"), str(path),
                                   str(settings.threshold), str(settings.spacing_nm), str(settings.min_length_nm),
                                   str(out)])
                data = np.load(out)
                theirs = FilamentPicks(data["zyx"], data["angles"], data["filament"], np.full(len(data["zyx"]), np.inf))
                rows.append((f"{what}: Ais 1.2.40", measure(theirs, mask, lumen_px, spacing_px, hollow),
                             result["seconds"]))
    print("| filaments | traced / true objects | points | median axis distance (voxels) | median angle (°) | "
          "coverage | split | merged | seconds |")
    print("|---|---|---|---|---|---|---|---|---|")
    for what, m, seconds in rows:
        print(f"| {what} | {m['filaments']} / {m['true objects']} | {m['points']} | {m['median distance']:.2f} | "
              f"{m['median angle']:.1f} | {m['coverage']:.0%} | {m['split']} | {m['merged']} | {seconds:.1f} |")


if __name__ == "__main__":
    main()
