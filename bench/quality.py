"""Accuracy at the defaults, as a user works, against the original Ais and an intensity floor.

Protocol, per (volume, feature) row: label 3 slices (about 1/4, 1/2 and 3/4 of the depth, each the
nearest slice there that shows the feature, as a user would pick them) from the ground-truth label volume, lay training boxes over them as `ais-qt train` does, train at the
default settings, segment the whole volume, and score every slice at least 3 slices away from a
labelled one. Each row is trained with two seeds; the table shows the worse (a user trains once
and must not be unlucky) and the spread.

Columns: Dice at the network's default threshold (its slider's start, 128 of 255 in written
volumes); the best Dice over all thresholds (what a perfect threshold would add); training and
segmentation seconds. The floor is the best single intensity threshold of the Gaussian-smoothed
volume (either polarity), chosen by looking at the answer.

With --ais-python, the original Ais trains on the same boxes (written as its .scnt training set by
its own code, 128 px boxes whose outer margin is its *ignore* label, as `ais extract` makes them)
with its own defaults except the epochs, which are cut to Ais-Qt's training wall-clock time, and
segments with its own code. Its results are kept in bench/results/ais_quality.json with its version
and the date, and reused by later runs (--ais-rerun to redo them).

    python bench/quality.py                      # every row, 2 seeds, Ais from the results file
    python bench/quality.py --quick              # one row, few epochs: a smoke test of the bench
    python bench/quality.py --rows synthetic-0.5-membrane --ais-python ~/aisvenv/bin/python
    python bench/quality.py --set loss=bce       # a variant (marked in the table), for recipe work
    python bench/quality.py --seeds 1 --json a.json; python bench/quality.py --seeds 2 --json b.json
    python bench/quality.py --merge a.json b.json  # one table from runs made at different times
    python bench/quality.py --rows sample-microtubule --orientations 4,8  # also test-time augmentation
    python bench/quality.py --rows synthetic-0.1-microtubule --slices 14,52,113  # other labelled slices
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import mrcfile
import numpy as np
from scipy import ndimage

from ais_qt.models.volumes.sample import ensure_sample, sample_paths
from ais_qt.models.learning.segmentation import segment_volume
from ais_qt.models.volumes.tomogram import Tomogram
from ais_qt.models.learning.train_from_labels import train_from_labels
from ais_qt.models.learning.training import TrainSettings
from ais_qt.models.learning.training_set import TrainingSetOptions

HERE = Path(__file__).resolve().parent
SHARED = Path(os.environ.get("AIS_QT_SHARED_DATA", HERE.parents[1] / "shared" / "data")) / "synthetic_mixed_10A"
RESULTS = HERE / "results" / "ais_quality.json"
sys.path.insert(0, str(HERE))
from runs import run_json  # noqa: E402

GAP = 3  # scored slices are at least this far from a labelled one
SEEDS = (1, 2)


@dataclass(frozen=True)
class Row:
    name: str
    volume: Path
    labels: Path
    values: tuple[int, ...]
    feature: str
    slices: tuple[int, ...] = ()  # labelled slices chosen by hand (--slices); empty: labelled_slices' choice


def rows() -> list[Row]:
    out = []
    if SHARED.exists():
        features = (("membrane", (1,)), ("microtubule", (2,)), ("actin", (3,)), ("proteins", (4, 5, 6, 7)))
        for snr in ("0.5", "0.1"):
            for feature, values in features:
                out.append(Row(f"synthetic-{snr}-{feature}", SHARED / f"tomogram_snr{snr}.mrc",
                               SHARED / "labels.mrc.gz", values, feature.capitalize()))
    sample = sample_paths()
    for feature, value in (("Membrane", 1), ("Microtubule", 2), ("Ribosome", 4)):
        out.append(Row(f"sample-{feature.lower()}", sample["tomogram"], sample["labels"], (value,), feature))
    return out


@functools.lru_cache(maxsize=None)
def labelled_slices(row: Row) -> list[int]:
    """The slice nearest 1/4, 1/2 and 3/4 of the depth (within an eighth of it) that shows the feature.

    A user labels slices where the feature can be seen: a slice qualifies when it holds at least half
    the feature's median voxels per slice (over the slices that hold any). Membrane, actin and protein
    rows are labelled exactly at the fractions; the synthetic microtubules run obliquely and pass
    through few slices, so their rows label the nearest slices crossing them. Where no slice in the
    window qualifies, the slice at the fraction is labelled anyway (all negative). A row's own
    ``slices`` (--slices) replace the choice.
    """
    if row.slices:
        return list(row.slices)
    labels = Tomogram.open(row.labels)
    try:
        counts = np.array([np.isin(np.asarray(labels.data[z]), row.values).sum() for z in range(labels.shape[0])])
    finally:
        labels.close()
    depth, window = len(counts), len(counts) // 8
    wanted = np.median(counts[counts > 0]) / 2 if counts.any() else np.inf
    chosen = []
    for fraction in (0.25, 0.5, 0.75):
        centre = round(depth * fraction)
        near = [z for z in range(max(0, centre - window), min(depth, centre + window + 1)) if counts[z] >= wanted]
        chosen.append(min(near, key=lambda z: (abs(z - centre), -counts[z])) if near else centre)
    return chosen


def scored_slices(depth: int, labelled: list[int]) -> np.ndarray:
    z = np.arange(depth)
    return z[np.min(np.abs(z[:, None] - np.array(labelled)[None]), axis=1) >= GAP]


def truth_of(row: Row, zs: np.ndarray) -> np.ndarray:
    labels = Tomogram.open(row.labels)
    try:
        return np.isin(np.asarray(labels.data[zs]), row.values)
    finally:
        labels.close()


def dice_curve(values: np.ndarray, truth: np.ndarray, levels: int = 256) -> np.ndarray:
    """Dice of (values >= t) for every integer t in 0..levels-1, from two histograms."""
    v = np.clip(values, 0, levels - 1).astype(np.int64).ravel()
    t = truth.ravel()
    positive = np.bincount(v[t], minlength=levels)
    every = np.bincount(v, minlength=levels)
    tp = np.cumsum(positive[::-1])[::-1]  # true voxels at or above each level
    predicted = np.cumsum(every[::-1])[::-1]
    return 2 * tp / np.maximum(predicted + t.sum(), 1)


def score(segmentation: Path, truth: np.ndarray, zs: np.ndarray, threshold: int) -> tuple[float, float]:
    """(Dice at the threshold, best Dice over thresholds) on the scored slices of a 0..255 volume."""
    volume = Tomogram.open(segmentation)
    try:
        values = np.asarray(volume.data[zs], dtype=np.float32)
    finally:
        volume.close()
    if values.max() <= 1.0:  # a float probability map
        values = values * 255
    curve = dice_curve(np.round(values), truth)
    return float(curve[threshold]), float(curve[1:].max())


def intensity_floor(row: Row, truth: np.ndarray, zs: np.ndarray) -> float:
    """Best Dice of one threshold on the Gaussian-smoothed volume (σ 1.5 px), either polarity."""
    volume = Tomogram.open(row.volume)
    try:
        data = np.asarray(volume.data[zs], dtype=np.float32)
    finally:
        volume.close()
    smooth = np.stack([ndimage.gaussian_filter(s, 1.5) for s in data])
    edges = np.percentile(smooth, np.linspace(0, 100, 257)[1:-1])
    ranks = np.searchsorted(edges, smooth)  # 0..255 by quantile
    return float(max(dice_curve(ranks, truth).max(), dice_curve(255 - ranks, truth).max()))


# ------------------------------------------------------------------- Ais-Qt
def _typed(value: str, default):
    """A --set value as the type of the default it replaces (a number for a default of None: epochs)."""
    if isinstance(default, bool):
        return value.lower() in ("1", "true", "yes")
    if default is None:
        return float(value) if "." in value else int(value)
    return type(default)(value)


def ours(row: Row, seed: int, overrides: dict, folder: Path, orientations: tuple[int, ...] = ()) -> dict:
    volume = Tomogram.open(row.volume)
    depth = volume.shape[0]
    volume.close()
    labelled = labelled_slices(row)
    settings, options = TrainSettings(seed=seed), TrainingSetOptions("", seed=seed)
    for name, value in overrides.items():
        if name.startswith("param."):  # an architecture parameter, e.g. param.batch_norm=true
            settings.params[name[6:]] = value
            continue
        target = settings if hasattr(settings, name) else options
        setattr(target, name, _typed(value, getattr(target, name)))
    started = time.perf_counter()
    model, network = train_from_labels(row.volume, row.labels, list(row.values), folder / f"{row.name}-{seed}.aisnet",
                                       labelled, feature=row.feature, options=options, settings=settings)
    trained = time.perf_counter() - started
    zs = scored_slices(depth, labelled)
    truth = truth_of(row, zs)
    threshold = round(network.info.threshold * 255)
    scores = {}
    for count in (1, *orientations):  # the default, then each slice averaged over its orientations
        started = time.perf_counter()
        (output,) = segment_volume(row.volume, [network], folder / f"seg-{seed}-{count}", overwrite=True,
                                   orientations=count)
        seconds = time.perf_counter() - started
        dice, best = score(output, truth, zs, threshold)
        scores[str(count)] = {"dice": dice, "best": best, "segment_s": seconds}
    return {**scores.pop("1"), "train_s": trained, "threshold": network.info.threshold,
            "warning": network.info.metrics.get("warning"), "orientations": scores}


# ---------------------------------------------------------------------- Ais
def ais(row: Row, ais_python: str, seconds: float, folder: Path) -> dict:
    """Ais trains on the same boxes for about ``seconds`` of wall-clock time and segments."""
    volume = Tomogram.open(row.volume)
    depth, voxel = volume.shape[0], volume.voxel_size
    labelled = labelled_slices(row)
    copy = folder / f"{Path(row.volume).name.split('.')[0]}.mrc"
    with mrcfile.new(copy, overwrite=True) as mrc:  # Ais reads int8 as unsigned: give it float32
        mrc.set_data(np.asarray(volume.data, dtype=np.float32))
        mrc.voxel_size = voxel
    volume.close()
    labels = Tomogram.open(row.labels)
    masks = np.isin(np.asarray(labels.data[labelled]), row.values)
    labels.close()
    boxes = folder / "boxes.npz"
    np.savez(boxes, masks=masks, slices=np.array(labelled), box=64)
    result = run_json([ais_python, str(HERE / "reference" / "ais_quality.py"), str(copy), str(boxes), row.feature,
                       str(seconds), str(folder / "ais")])
    zs = scored_slices(depth, labelled)
    at_default, best = score(Path(result["output"]), truth_of(row, zs), zs, 128)
    return {"dice": at_default, "best": best, "train_s": result["train_s"], "segment_s": result["segment_s"],
            "epochs": result["epochs"], "version": result["version"], "date": date.today().isoformat()}


# -------------------------------------------------------------------- table
def table(results: dict, floors: dict, ais_results: dict) -> str:
    lines = ["| row | Dice @ default | spread | best Dice | train s | segment s | Ais Dice @ 128 | Ais best | "
             "Ais train s (epochs) | floor |", "|---|---|---|---|---|---|---|---|---|---|"]
    for name, runs in results.items():
        worst = min(runs, key=lambda r: r["dice"])
        spread = f"{max(r['dice'] for r in runs) - worst['dice']:.2f}" if len(runs) > 1 else "(1 seed)"
        a = ais_results.get(name)
        ais_cells = (f"{a['dice']:.2f} | {a['best']:.2f} | {a['train_s']:.0f} ({a['epochs']})" if a else "- | - | -")
        lines.append(f"| {name} | {worst['dice']:.2f} | {spread} | {min(r['best'] for r in runs):.2f} | "
                     f"{max(r['train_s'] for r in runs):.0f} | {max(r['segment_s'] for r in runs):.1f} | "
                     f"{ais_cells} | {floors[name]:.2f} |")
    return "\n".join(lines)


def orientations_table(results: dict) -> str:
    """Dice at the default threshold with each slice averaged over its orientations (test-time
    augmentation), the worse seed, and the segmentation time against one orientation."""
    counts = sorted({c for runs in results.values() for r in runs for c in r.get("orientations", {})}, key=int)
    if not counts:
        return ""
    head = " | ".join(f"{c} orientations: Dice @ default (best), segment s" for c in counts)
    lines = [f"| row | 1 orientation: Dice @ default (best), segment s | {head} |", "|---" * (2 + len(counts)) + "|"]
    for name, runs in results.items():
        cells = [f"{min(r['dice'] for r in runs):.3f} ({min(r['best'] for r in runs):.3f}), "
                 f"{max(r['segment_s'] for r in runs):.1f}"]
        for c in counts:
            kept = [r["orientations"][c] for r in runs if c in r.get("orientations", {})]
            cells.append(f"{min(k['dice'] for k in kept):.3f} ({min(k['best'] for k in kept):.3f}), "
                         f"{max(k['segment_s'] for k in kept):.1f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def print_merged(paths: list[Path]) -> None:
    """One table from several runs (the same rows, other seeds), with the kept Ais results."""
    results, floors = {}, {}
    for path in paths:
        run = json.loads(path.read_text())
        if run.get("overrides"):
            print(f"{path}: variant {run['overrides']} (not the defaults)")
        if run.get("slices"):
            print(f"{path}: slices {run['slices']} labelled (not the protocol's)")
        for name, runs in run["results"].items():
            results.setdefault(name, []).extend(runs)
        floors.update(run["floors"])
    print_tables(results, floors, json.loads(RESULTS.read_text()) if RESULTS.exists() else {})


def print_tables(results: dict, floors: dict, kept: dict) -> None:
    """The accuracy table (with the kept Ais results of its rows) and, when measured, the orientations'."""
    print(table(results, floors, {k: v for k, v in kept.items() if k in results}))
    averaged = orientations_table(results)
    if averaged:
        print()
        print(averaged)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", help="comma-separated row names (default: all; see --list)")
    parser.add_argument("--list", action="store_true", help="list the rows and exit")
    parser.add_argument("--seeds", default=",".join(map(str, SEEDS)), help="training seeds, one training each "
                        "(default 1,2)")
    parser.add_argument("--quick", action="store_true", help="one row, one seed, 2 epochs: smoke-tests the bench")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="change a training default (a variant, marked in the output)")
    parser.add_argument("--ais-python", help="interpreter of a virtual environment with ais-cryoet installed")
    parser.add_argument("--ais-rerun", action="store_true", help="run Ais again even where results are kept")
    parser.add_argument("--ais-seconds", type=float, help="only run Ais, with this training time (Ais-Qt's, "
                                                          "measured earlier) instead of training Ais-Qt first")
    parser.add_argument("--slices", metavar="Z,Z,...",
                        help="label these slices instead of the protocol's three (a variant, marked in the output)")
    parser.add_argument("--orientations", default="", metavar="N,N",
                        help="also segment with each slice averaged over N orientations (4, 8: test-time "
                             "augmentation) and print their Dice and time")
    parser.add_argument("--json", type=Path, help="also write every number to this file")
    parser.add_argument("--merge", type=Path, nargs="+", metavar="JSON",
                        help="only print the table of earlier runs' --json files together (e.g. one per seed)")
    args = parser.parse_args()
    if args.merge:
        print_merged(args.merge)
        return
    ensure_sample()
    available = rows()
    if args.list:
        print("\n".join(r.name for r in available))
        return
    chosen = available
    if args.rows:
        wanted = args.rows.split(",")
        chosen = [r for r in available if r.name in wanted]
        missing = set(wanted) - {r.name for r in chosen}
        if missing:
            sys.exit(f"unknown or unavailable rows: {', '.join(sorted(missing))}")
    if args.slices:
        chosen = [dataclasses.replace(r, slices=tuple(int(z) for z in args.slices.split(","))) for r in chosen]
        print(f"variant: slices {args.slices} labelled (not the protocol's)")
    overrides = dict(item.split("=", 1) for item in args.set)
    seeds = tuple(int(s) for s in args.seeds.split(","))
    averaged = tuple(int(c) for c in args.orientations.split(",") if c)
    if args.quick:
        chosen, seeds = chosen[-1:], seeds[:1]
        overrides.setdefault("epochs", "2")
        overrides.setdefault("auto_steps", "20")
    if overrides:
        print(f"variant: {', '.join(f'{k}={v}' for k, v in overrides.items())} (not the defaults)")
    kept = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results, floors = {}, {}
    for row in chosen:
        with tempfile.TemporaryDirectory() as folder:
            results[row.name] = [] if args.ais_seconds else [ours(row, seed, overrides, Path(folder), averaged)
                                                          for seed in seeds]
            volume = Tomogram.open(row.volume)
            depth = volume.shape[0]
            volume.close()
            zs = scored_slices(depth, labelled_slices(row))
            floors[row.name] = intensity_floor(row, truth_of(row, zs), zs)
            if args.ais_python and (args.ais_rerun or row.name not in kept):
                budget = args.ais_seconds or max(r["train_s"] for r in results[row.name])
                kept[row.name] = ais(row, args.ais_python, budget, Path(folder))
                RESULTS.parent.mkdir(exist_ok=True)
                RESULTS.write_text(json.dumps(kept, indent=1))
        for r in results[row.name]:
            note = f"; {r['warning']}" if r.get("warning") else ""
            print(f"{row.name}: Dice {r['dice']:.3f} at {r['threshold']:.2f}, best {r['best']:.3f}, "
                  f"{r['train_s']:.0f} s training, {r['segment_s']:.1f} s segmenting{note}", flush=True)
    if args.ais_seconds:
        for name in results:
            a = kept[name]
            print(f"{name}: Ais Dice {a['dice']:.3f} at 128, best {a['best']:.3f}, {a['train_s']:.0f} s training "
                  f"({a['epochs']} epochs), {a['segment_s']:.0f} s segmenting; floor {floors[name]:.3f}")
        return
    print()
    print_tables(results, floors, kept)
    if args.json:
        args.json.write_text(json.dumps({"results": results, "floors": floors, "overrides": overrides,
                                          "slices": args.slices}, indent=1))


if __name__ == "__main__":
    main()
