"""Scrolling with the live overlay on: seconds from a slice change to its overlay on screen, as a user
who looks at each slice for a while, with and without idle-time prefetching, in one run.

Drives the real main window offscreen on a 1024 x 1024 volume with the default UNet (untrained:
speed does not depend on the weights; the engine in float32, as for trained networks). A scripted
user steps one slice at a time with the arrow key (looking at each slice for ``--dwell`` seconds),
then jumps several slices further on at a time (setting the slice as a slider drag does). Each change is timed
until the overlay for that slice is drawn. Prefetch on and off alternate, rounds interleaved.

    QT_QPA_PLATFORM=offscreen python bench/live_scroll.py [--dwell 1.5] [--steps 6] [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import mrcfile  # noqa: E402
import numpy as np  # noqa: E402
from PySide6.QtCore import QSettings, Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402


def wait_shown(app, window, item, z, limit: float = 30.0) -> float:
    """Seconds until the overlay of slice z is on screen (processing events meanwhile)."""
    started = time.perf_counter()
    while window.prediction_layer.shown != (id(item.tomogram), z):
        app.processEvents()
        if time.perf_counter() - started > limit:
            raise RuntimeError(f"slice {z}'s overlay never came")
        time.sleep(0.002)
    return time.perf_counter() - started


def dwell(app, seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.005)


def walk(app, window, item, start: int, steps: int, jump: int, seconds: float) -> tuple[list, list]:
    """(step latencies, jump latencies) for one walk from ``start``."""
    live = window.live
    live.cache.clear()  # every walk starts with nothing predicted
    item.z = start
    wait_shown(app, window, item, start)
    dwell(app, seconds)
    stepping, jumping = [], []
    window.slice_view.graphics.setFocus()
    for _ in range(steps):
        QTest.keyClick(window.slice_view.graphics, Qt.Key_Up)
        stepping.append(wait_shown(app, window, item, item.z))
        dwell(app, seconds)
    for _ in range(steps // 2):
        item.z = item.z + jump
        jumping.append(wait_shown(app, window, item, item.z))
        dwell(app, seconds)
    return stepping, jumping


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--dwell", type=float, default=1.5, help="seconds the user looks at each slice")
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--jump", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        os.environ["AIS_QT_CACHE_DIR"] = str(Path(folder) / "cache")
        from segment import engine_in, make_network

        engine_in("float32")
        from ais_qt.controllers.session_controller import SessionController
        from ais_qt.models.learning.architectures import ArchitectureLibrary
        from ais_qt.views.main_window import MainWindow

        app = QApplication.instance() or QApplication([])
        depth = 2 + args.steps + (args.steps // 2) * args.jump + 2
        path = Path(folder) / "volume.mrc"
        with mrcfile.new(path) as mrc:
            mrc.set_data(np.random.default_rng(0).normal(size=(depth, args.size, args.size)).astype(np.float32))
            mrc.voxel_size = 10.0
        window = MainWindow(SessionController(settings=QSettings(f"{folder}/s.ini", QSettings.IniFormat)),
                            autosave_seconds=0)
        window.remember_layout = False
        window.show()
        (item,) = window.controller.open_paths([path])
        network = make_network(ArchitectureLibrary(), {})
        network.engine()  # converted and compiled before the clock starts, as after the first slice
        window.controller.session.networks.add(network)
        default = window.live.prefetch
        results = {"prefetch": ([], []), "no prefetch": ([], [])}
        for _ in range(args.rounds):
            for label, prefetch in (("prefetch", default), ("no prefetch", ())):
                window.live.prefetch = prefetch
                stepping, jumping = walk(app, window, item, 1, args.steps, args.jump, args.dwell)
                results[label][0].extend(stepping)
                results[label][1].extend(jumping)
        window.controller.session.history.mark_saved()
        window.close()
    print(f"{args.size} x {args.size} slices, default UNet, looking {args.dwell:g} s at each slice, "
          f"{args.rounds} rounds of {args.steps} steps of one slice and {args.steps // 2} jumps of {args.jump}")
    print("| | one-slice step, median s (worst) | jump, median s (worst) |\n|---|---|---|")
    for label, (stepping, jumping) in results.items():
        print(f"| {label} | {statistics.median(stepping):.3f} ({max(stepping):.3f}) | "
              f"{statistics.median(jumping):.3f} ({max(jumping):.3f}) |")


if __name__ == "__main__":
    main()
