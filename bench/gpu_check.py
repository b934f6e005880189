"""GPU against CPU on this machine: the default network trained for a few epochs on the built-in
sample, and two volumes segmented with it (the sample, 128 x 384 x 384, and a tomogram-sized
128 x 1024 x 1024 made by tiling the sample), on the GPU and on the CPU, each in its own process
(the CPU one with CUDA_VISIBLE_DEVICES empty). Prints training tiles/s and segmentation voxels/s,
and checks that both devices' segmentations of the same network (the GPU's) agree.
Run through bench/gpu_check.sh; ``--keep FOLDER`` keeps the networks and segmentations there.
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
VOLUMES = ("sample", "tomogram")


def tomogram_sized(sample: Path, folder: Path) -> Path:
    """The sample tiled (mirrored, so no seams) to 1024 x 1024 slices: a real tomogram's size."""
    import mrcfile
    import numpy as np

    path = folder / "tomogram_1024.mrc"
    if not path.exists():
        with mrcfile.mmap(sample, permissive=True) as mrc:
            data, voxel = np.asarray(mrc.data), mrc.voxel_size.x
        tiled = np.pad(data, ((0, 0), (0, 1024 - data.shape[1]), (0, 1024 - data.shape[2])), mode="symmetric")
        with mrcfile.new(path) as mrc:
            mrc.set_data(tiled.astype(np.float32))
            mrc.voxel_size = voxel
    return path


def train_rate(device: str, out: Path):
    """(path, tiles/s): the default network for the sample's membranes, trained here."""
    from ais_qt.models.learning.train_from_labels import train_from_labels
    from ais_qt.models.learning.training import TrainSettings
    from ais_qt.models.progress import Progress
    from ais_qt.models.volumes.sample import ensure_sample, sample_paths

    ends, batches = [], []  # perf_counter at each epoch's end; batches in the whole training

    def heard(event):
        if "epoch_end" in event:
            ends.append(time.perf_counter())
        elif "batches" in event:
            batches[:] = [event["batches"]]

    path, network = train_from_labels(ensure_sample(), sample_paths()["labels"], 1, out / "membrane.aisnet",
                                      feature="Membrane", settings=TrainSettings(epochs=EPOCHS[device]),
                                      progress=Progress(on_event=heard))
    per_epoch = batches[0] / len(ends) * network.info.training["batch_size"]
    return path, per_epoch * (len(ends) - 1) / (ends[-1] - ends[0])


def child(device: str, folder: str, model: str | None) -> None:
    import mrcfile

    from ais_qt.models.backend import device_description, keras
    from ais_qt.models.learning.architectures import ArchitectureLibrary
    from ais_qt.models.learning.network import Network
    from ais_qt.models.learning.segmentation import segment_volume
    from ais_qt.models.volumes.sample import ensure_sample

    out = Path(folder) / device
    out.mkdir(parents=True, exist_ok=True)
    path, tiles_per_s = train_rate(device, out)
    segmenting = Network.load(model or path, ArchitectureLibrary())  # both devices segment the GPU's network
    volumes = {"sample": ensure_sample(), "tomogram": tomogram_sized(ensure_sample(), Path(folder))}
    result = {"device": device_description(), "backend": keras().backend.backend(), "train_tiles_per_s": tiles_per_s,
              "engine": segmenting.engine().name, "model": str(path)}
    for name, volume in volumes.items():
        started = time.perf_counter()
        (output,) = segment_volume(volume, [segmenting], out / name, overwrite=True)
        seconds = time.perf_counter() - started
        with mrcfile.mmap(output, permissive=True) as mrc:
            result[name] = {"voxels_per_s": mrc.data.size / seconds, "seconds": seconds, "output": str(output)}
    print(json.dumps(result))


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
            command = [sys.executable, __file__, "--child", device, folder]
            if device == "cpu":
                env["JAX_PLATFORMS"] = "cpu"  # with KERAS_BACKEND=jax: no CUDA probe that only warns
                command.append(results["gpu"]["model"])
            else:
                env["AIS_QT_ENGINE"] = "keras"
            done = subprocess.run(command, env=env, capture_output=True, text=True)
            lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
            if done.returncode or not lines:
                sys.exit(f"{device} run failed:\n{done.stderr[-3000:]}")
            results[device] = json.loads(lines[-1])
            if keep:
                (Path(keep) / "results.json").write_text(json.dumps(results, indent=1))
        agree = {}
        for name in VOLUMES:
            with mrcfile.mmap(results["gpu"][name]["output"]) as a, mrcfile.mmap(results["cpu"][name]["output"]) as b:
                difference = np.abs(a.data.astype(np.int32) - b.data.astype(np.int32))
                agree[name] = f"at most {difference.max()} of 255 levels apart, {np.mean(difference > 1):.4%} of voxels > 1"
    gpu, cpu = results["gpu"], results["cpu"]
    print("| | GPU | CPU | GPU / CPU |\n|---|---|---|---|")
    print(f"| device (Keras backend) | {gpu['device']} ({gpu['backend']}) | {cpu['device']} ({cpu['backend']}) | |")
    print(f"| training, tiles/s | {gpu['train_tiles_per_s']:.0f} | {cpu['train_tiles_per_s']:.0f} | "
          f"{gpu['train_tiles_per_s'] / cpu['train_tiles_per_s']:.1f}x |")
    for name, shape in zip(VOLUMES, ("128 x 384 x 384", "128 x 1024 x 1024")):
        g, c = gpu[name]["voxels_per_s"], cpu[name]["voxels_per_s"]
        print(f"| segmentation {shape}, Mvoxels/s ({gpu['engine']} / {cpu['engine']}) | {g / 1e6:.2f} | "
              f"{c / 1e6:.2f} | {g / c:.1f}x |")
    for name in VOLUMES:
        print(f"\nthe same network's segmentations of the {name} on both: {agree[name]}")


if __name__ == "__main__":
    main()
