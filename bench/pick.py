"""Particle picking speed: ours vs the original Ais on the same segmentation and settings.

A synthetic 512x512x200 segmentation (probabilities 0..1 as float32, as both tools read it) holds
single blobs of several sizes, touching pairs and dust. Each side runs in a fresh process per
repeat (alternating) and times its picking call, file reading included. Prints the speed ratio
and how many coordinates agree (matched one-to-one within 3 voxels). Filament picking is measured
against the original Ais (accuracy on ground truth and speed, same run) by bench/filaments.py.

    python bench/pick.py --ais-python ~/aisvenv/bin/python [--shape 200,512,512] [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import mrcfile
import numpy as np

from ais_qt.models.particles.picking import count_matches

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from runs import run_json  # noqa: E402

THRESHOLD, MIN_SIZE_NM3, MIN_SPACING_NM, VOXEL = 128, 100, 6.0, 10.0


def make_segmentation(path: Path, shape: tuple, seed: int = 0) -> int:
    rng = np.random.default_rng(seed)
    volume = np.zeros(shape, np.float32)
    count = int(np.prod(shape) / 2.5e5)  # ~210 particles in 512x512x200
    for i in range(count):
        radius = rng.uniform(3, 8)
        centre = rng.uniform(radius + 1, np.array(shape) - radius - 1)
        centres = [centre]
        if i % 5 == 0:  # a touching neighbour
            direction = rng.normal(size=3)
            centres.append(centre + direction / np.linalg.norm(direction) * radius * 1.7)
        for c in centres:
            lo = np.maximum(np.floor(c - radius - 2).astype(int), 0)
            hi = np.minimum(np.ceil(c + radius + 2).astype(int), shape)
            z, y, x = np.ogrid[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]]
            d = np.sqrt((z - c[0]) ** 2 + (y - c[1]) ** 2 + (x - c[2]) ** 2)
            box = volume[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]]
            np.maximum(box, np.clip(radius + 0.5 - d, 0, 1) * rng.uniform(0.7, 1.0), out=box)
    dust = rng.integers(0, shape, size=(count, 3))
    volume[tuple(dust.T)] = 0.9  # single bright voxels
    with mrcfile.new(path, overwrite=True) as mrc:
        mrc.set_data(volume)
        mrc.voxel_size = VOXEL
    return count


def ours(path: str, out: str) -> None:
    from ais_qt.models.particles.picking import PickSettings, pick_file

    settings = PickSettings(THRESHOLD, MIN_SIZE_NM3, "nm3", MIN_SPACING_NM)
    started = time.perf_counter()
    particles, _ = pick_file(path, settings)
    seconds = time.perf_counter() - started
    np.save(out, particles.zyx)
    print(json.dumps({"seconds": seconds, "count": len(particles)}))


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        ours(*sys.argv[2:4])
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shape", default="200,512,512")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--ais-python", required=True, help="interpreter of a virtual environment with ais-cryoet")
    args = parser.parse_args()
    shape = tuple(int(n) for n in args.shape.split(","))
    with tempfile.TemporaryDirectory() as folder:
        seg = Path(folder) / "TS_01__Ribosome.mrc"
        placed = make_segmentation(seg, shape)
        ours_cmd = [sys.executable, __file__, "--worker", str(seg), str(Path(folder) / "ours.npy")]
        # Ais takes the 0..255 level and divides it by 255 itself for float data.
        ais_cmd = [args.ais_python, str(HERE / "reference" / "ais_pick.py"), str(seg), str(THRESHOLD),
                   str(MIN_SIZE_NM3), str(MIN_SPACING_NM), str(Path(folder) / "ais.npy")]
        times = {"ours": [], "ais": []}
        for _ in range(args.repeats):
            for side, command in (("ours", ours_cmd), ("ais", ais_cmd)):
                result = run_json(command)
                times[side].append(result["seconds"])
        a, b = np.load(Path(folder) / "ours.npy"), np.load(Path(folder) / "ais.npy")
    t_ours, t_ais = statistics.median(times["ours"]), statistics.median(times["ais"])
    print(f"segmentation {shape} float32, {placed} particles placed (+ touching pairs, dust); threshold "
          f"{THRESHOLD}/255, min volume {MIN_SIZE_NM3} nm³, min spacing {MIN_SPACING_NM} nm, {args.repeats} runs each")
    print(f"Ais-Qt:     {t_ours:6.2f} s, {len(a)} particles")
    print(f"Ais 1.2.40: {t_ais:6.2f} s, {len(b)} particles")
    print(f"our speed over Ais's: {t_ais / t_ours:.2f}x")
    hits = count_matches(a, b, 3.0)
    print(f"coordinates agreeing within 3 voxels: {hits} ({hits / max(len(a), 1):.0%} of ours, "
          f"{hits / max(len(b), 1):.0%} of Ais's)")


if __name__ == "__main__":
    main()
