"""How fast a big tomogram opens and shows a slice: memory-mapped (ours) vs reading it whole.

Writes a real 1 GiB float32 MRC (override with --gib) into a temporary folder, then, in one run and
alternating to share the machine's noise, times Tomogram.open + one slice against mrcfile.open
(which reads the whole file). Prints medians and the ratio.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import mrcfile
import numpy as np

from ais_qt.models.volumes.display import DisplaySettings, SliceRenderer
from ais_qt.models.volumes.tomogram import Tomogram


def write_volume(path: Path, gib: float) -> None:
    side = 1024
    nz = max(1, int(gib * 2**30 / (side * side * 4)))
    with mrcfile.new_mmap(path, shape=(nz, side, side), mrc_mode=2, overwrite=True) as mrc:
        rng = np.random.default_rng(0)
        for z in range(nz):
            mrc.data[z] = rng.standard_normal((side, side), dtype=np.float32)
        mrc.voxel_size = 10.0


def ours(path: Path) -> float:
    started = time.perf_counter()
    tomo = Tomogram.open(path)
    SliceRenderer().image(tomo, tomo.shape[0] // 2, DisplaySettings())
    elapsed = time.perf_counter() - started
    tomo.close()
    return elapsed


def read_whole(path: Path) -> float:
    started = time.perf_counter()
    with mrcfile.open(path) as mrc:
        np.asarray(mrc.data[mrc.data.shape[0] // 2], dtype=np.float32)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gib", type=float, default=1.0)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "big.mrc"
        write_volume(path, args.gib)
        a, b = [], []
        for _ in range(args.repeats):
            a.append(ours(path))
            b.append(read_whole(path))
        ma, mb = statistics.median(a), statistics.median(b)
        print(f"volume: {path.stat().st_size / 2**30:.2f} GiB")
        print(f"open + first slice, memory-mapped: median {ma * 1000:8.1f} ms")
        print(f"mrcfile.open reading the whole file: median {mb * 1000:8.1f} ms")
        print(f"speed-up: {mb / ma:.0f}x")


if __name__ == "__main__":
    main()
