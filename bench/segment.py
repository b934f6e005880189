"""Whole-volume inference speed, printed as ratios measured in one run.

1. The default UNet on our large adaptive tiles vs 64 px tiles (in this process, interleaved).
2. With --ais-python: the original Ais (PyPI ais-cryoet, its own virtual environment, see
   bench/reference/README.md) against us on the same volume and the same architecture (Ais's
   "UNet M": depth 4, 32 filters, batch normalisation). Each side runs in a fresh process per
   repeat, alternating, and reports the seconds of its segmentation call and its peak memory.

Networks are untrained: speed does not depend on the weights, but the engine's precision does.
Trained networks fail its bfloat16 check against Keras (1 to 13 output levels off on the check
tiles, against 0.2-0.3 for untrained ones), so by default the engine is made to compute in float32
here, as it does for them; ``--precision checked`` lets the check decide (bfloat16 for these
untrained networks on CPUs that have it). The runs use a cache folder of their own.

    python bench/segment.py [--shape 24,512,512] [--repeats 2] [--ais-python ~/aisvenv/bin/python]
                            [--precision float32|checked]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import mrcfile
import numpy as np

from ais_qt.models.learning.architectures import ArchitectureLibrary
from ais_qt.models.learning.inference import DEFAULT_TILE
from ais_qt.models.learning.network import Network, new_info
from ais_qt.models.learning.segmentation import segment_volume

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from runs import peak_mib, run_json  # noqa: E402

UNET_M = {"depth": 4, "filters": 32, "batch_norm": True}  # Ais's UNet M, in our UNet's parameters


def engine_in(precision: str = "float32") -> None:
    """Make the engine's check choose this precision: float32, as it does for trained networks, or
    bfloat16. The verdict is kept in the cache folder, so worker processes that share it compute in
    that precision too."""
    from ais_qt.models.learning import engine

    engine._check = lambda model, reduced, in_float32: {"precision": precision}


def make_network(library, params: dict) -> Network:
    arch = library.get("unet")
    network = Network(new_info("Membrane", "#e69f00", arch, params, 64), arch.create(64, params))
    network.info.history = {"loss": [1.0]}
    return network


def write_volume(path: Path, shape: tuple) -> None:
    with mrcfile.new_mmap(path, shape=shape, mrc_mode=2) as mrc:
        for z in range(shape[0]):
            mrc.data[z] = np.random.default_rng(z).normal(size=shape[1:])
        mrc.voxel_size = 10.0


def tiles(path: Path, shape: tuple, repeats: int) -> None:
    library = ArchitectureLibrary()
    network = make_network(library, {})
    times = {DEFAULT_TILE: [], 64: []}
    for _ in range(repeats):
        for tile in times:
            started = time.perf_counter()
            segment_volume(path, [network], path.parent / f"out{tile}", overwrite=True, tile=tile, library=library)
            times[tile].append(time.perf_counter() - started)
    voxels = np.prod(shape)
    big, small = statistics.median(times[DEFAULT_TILE]), statistics.median(times[64])
    print(f"volume {shape}, default UNet ({network.model.count_params():,} parameters)")
    print(f"large adaptive tiles (<= {DEFAULT_TILE} px): {voxels / big / 1e6:6.2f} Mvoxels/s ({big:.1f} s)")
    print(f"64 px tiles:                      {voxels / small / 1e6:6.2f} Mvoxels/s ({small:.1f} s)")
    print(f"speed-up of large tiles: {small / big:.1f}x")


def worker(model: str, volume: str, out: str) -> None:
    """One cold segmentation in this process (what `ais-qt segment` does), reported as JSON."""
    network = Network.load(model, ArchitectureLibrary())
    started = time.perf_counter()
    (output,) = segment_volume(volume, [network], out, overwrite=True)
    seconds = time.perf_counter() - started
    peak = peak_mib()  # before the Keras model is asked for below
    print(json.dumps({"seconds": seconds, "peak_mib": peak, "output": str(output), "engine": network.engine().name,
                      "tensorflow_loaded": "tensorflow" in sys.modules,
                      "parameters": int(network.model.count_params())}))


def against_ais(ais_python: str, path: Path, shape: tuple, repeats: int) -> None:
    """Ais and Ais-Qt (with its inference engine, and with Keras alone), alternating, fresh processes.
    The engine's one-time conversion of the network (cached for later runs) is timed apart."""
    model = path.parent / "unet_m.aisnet"
    make_network(ArchitectureLibrary(), UNET_M).save(model)
    started = time.perf_counter()
    Network.load(model, ArchitectureLibrary()).engine()  # converted once, as a user's first run does
    conversion = time.perf_counter() - started
    commands = {
        "ours": [sys.executable, __file__, "--worker", str(model), str(path), str(path.parent / "ours")],
        "keras": [sys.executable, __file__, "--worker", str(model), str(path), str(path.parent / "keras")],
        "ais": [ais_python, str(HERE / "reference" / "ais_segment.py"), str(path), str(path.parent / "ais")],
    }
    runs = {side: [] for side in commands}
    for _ in range(repeats):
        for side, command in commands.items():
            env = dict(os.environ, AIS_QT_ENGINE="keras") if side == "keras" else None
            runs[side].append(run_json(command, env=env))
    voxels = np.prod(shape)
    seconds = {side: statistics.median(r["seconds"] for r in results) for side, results in runs.items()}
    peak = {side: max(r["peak_mib"] for r in results) for side, results in runs.items()}
    with mrcfile.open(runs["ours"][0]["output"]) as a, mrcfile.open(runs["ais"][0]["output"]) as b, \
            mrcfile.open(runs["keras"][0]["output"]) as k:
        same_shape = a.data.shape == b.data.shape
        levels = int(np.abs(a.data.astype(np.int32) - k.data.astype(np.int32)).max())
    print(f"\nvs the original Ais, UNet M architecture (ours {runs['ours'][0]['parameters']:,} parameters, "
          f"Ais {runs['ais'][0]['parameters']:,}), volume {shape}, {repeats} cold runs each, alternating")
    for side, name in (("ours", f"Ais-Qt ({runs['ours'][0]['engine']})"), ("keras", "Ais-Qt (keras)"),
                       ("ais", "Ais 1.2.40")):
        print(f"{name:20s} {voxels / seconds[side] / 1e6:6.3f} Mvoxels/s ({seconds[side]:.1f} s), "
              f"peak memory {peak[side]:.0f} MiB, {seconds['ais'] / seconds[side]:.2f}x Ais's speed")
    print(f"engine's one-time conversion of the network: {conversion:.1f} s (cached afterwards); its outputs "
          f"differ from Keras' by at most {levels} of 255 levels; outputs the shape of Ais's: {same_shape}; "
          f"TensorFlow loaded by the engine's runs: {runs['ours'][0]['tensorflow_loaded']}")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(*sys.argv[2:5])
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shape", default="24,512,512")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--ais-python", help="the interpreter of a virtual environment with ais-cryoet installed")
    parser.add_argument("--skip-tiles", action="store_true", help="only the comparison with Ais")
    parser.add_argument("--precision", choices=("float32", "checked"), default="float32",
                        help="the engine's precision: float32, as trained networks get (default), or as its check decides")
    args = parser.parse_args()
    shape = tuple(int(n) for n in args.shape.split(","))
    with tempfile.TemporaryDirectory() as folder:
        os.environ["AIS_QT_CACHE_DIR"] = str(Path(folder) / "cache")  # the workers inherit it
        if args.precision == "float32":
            engine_in("float32")
        print(f"engine precision: {args.precision}")
        path = Path(folder) / "volume.mrc"
        write_volume(path, shape)
        if not args.skip_tiles:
            tiles(path, shape, args.repeats)
        if args.ais_python:
            against_ais(args.ais_python, path, shape, args.repeats)


if __name__ == "__main__":
    main()
