"""Brush stroke latency on a 1024 x 1024 slice: milliseconds per mouse-move event.

Drives the real main window offscreen with synthetic mouse events along a curved stroke; each
event's time includes the stroke update, the overlay update and the repaint (processEvents).
In the same run it times the naive alternative, re-uploading the whole overlay image to a
pyqtgraph ImageItem on every move, and prints the ratio.

    QT_QPA_PLATFORM=offscreen python bench/stroke_latency.py [--events 400] [--radius 8]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import mrcfile  # noqa: E402
import numpy as np  # noqa: E402
import pyqtgraph as pg  # noqa: E402
from PySide6.QtCore import QEvent, QPointF, QSettings, Qt  # noqa: E402
from PySide6.QtGui import QMouseEvent  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from ais_qt.controllers.session_controller import SessionController  # noqa: E402
from ais_qt.views.main_window import MainWindow  # noqa: E402


def stroke_points(n: int, size: int = 1024) -> list[tuple[float, float]]:
    t = np.linspace(0, 4 * np.pi, n)
    return [(size / 2 + 380 * np.cos(a / 2) * np.sin(a / 3 + 0.3), size / 2 + 380 * np.sin(a / 2)) for a in t]


def send(window, kind, x, y, buttons):
    view = window.slice_view
    viewport = view.graphics.viewport()
    pos = QPointF(view.graphics.mapFromScene(view.view_box.mapViewToScene(QPointF(x, y))))
    button = Qt.LeftButton if kind != QEvent.MouseMove else Qt.NoButton
    QApplication.sendEvent(viewport, QMouseEvent(kind, pos, viewport.mapToGlobal(pos), button, buttons, Qt.NoModifier))


def ours(app, window, points) -> list[float]:
    times = []
    send(window, QEvent.MouseButtonPress, *points[0], Qt.LeftButton)
    for x, y in points[1:]:
        start = time.perf_counter()
        send(window, QEvent.MouseMove, x, y, Qt.LeftButton)
        app.processEvents()
        times.append(time.perf_counter() - start)
    send(window, QEvent.MouseButtonRelease, *points[-1], Qt.NoButton)
    return times


def naive(app, window, points, radius) -> list[float]:
    """Same strokes, but the whole 1024 x 1024 RGBA overlay goes to an ImageItem on every move."""
    from ais_qt.models.annotation.painting import stamp_segment

    mask = np.zeros((1024, 1024), bool)
    rgba = np.zeros((1024, 1024, 4), np.uint8)
    item = pg.ImageItem()
    window.slice_view.view_box.addItem(item)
    times, last = [], points[0]
    for x, y in points[1:]:
        start = time.perf_counter()
        stamp_segment(mask, last, (x, y), radius, True)
        rgba[...] = 0
        rgba[mask] = (230, 159, 0, 128)
        item.setImage(rgba, autoLevels=False)
        app.processEvents()
        times.append(time.perf_counter() - start)
        last = (x, y)
    window.slice_view.view_box.removeItem(item)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=400)
    parser.add_argument("--radius", type=float, default=8.0)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "slice1024.mrc"
        with mrcfile.new(path) as mrc:
            mrc.set_data(np.random.default_rng(0).normal(size=(4, 1024, 1024)).astype(np.float32))
            mrc.voxel_size = 10.0
        window = MainWindow(SessionController(settings=QSettings(f"{folder}/s.ini", QSettings.IniFormat)),
                            autosave_seconds=0)
        window.remember_layout = False
        window.show()
        window.controller.open_paths([path])
        window.editor.add_feature("Membrane")
        window.editor.tools.radius = args.radius
        app.processEvents()
        points = stroke_points(args.events)
        a, b = [], []
        for _ in range(3):  # interleave so both see the same machine noise
            a += ours(app, window, points)
            b += naive(app, window, points, args.radius)
        window.controller.session.history.mark_saved()  # nothing to recover from a benchmark
        window.close()
    med_a, med_b = statistics.median(a) * 1000, statistics.median(b) * 1000
    p95 = lambda xs: sorted(xs)[int(0.95 * len(xs))] * 1000  # noqa: E731
    print(f"1024 x 1024 slice, brush radius {args.radius:g} px, {len(a)} mouse moves each")
    print(f"touched-rectangle updates (Ais-Qt): median {med_a:6.2f} ms, p95 {p95(a):6.2f} ms per move")
    print(f"whole-overlay re-upload (naive):    median {med_b:6.2f} ms, p95 {p95(b):6.2f} ms per move")
    print(f"speed-up: {med_b / med_a:.1f}x; 60 Hz needs < 16.7 ms")


if __name__ == "__main__":
    main()
