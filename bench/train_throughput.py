"""Training throughput per architecture on this machine: tiles per second, and the ratio to UNet.

All architectures train in one run on the same random 64 px tiles (batch 32); the first epoch
(graph tracing) is excluded from the timing.

    python bench/train_throughput.py [--tiles 512] [--epochs 2] [--tile 64]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from ais_qt.models.learning.architectures import ArchitectureLibrary
from ais_qt.models.learning.training import LOSS_FUNCTIONS, TrainSettings, _optimizer


def tiles_per_second(arch, x, y, epochs: int, batch: int) -> float:
    model = arch.create(x.shape[1])
    settings = TrainSettings()
    model.compile(optimizer=_optimizer(settings), loss=LOSS_FUNCTIONS[settings.loss])  # the default loss
    model.fit(x[:batch * 2], y[:batch * 2], batch_size=batch, epochs=1, verbose=0)  # trace and warm up
    started = time.perf_counter()
    model.fit(x, y, batch_size=batch, epochs=epochs, verbose=0)
    return len(x) * epochs / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiles", type=int, default=512)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--tile", type=int, default=64)
    parser.add_argument("--batch", type=int, default=32)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.tiles, args.tile, args.tile, 1)).astype(np.float32)
    y = (rng.random((args.tiles, args.tile, args.tile, 1)) > 0.9).astype(np.float32)
    library = ArchitectureLibrary()
    results = {}
    for arch in library:
        # Pix2pix is timed on its generator's supervised step; its adversarial loop adds the discriminator.
        results[arch.title] = (tiles_per_second(arch, x, y, args.epochs, args.batch), arch.create(args.tile).count_params())
        print(f"  {arch.title:15s} {results[arch.title][0]:8.1f} tiles/s", flush=True)
    base = results["UNet"][0]
    print(f"\n{args.tile} px tiles, batch {args.batch}, {args.tiles} tiles x {args.epochs} epochs, CPU/GPU as found")
    print(f"{'architecture':15s} {'parameters':>11s} {'tiles/s':>9s} {'vs UNet':>8s}")
    for title, (rate, params) in results.items():
        print(f"{title:15s} {params:>11,d} {rate:9.1f} {rate / base:7.2f}x")


if __name__ == "__main__":
    main()
