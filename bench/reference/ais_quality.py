"""Train and segment with the original Ais on the boxes Ais-Qt trained on (bench/quality.py's Ais column).

Run with Ais's interpreter:
    python ais_quality.py VOLUME.mrc BOXES.npz FEATURE SECONDS OUT_DIR
BOXES.npz holds the labelled slices (`slices`), their masks (`masks`) and the box size (`box`).
The boxes are laid as `ais-qt train` lays them (a grid over each labelled slice); each becomes an
Ais sample the way `ais extract` makes one: 128 px cut by Ais's own `extract_box`, the annotated
64 px in the middle, the margin and anything outside the volume labelled 2 (ignore). They are
written with Ais's own `write_training_set`, trained with `ais train`'s function at its defaults
(default architecture, batch 32, 8 copies, learning rate 1e-3) except the epochs, chosen so that
training takes about SECONDS (at least one), and segmented by `ais segment`'s worker.
Prints one JSON line: Dice is scored by the caller.
"""

import json
import os
import sys
import tempfile
import time

os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")  # this comparison is about the CPU

EXTRACT_SIZE = 128  # `ais extract`'s default box size
SECONDS_PER_BATCH = 7.0  # Ais's default VGGNet M, 128 px, batch 32, on 2 CPU cores (measured: 110 s per 16 batches)


def grid_centres(length, box):
    """The same centres as ais_qt.models.learning.train_from_labels.grid_centres (whole boxes, evenly spread)."""
    count = max(1, length // box)
    spare = length - count * box
    return [spare // 2 + box // 2 + i * box for i in range(count)]


def samples_for(volume, masks, slices, box, feature):
    import numpy as np
    from Ais.core.se_scnt import extract_box, make_id

    samples = []
    nz, ny, nx = volume.shape
    half, margin = EXTRACT_SIZE // 2, (EXTRACT_SIZE - box) // 2
    for mask, z in zip(masks, slices):
        padded = np.pad(mask.astype(np.float32), half)
        for y in grid_centres(ny, box):
            for x in grid_centres(nx, box):
                image, validity = extract_box(volume, int(z), y, x, EXTRACT_SIZE, 1, nz)
                label = padded[y:y + EXTRACT_SIZE, x:x + EXTRACT_SIZE].copy()
                label[validity == 0] = 2
                label[:margin], label[-margin:], label[:, :margin], label[:, -margin:] = 2, 2, 2, 2
                samples.append({"hash": make_id("bench", feature, int(z), y, x), "inputs": {"x_main": image},
                                "label": label, "source": {"aisTomogramName": "bench", "aisBoxCoordinateZ": int(z),
                                                           "aisBoxCoordinateY": y, "aisBoxCoordinateX": x,
                                                           "aisFeatureName": feature}})
    return samples


def main(volume_path, boxes_path, feature, seconds, out_dir):
    import importlib.metadata

    import mrcfile
    import numpy as np
    import Ais.core.cli_fn as cli
    from Ais.core.se_scnt import write_training_set

    boxes = np.load(boxes_path)
    with mrcfile.open(volume_path, permissive=True) as mrc:
        volume, apix = np.asarray(mrc.data), float(mrc.voxel_size.x)
    samples = samples_for(volume, boxes["masks"], boxes["slices"], int(boxes["box"]), feature)
    os.makedirs(out_dir, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        scnt = os.path.join(folder, f"{feature}.scnt")
        write_training_set(scnt, samples, apix, [feature])
        batches = -(-len(samples) // 32) * 8  # training steps x copies, as Ais counts an epoch
        epochs = max(1, round(float(seconds) / (batches * SECONDS_PER_BATCH)))
        started = time.perf_counter()
        cli.train_model(scnt, folder, epochs=epochs, batch_size=32, copies=8, gpus="", rate=1e-3, name=feature)
        train_s = time.perf_counter() - started - 10.0  # train_model sleeps 10 s after training
        model = os.path.join(folder, f"{feature}.scnm")
        started = time.perf_counter()
        cli._segmentation_thread(model, [volume_path], out_dir, "", overwrite=True, n_workers=1)
        segment_s = time.perf_counter() - started
    output = os.path.join(out_dir, os.path.splitext(os.path.basename(volume_path))[0] + f"__{feature}.mrc")
    print(json.dumps({"output": output, "train_s": train_s, "segment_s": segment_s, "epochs": epochs,
                      "samples": len(samples), "version": importlib.metadata.version("ais-cryoet")}))


if __name__ == "__main__":
    main(*sys.argv[1:6])
