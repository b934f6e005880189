"""Correct-and-retrain against annotating from scratch, as a user works on the built-in sample.

Round 0: a user paints the feature on one slice (boxes over the whole slice) and trains. Rounds 1
and 2: on a new slice they lay the same boxes, accept the network's prediction in them (Shift+A),
correct it (erase what is wrong, paint what is missing: the voxels that differ from the truth are
counted as painted), and retrain from the network's weights (Ctrl+T). Annotating those slices from
scratch would have meant painting every feature voxel in the boxes. Dice is scored at the network's
default threshold on slices at least 3 away from any labelled one.

    python bench/correct_retrain.py                 # default training settings, Membrane
    python bench/correct_retrain.py --feature Ribosome
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from ais_qt.models.learning.architectures import ArchitectureLibrary
from ais_qt.models.annotation.editing import Editor
from ais_qt.models.learning.inference import SlicePredictor, slice_statistics
from ais_qt.models.volumes.sample import ensure_sample, sample_paths
from ais_qt.models.session import Session
from ais_qt.models.volumes.tomogram import Tomogram
from ais_qt.models.learning.train_from_labels import grid_centres
from ais_qt.models.learning.training import TrainSettings, train
from ais_qt.models.learning.training_set import TrainingSetOptions, build_training_set

LABELS = {"Membrane": 1, "Microtubule": 2, "Ribosome": 4}
GAP = 3


def dice(found: np.ndarray, truth: np.ndarray) -> float:
    total = found.sum() + truth.sum()
    return float(2 * (found & truth).sum() / total) if total else 1.0


def simulate(feature: str = "Membrane", settings: TrainSettings | None = None, scored_every: int = 1,
             box: int = 64, seed: int = 1) -> dict:
    """Run round 0 and two correct-and-retrain rounds; returns Dice and painted voxels per round."""
    settings = settings or TrainSettings(seed=seed)
    paths = sample_paths()
    ensure_sample()
    labels = Tomogram.open(paths["labels"])
    truth = np.asarray(labels.data) == LABELS[feature]
    labels.close()
    session = Session()
    editor = Editor(session)
    item = session.open(paths["tomogram"])
    session.box_size = box
    target = editor.add_feature(feature)
    library = ArchitectureLibrary()
    nz, ny, nx = item.tomogram.shape
    order = [nz // 2, nz // 4, 3 * nz // 4]
    rounds, network, labelled = [], None, []

    def lay_boxes(z):
        for y in grid_centres(ny, box):
            for x in grid_centres(nx, box):
                editor.place_box(item, z, x, y)

    def in_boxes(z):
        mask = np.zeros((ny, nx), bool)
        for b in item.annotation.boxes_on(z):
            y0, y1, x0, x1 = b.rect
            mask[y0:y1, x0:x1] = True
        return mask

    def score(net):
        zs = [z for z in range(0, nz, scored_every) if min(abs(z - s) for s in order) >= GAP]
        predictor = SlicePredictor(net, library=library)
        stats = slice_statistics(net, item.tomogram)
        found = np.stack([predictor.predict(item.tomogram.slice(z), 1.0, stats) >= net.info.threshold for z in zs])
        return dice(found, truth[zs])

    for k, z in enumerate(order):
        lay_boxes(z)
        boxed = in_boxes(z)
        want = truth[z] & boxed
        if network is None:  # round 0: paint it all
            painted = int(want.sum())
        else:
            predictor = SlicePredictor(network, library=library)
            probabilities = predictor.predict(item.tomogram.slice(z), 1.0, slice_statistics(network, item.tomogram))
            editor.accept_prediction(item, z, probabilities, network.info.threshold)
            accepted = item.annotation.region(target.id, z, item.annotation.full_rect())
            painted = int((accepted ^ want).sum())  # erased + painted to make it right
        editor.set_slice_masks("correct", item, target.id, {z: want})
        labelled.append(z)
        training_set = build_training_set(session.items, session.features, TrainingSetOptions(feature, seed=seed))
        started = time.perf_counter()
        network = train(training_set, settings, library, network=network, fine_tune=network is not None)
        seconds = time.perf_counter() - started
        rounds.append({"slice": z, "painted": painted, "from_scratch": int(want.sum()), "dice": score(network),
                       "train_s": seconds, "continued": network.info.training["continued"]})
    item.tomogram.close()
    return {"feature": feature, "rounds": rounds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--feature", default="Membrane", choices=sorted(LABELS))
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    result = simulate(args.feature, seed=args.seed)
    print("| round | slice | voxels painted | painting from scratch | Dice on unseen slices | train s |")
    print("|---|---|---|---|---|---|")
    for k, r in enumerate(result["rounds"]):
        how = "annotate, train" if k == 0 else "accept, correct, retrain"
        print(f"| {k} ({how}) | {r['slice']} | {r['painted']} | {r['from_scratch']} | {r['dice']:.3f} | "
              f"{r['train_s']:.0f} |")
    later = result["rounds"][1:]
    painted, scratch = sum(r["painted"] for r in later), sum(r["from_scratch"] for r in later)
    print(f"\nrounds 1-2: {painted} voxels painted against {scratch} from scratch ({painted / max(scratch, 1):.2f}x); "
          f"Dice {result['rounds'][0]['dice']:.3f} -> {result['rounds'][-1]['dice']:.3f}")


if __name__ == "__main__":
    main()
