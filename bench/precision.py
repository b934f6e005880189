"""What bfloat16 inference changes in a trained network's segmentation, against float32.

The CPU engine computes in float32 for trained networks (they fail its bfloat16 check by 1-25 output
levels, engine.py); bfloat16 is about twice as fast on CPUs that have it (bench/arithmetic.py). This
measures what that would cost a user: the same network segments the same volume once in each
precision (fresh processes, each with its own cache folder, the engine's check overruled), and the
two outputs are compared: largest difference in levels, voxels more than one level apart, voxels on
the other side of the default threshold (128), Dice of the two masks, and with ground truth given,
each one's Dice against it.

    python bench/precision.py NETWORK.aisnet TOMOGRAM.mrc [--labels LABELS.mrc --label-value 1]
                              [--slices 0:64]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def child(precision: str, network: str, tomogram: str, folder: str, roi: str | None) -> None:
    os.environ["AIS_QT_CACHE_DIR"] = str(Path(folder) / "cache")
    sys.path.insert(0, str(HERE))
    from segment import engine_in

    engine_in(precision)
    from ais_qt.models.learning.architectures import ArchitectureLibrary
    from ais_qt.models.learning.network import Network
    from ais_qt.models.learning.segmentation import segment_volume

    net = Network.load(network, ArchitectureLibrary())
    net.engine()  # converted and compiled before the clock starts
    started = time.perf_counter()
    (out,) = segment_volume(tomogram, [net], folder, overwrite=True, roi=roi)
    print(json.dumps({"output": str(out), "seconds": time.perf_counter() - started,
                      "engine": net.engine().describe()}))


def dice(a: np.ndarray, b: np.ndarray) -> float:
    total = int(a.sum()) + int(b.sum())
    return 2 * int(np.logical_and(a, b).sum()) / total if total else 1.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("network")
    parser.add_argument("tomogram")
    parser.add_argument("--labels")
    parser.add_argument("--label-value", default="1", help="one value or a comma-separated list")
    parser.add_argument("--slices", help="z range as first:last (default: all)")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    roi = f"{args.slices},:,:" if args.slices else None
    if args.child:
        child(args.child[0], args.network, args.tomogram, args.child[1], roi)
        return
    sys.path.insert(0, str(HERE))
    from runs import run_json

    from ais_qt.models.volumes.tomogram import Tomogram

    with tempfile.TemporaryDirectory() as scratch:
        runs = {}
        for precision in ("float32", "bfloat16"):
            folder = str(Path(scratch) / precision)
            runs[precision] = run_json([sys.executable, __file__, args.network, args.tomogram, "--child", precision,
                                        folder] + (["--slices", args.slices] if args.slices else []))
        # (outputs have the tomogram's shape, zero outside the slices segmented)
        z = slice(*(int(n) for n in args.slices.split(":"))) if args.slices else slice(None)
        f32, bf16 = (Tomogram.open(runs[p]["output"]).data[z].astype(np.int16) for p in ("float32", "bfloat16"))
    difference = np.abs(f32 - bf16)
    masks = f32 >= 128, bf16 >= 128
    print(f"{Path(args.network).name} on {Path(args.tomogram).name}{' ' + args.slices if args.slices else ''}, "
          f"{f32.size:,} voxels")
    print("| | float32 | bfloat16 |\n|---|---|---|")
    print(f"| engine | {runs['float32']['engine']} | {runs['bfloat16']['engine']} |")
    print(f"| seconds | {runs['float32']['seconds']:.1f} | {runs['bfloat16']['seconds']:.1f} "
          f"({runs['float32']['seconds'] / runs['bfloat16']['seconds']:.2f}x) |")
    if args.labels:
        values = [int(v) for v in args.label_value.split(",")]
        truth = np.isin(Tomogram.open(args.labels).data[z], values)
        print(f"| Dice against the labels at 128 | {dice(masks[0], truth):.4f} | {dice(masks[1], truth):.4f} |")
    print(f"\nlargest difference {int(difference.max())} of 255 levels; more than one level apart: "
          f"{(difference > 1).mean():.4%} of voxels; on the other side of 128: {(masks[0] != masks[1]).mean():.4%} "
          f"({int((masks[0] != masks[1]).sum()):,} voxels); Dice of the two masks {dice(*masks):.4f}")


if __name__ == "__main__":
    main()
