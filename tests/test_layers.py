"""DESIGN.md's layering: ais_qt/models never imports Qt, pyqtgraph or VTK (it runs in batch jobs and
cluster workers without a display)."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import importlib, pkgutil, sys
import ais_qt.models
names = [info.name for info in pkgutil.walk_packages(ais_qt.models.__path__, "ais_qt.models.")]
for name in names:
    importlib.import_module(name)
bad = sorted(m for m in sys.modules if m.split(".")[0] in ("PySide6", "pyqtgraph", "vtk", "vtkmodules"))
print(len(names), bad)
"""


def test_models_import_no_gui_library():
    out = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, check=True).stdout
    count, bad = out.strip().split(" ", 1)
    assert int(count) > 30 and bad == "[]", out
