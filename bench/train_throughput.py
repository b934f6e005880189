"""Training throughput: tiles per second per architecture, and against the original Ais.

1. All architectures train in this process on the same random 64 px tiles (batch 32); the first
   epoch (graph tracing) is excluded from the timing; ratios to UNet.
2. With --ais-python: Ais's own training (`ais train`'s function, its UNet M) against ours
   (`models/learning/training.py`'s `train`, our UNet with Ais's UNet M parameters, in each
   precision: float32, the default, and mixed bfloat16, which `auto` picks on CPUs with bfloat16
   instructions) on the same tiles, batch 32, each side in fresh processes, alternating. Each side
   is run with two epoch counts and the rate is the extra tiles over the extra seconds, so
   start-up, graph tracing and what either does once after training cancel out; per wall-clock
   second (each side's fastest runs, those that had both cores) and per CPU-second (which does not
   depend on how much of the cores a shared machine lent each run).

    python bench/train_throughput.py [--tiles 512] [--epochs 2] [--tile 64]
    python bench/train_throughput.py --skip-architectures --ais-python ~/aisvenv/bin/python
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from ais_qt.models.learning.architectures import ArchitectureLibrary
from ais_qt.models.backend import has_gpu
from ais_qt.models.learning.precision import training_policy
from ais_qt.models.learning.trainer import trainer_for
from ais_qt.models.learning.training import LOSS_FUNCTIONS, TrainSettings, _optimizer, train
from ais_qt.models.learning.training_set import TrainingSet

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from runs import run_json  # noqa: E402
from segment import UNET_M  # noqa: E402

SIDES = ("float32", "mixed_bfloat16")  # the precisions "auto" chooses between


def tiles_per_second(arch, x, y, epochs: int, batch: int) -> float:
    settings = TrainSettings()
    model = trainer_for(arch.create(x.shape[1]), training_policy(settings.precision, has_gpu()))  # as train() runs
    model.compile(optimizer=_optimizer(settings), loss=LOSS_FUNCTIONS[settings.loss])  # the default loss
    model.fit(x[:batch * 2], y[:batch * 2], batch_size=batch, epochs=1, verbose=0)  # trace and warm up
    started = time.perf_counter()
    model.fit(x, y, batch_size=batch, epochs=epochs, verbose=0)
    return len(x) * epochs / (time.perf_counter() - started)


def architectures(x, y, epochs: int, batch: int) -> None:
    library = ArchitectureLibrary()
    results = {}
    for arch in library:
        # Pix2pix is timed on its generator's supervised step; its adversarial loop adds the discriminator.
        results[arch.title] = (tiles_per_second(arch, x, y, epochs, batch), arch.create(x.shape[1]).count_params())
        print(f"  {arch.title:15s} {results[arch.title][0]:8.1f} tiles/s", flush=True)
    base = results["UNet"][0]
    print(f"\n{x.shape[1]} px tiles, batch {batch}, {len(x)} tiles x {epochs} epochs, CPU/GPU as found")
    print(f"{'architecture':15s} {'parameters':>11s} {'tiles/s':>9s} {'vs UNet':>8s}")
    for title, (rate, params) in results.items():
        print(f"{title:15s} {params:>11,d} {rate:9.1f} {rate / base:7.2f}x")


def worker(tiles_path: str, epochs: str, precision: str) -> None:
    """Ais-Qt's training as the app runs it, on these tiles, for this many epochs; seconds as JSON."""
    data = np.load(tiles_path)
    n = len(data["x"])
    training_set = TrainingSet(data["x"][..., None], data["y"][..., None], np.ones(n, bool), np.arange(n),
                               {"feature": "F", "normalisation": "tile"})
    settings = TrainSettings(params=dict(UNET_M), epochs=int(epochs), batch_size=32, validation_split=0.0,
                             calibrate=False, precision=precision)
    started, cpu = time.perf_counter(), time.process_time()
    network = train(training_set, settings, ArchitectureLibrary())
    print(json.dumps({"seconds": time.perf_counter() - started, "cpu_seconds": time.process_time() - cpu,
                      "epochs": int(epochs),
                      "parameters": int(network.model.count_params())}))


def against_ais(ais_python: str, x, y, low: int, high: int, repeats: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "tiles.npz"
        np.savez(path, x=x[..., 0], y=y[..., 0])
        commands = {
            **{precision: (lambda e, p=precision: [sys.executable, __file__, "--worker", str(path), str(e), p])
               for precision in SIDES},
            "ais": lambda e: [ais_python, str(HERE / "reference" / "ais_train.py"), str(path), "UNet M", str(e)],
        }
        runs = {(side, e): [] for side in commands for e in (low, high)}
        for _ in range(repeats):
            for e in (low, high):
                for side, command in commands.items():
                    runs[side, e].append(run_json(command(e)))
    tiles = (len(x) // 32) * 32 * (high - low)  # Ais drops the last partial batch; so does this count

    def rate(side: str, key: str, pick) -> float:
        return tiles / (pick(r[key] for r in runs[side, high]) - pick(r[key] for r in runs[side, low]))

    # Wall clock: each side's fastest runs, those the shared machine lent both cores to (as timeit
    # takes the fastest); CPU-seconds do not depend on that share: the median.
    wall = {side: rate(side, "seconds", min) for side in commands}
    cpu = {side: rate(side, "cpu_seconds", statistics.median) for side in commands}
    print(f"\nvs the original Ais, UNet M architecture, {x.shape[1]} px tiles, batch 32, {len(x)} tiles, "
          f"{low} and {high} epochs, {repeats} fresh runs of each, alternating")
    print(f"{'':22s} {'tiles/s':>8s} {'x Ais':>6s} {'tiles/CPU-s':>12s} {'x Ais':>6s}   (tiles/s: fastest runs)")
    default = training_policy(TrainSettings().precision, on_gpu=False) or "float32"  # on this CPU
    for side, name in [(p, f"Ais-Qt, {p}" + (" *" if p == default else "")) for p in SIDES] + [("ais", "Ais 1.2.40")]:
        print(f"{name:22s} {wall[side]:8.1f} {wall[side] / wall['ais']:5.2f}x {cpu[side]:12.2f} "
              f"{cpu[side] / cpu['ais']:5.2f}x")
    print("(* the default here; tiles per CPU-second: the work each tile costs, whatever share of the cores "
          "a shared machine gave)")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(*sys.argv[2:5])
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiles", type=int, default=512)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--tile", type=int, default=64)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--ais-python", help="the interpreter of a virtual environment with ais-cryoet installed")
    parser.add_argument("--ais-epochs", default="1,3", help="the two epoch counts of the Ais comparison")
    parser.add_argument("--repeats", type=int, default=2, help="fresh runs of each side and epoch count")
    parser.add_argument("--skip-architectures", action="store_true", help="only the comparison with Ais")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.tiles, args.tile, args.tile, 1)).astype(np.float32)
    y = (rng.random((args.tiles, args.tile, args.tile, 1)) > 0.9).astype(np.float32)
    if not args.skip_architectures:
        architectures(x, y, args.epochs, args.batch)
    if args.ais_python:
        low, high = (int(e) for e in args.ais_epochs.split(","))
        against_ais(args.ais_python, x, y, low, high, args.repeats)


if __name__ == "__main__":
    main()
