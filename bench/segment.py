"""Whole-volume inference speed: voxels per second for the default UNet, our large tiles vs 64 px tiles.

Both runs segment the same synthetic volume in one process (interleaved per repeat, so both see
the same machine noise); the network is untrained (speed does not depend on the weights).
Peak memory is reported by the command-line benchmark harness, not here.

    python bench/segment.py [--shape 24,512,512] [--repeats 2]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import mrcfile
import numpy as np

from ais_qt.models.architectures import ArchitectureLibrary
from ais_qt.models.network import Network, new_info
from ais_qt.models.segmentation import segment_volume


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shape", default="24,512,512")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    shape = tuple(int(n) for n in args.shape.split(","))
    library = ArchitectureLibrary()
    arch = library.get("unet")
    network = Network(new_info("Membrane", "#e69f00", arch, {}, 64), arch.create(64))
    network.info.history = {"loss": [1.0]}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "volume.mrc"
        with mrcfile.new_mmap(path, shape=shape, mrc_mode=2) as mrc:
            for z in range(shape[0]):
                mrc.data[z] = np.random.default_rng(z).normal(size=shape[1:])
            mrc.voxel_size = 10.0
        times = {512: [], 64: []}
        for _ in range(args.repeats):
            for tile in times:
                started = time.perf_counter()
                segment_volume(path, [network], Path(folder) / f"out{tile}", overwrite=True, tile=tile,
                               library=library)
                times[tile].append(time.perf_counter() - started)
    voxels = np.prod(shape)
    big, small = statistics.median(times[512]), statistics.median(times[64])
    print(f"volume {shape}, default UNet ({network.model.count_params():,} parameters)")
    print(f"large adaptive tiles (<= 512 px): {voxels / big / 1e6:6.2f} Mvoxels/s ({big:.1f} s)")
    print(f"64 px tiles:                      {voxels / small / 1e6:6.2f} Mvoxels/s ({small:.1f} s)")
    print(f"speed-up of large tiles: {small / big:.1f}x")


if __name__ == "__main__":
    main()
