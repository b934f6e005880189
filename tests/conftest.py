"""Shared fixtures. Qt runs offscreen; the sample cache and settings live in temporary folders."""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# The built-in sample is generated once per test run, never into the user's real cache. Worker
# processes a test starts (Dask, multiprocessing) import this file again with the run's environment:
# they share the run's folder, since they end without running atexit and a folder of their own leaked.
if os.environ.get("AIS_QT_TEST_RUN") is None:
    os.environ["AIS_QT_TEST_RUN"] = str(os.getpid())
    os.environ["AIS_QT_CACHE_DIR"] = tempfile.mkdtemp(prefix="ais-qt-test-cache-")
    atexit.register(shutil.rmtree, os.environ["AIS_QT_CACHE_DIR"], ignore_errors=True)

import mrcfile  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def shared_file(relative: str) -> Path:
    """A file from ../shared/data, or skip the test cleanly when it is absent."""
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"shared data not present: {path}")
    return path


def load_bench(name: str):
    """A script of bench/ as a module (bench/ is not a package), for tests of what it measures with."""
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "bench" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"bench_{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


def write_mrc(path: Path, data: np.ndarray, voxel_size: float = 10.0) -> Path:
    with mrcfile.new(path, overwrite=True, compression="gzip" if str(path).endswith(".gz") else None) as mrc:
        mrc.set_data(data)
        mrc.voxel_size = voxel_size
    return path


@pytest.fixture
def volume() -> np.ndarray:
    """A small float32 volume whose voxel values encode their own position, so mix-ups show."""
    z, y, x = np.mgrid[0:12, 0:40, 0:48]
    return (z * 10000 + y * 100 + x).astype(np.float32)


@pytest.fixture
def mrc_path(tmp_path, volume) -> Path:
    return write_mrc(tmp_path / "tomo.mrc", volume, voxel_size=13.5)


@pytest.fixture
def settings(tmp_path):
    from PySide6.QtCore import QSettings

    return QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)


@pytest.fixture
def window(qtbot, settings):
    from ais_qt.controllers.session_controller import SessionController
    from ais_qt.views.main_window import MainWindow

    win = MainWindow(SessionController(settings=settings))
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    win.activateWindow()
    return win
