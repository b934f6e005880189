"""Side views (XZ, YZ) of a large memory-mapped tomogram: time per plane, cut directly and from the
binned copy, and the time to make that copy once.

    python bench/side_views.py                 # a 1 GiB int8 tomogram (256 x 2048 x 2048) in /tmp
    python bench/side_views.py --size-gib 0.25

The page cache is dropped before the direct cuts when this runs as root (echo 3 > drop_caches);
otherwise the file may be cached and the direct times are a best case.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import mrcfile
import numpy as np

from ais_qt.models.volumes.orthoslices import OrthoSlicer
from ais_qt.models.volumes.tomogram import Tomogram


def drop_caches() -> bool:
    try:
        os.sync()
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return True
    except OSError:
        return False


def make(path: Path, size_gib: float) -> None:
    side = 2048
    depth = max(16, int(size_gib * 2**30 / side / side))
    rng = np.random.default_rng(0)
    with mrcfile.new_mmap(path, shape=(depth, side, side), mrc_mode=0, overwrite=True) as mrc:
        for z in range(depth):
            mrc.data[z] = rng.integers(-100, 100, (side, side), dtype=np.int8)
        mrc.voxel_size = 10.0


def timed(fn, repeats: int = 5) -> float:
    started = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - started) / repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-gib", type=float, default=1.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "big.mrc"
        make(path, args.size_gib)
        tomo = Tomogram.open(path)
        nz, ny, nx = tomo.shape
        slicer = OrthoSlicer(tomo)
        rows = []
        data = tomo.data

        def cut(axis, index):
            return np.asarray(data[:, index, :] if axis == "xz" else data[:, :, index], np.float32)

        for axis in ("xz", "yz"):
            cold = drop_caches()
            started = time.perf_counter()
            cut(axis, ny // 3)
            rows.append((f"{axis.upper()} cut directly from the file ({'cold' if cold else 'maybe cached'})",
                         time.perf_counter() - started))
            rows.append((f"{axis.upper()} the same plane again (page cache)", timed(lambda: cut(axis, ny // 3))))
        drop_caches()
        started = time.perf_counter()
        slicer.prepare()
        rows.append((f"binned copy ({slicer.binning}x, {slicer.cache.nbytes / 2**20:.0f} MiB), made once",
                     time.perf_counter() - started))
        for axis in ("xz", "yz"):
            rows.append((f"{axis.upper()} plane from the binned copy", timed(lambda: slicer.plane(axis, ny // 2), 50)))
        tomo.close()
    print(f"{nz} x {ny} x {nx} int8 ({nz * ny * nx / 2**30:.2f} GiB), memory-mapped\n")
    print("| step | seconds |\n|---|---|")
    for name, seconds in rows:
        print(f"| {name} | {seconds:.4f} |")


if __name__ == "__main__":
    main()
