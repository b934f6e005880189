"""GPU against CPU on this machine: the default network trained for a few epochs on the built-in
sample, and the sample segmented, on the GPU and on the CPU (each in its own process, the CPU one
with CUDA_VISIBLE_DEVICES empty), printing training tiles/s and segmentation voxels/s and checking
that both devices' segmentations of the same network agree. Run through bench/gpu_check.sh;
``--keep FOLDER`` keeps the networks and segmentations there.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Tiles/s is timed from the end of the first epoch to the end of the last, leaving out building the
# model, compiling its graph and calibrating; the CPU trains two epochs, its rate is all that is compared.
EPOCHS = {"gpu": 4, "cpu": 2}


def child(device: str, folder: str, model: str | None) -> None:
    from ais_qt.models.learning.architectures import ArchitectureLibrary
    from ais_qt.models.backend import device_description
    from ais_qt.models.learning.network import Network
    from ais_qt.models.volumes.sample import ensure_sample, sample_paths
    from ais_qt.models.learning.segmentation import segment_volume
    from ais_qt.models.learning.train_from_labels import train_from_labels
    from ais_qt.models.learning.training import TrainSettings
    from ais_qt.models.progress import Progress

    sample = ensure_sample()
    labels = sample_paths()["labels"]
    out = Path(folder) / device
    out.mkdir(parents=True, exist_ok=True)
    ends, batches = [], []  # perf_counter at each epoch's end; batches in the whole training

    def heard(event):
        if "epoch_end" in event:
            ends.append(time.perf_counter())
        elif "batches" in event:
            batches[:] = [event["batches"]]

    progress = Progress(on_event=heard)
    started = time.perf_counter()
    path, network = train_from_labels(sample, labels, 1, out / "membrane.aisnet", feature="Membrane",
                                      settings=TrainSettings(epochs=EPOCHS[device]), progress=progress)
    seconds = time.perf_counter() - started
    batch_size = network.info.training["batch_size"]
    tiles_per_s = batches[0] / len(ends) * batch_size * (len(ends) - 1) / (ends[-1] - ends[0])
    segmenting = Network.load(model or path, ArchitectureLibrary())  # both devices segment the GPU's network
    started = time.perf_counter()
    (output,) = segment_volume(sample, [segmenting], out / "segmented", overwrite=True)
    segment_seconds = time.perf_counter() - started
    import mrcfile

    with mrcfile.mmap(output, permissive=True) as mrc:
        voxels = mrc.data.size
    from ais_qt.models.backend import keras

    print(json.dumps({"device": device_description(), "backend": keras().backend.backend(), "train_tiles_per_s": tiles_per_s, "train_seconds": seconds,
                      "voxels_per_s": voxels / segment_seconds, "segment_seconds": segment_seconds,
                      "engine": segmenting.engine().name, "model": str(path), "output": str(output)}))


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:4], sys.argv[4] if len(sys.argv) > 4 else None)
        return
    import mrcfile
    import numpy as np

    keep = sys.argv[sys.argv.index("--keep") + 1] if "--keep" in sys.argv else None
    with (contextlib.nullcontext(keep) if keep else tempfile.TemporaryDirectory()) as folder:
        results = {}
        for device in ("gpu", "cpu"):
            env = dict(os.environ, CUDA_VISIBLE_DEVICES="" if device == "cpu" else os.environ.get("CUDA_VISIBLE_DEVICES", "0"))
            if device == "cpu":
                env["JAX_PLATFORMS"] = "cpu"  # with KERAS_BACKEND=jax: no CUDA probe that only warns
            command = [sys.executable, __file__, "--child", device, folder]
            if device == "cpu":
                command.append(results["gpu"]["model"])
            else:
                env["AIS_QT_ENGINE"] = "keras"
            done = subprocess.run(command, env=env, capture_output=True, text=True)
            lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
            if done.returncode or not lines:
                sys.exit(f"{device} run failed:\n{done.stderr[-3000:]}")
            results[device] = json.loads(lines[-1])
        with mrcfile.mmap(results["gpu"]["output"]) as a, mrcfile.mmap(results["cpu"]["output"]) as b:
            difference = np.abs(a.data.astype(np.int32) - b.data.astype(np.int32))
            agree = f"at most {difference.max()} of 255 levels apart, {np.mean(difference > 1):.4%} of voxels > 1"
    gpu, cpu = results["gpu"], results["cpu"]
    print("| | GPU | CPU | GPU / CPU |\n|---|---|---|---|")
    print(f"| device (Keras backend) | {gpu['device']} ({gpu['backend']}) | {cpu['device']} ({cpu['backend']}) | |")
    print(f"| training, tiles/s | {gpu['train_tiles_per_s']:.0f} | {cpu['train_tiles_per_s']:.0f} | "
          f"{gpu['train_tiles_per_s'] / cpu['train_tiles_per_s']:.1f}x |")
    print(f"| segmentation, Mvoxels/s ({gpu['engine']} / {cpu['engine']}) | {gpu['voxels_per_s'] / 1e6:.2f} | "
          f"{cpu['voxels_per_s'] / 1e6:.2f} | {gpu['voxels_per_s'] / cpu['voxels_per_s']:.1f}x |")
    print(f"\nthe same network's segmentations on both: {agree}")


if __name__ == "__main__":
    main()
