"""Live prediction: seconds for one 1024 x 1024 slice with the default UNet (untrained: speed does not
depend on the weights), with each engine, as the live overlay runs it (SlicePredictor.predict).

Each engine runs in a fresh process, twice, alternating: the first slice after loading (the network's
conversion or reading from the cache, and the first-call set-up included) and the median of the next
five. The converted model's cache starts empty in every process, so "first" is the worst case; a
second start of the app reads it from the cache (also printed). The engine computes in float32, as
for trained networks, unless ``--precision checked`` (see bench/segment.py).

    python bench/live_slice.py [--size 1024] [--repeats 2] [--precision float32|checked]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def child(engine: str, size: int, cache: str, model: str, precision: str) -> None:
    os.environ["AIS_QT_CACHE_DIR"] = cache
    import numpy as np

    if precision == "float32":
        from segment import engine_in  # (bench/ is this script's folder: on sys.path)

        engine_in("float32")

    from ais_qt.models.learning.architectures import ArchitectureLibrary
    from ais_qt.models.learning.inference import SlicePredictor
    from ais_qt.models.learning.network import Network

    os.environ["AIS_QT_ENGINE"] = engine  # as the app would make it: from the cache, if there, without Keras
    network = Network.load(model, ArchitectureLibrary())
    image = np.random.default_rng(0).normal(size=(size, size)).astype(np.float32)
    started = time.perf_counter()
    predictor = SlicePredictor(network)
    predictor.predict(image)
    first = time.perf_counter() - started
    times = []
    for _ in range(5):
        t = time.perf_counter()
        predictor.predict(image)
        times.append(time.perf_counter() - t)
    print(json.dumps({"first": first, "steady": statistics.median(times), "engine": network.engine().name}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--precision", choices=("float32", "checked"), default="float32")
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]), args.child[2], args.child[3], args.child[4])
        return
    results: dict[str, list[dict]] = {"keras": [], "openvino": [], "openvino, cached": []}
    with tempfile.TemporaryDirectory() as caches:
        sys.path.insert(0, str(HERE))
        from segment import make_network

        from ais_qt.models.learning.architectures import ArchitectureLibrary

        model = str(make_network(ArchitectureLibrary(), {}).save(Path(caches) / "unet.aisnet"))
        for repeat in range(args.repeats):
            for engine, label, fresh in (("keras", "keras", True), ("openvino", "openvino", True),
                                         ("openvino", "openvino, cached", False)):
                cache = str(Path(caches) / (f"{repeat}-{engine}" if fresh else f"{repeat}-openvino"))
                out = subprocess.run([sys.executable, __file__, "--child", engine, str(args.size), cache, model,
                                      args.precision],
                                     capture_output=True, text=True, check=True).stdout
                results[label].append(json.loads(out.strip().splitlines()[-1]))
    print(f"{args.size} x {args.size} slice, default UNet, {os.cpu_count()} cores, engine precision {args.precision}")
    print("| engine | first slice after loading (s) | each next slice (s) | vs keras |")
    print("|---|---|---|---|")
    keras_steady = statistics.median(r["steady"] for r in results["keras"])
    for label, runs in results.items():
        steady = statistics.median(r["steady"] for r in runs)
        first = statistics.median(r["first"] for r in runs)
        print(f"| {label} ({runs[0]['engine']}) | {first:.2f} | {steady:.3f} | {keras_steady / steady:.2f}x |")


if __name__ == "__main__":
    main()
