"""The scripting API (docs/scripting.md) runs the same engine as the commands, without Qt."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ais_qt import api
from tests.conftest import write_mrc
from tests.test_picking import ball

DATA = Path(__file__).parent / "data"


def test_open_load_segment_pick_and_train_from_a_script(tmp_path):
    calls = []
    network = api.load_network(DATA / "ais_tiny.scnm")
    outputs = api.segment(DATA / "ais_tiny_volume.mrc", [network], tmp_path / "seg",
                          progress=lambda f, m: calls.append(f))
    assert [p.name for p in outputs] == ["ais_tiny_volume__Tiny.mrc"] and calls[-1] == 1.0
    assert api.open_tomogram(outputs[0]).shape == (2, 64, 80)

    seg = np.zeros((30, 48, 48), np.uint8)
    ball(seg, (15, 24, 24), 5, 250)
    path = write_mrc(tmp_path / "TS_01__Ribosome.mrc", seg, voxel_size=0)
    with pytest.raises(api.AisError, match="TS_01__Ribosome.mrc: a minimum volume in nm³ needs the voxel size"):
        api.pick(path, min_volume=100)
    particles, written = api.pick(path, min_volume=100, voxel_size=10.0, out=tmp_path / "picks")
    assert len(particles) == 1 and written.name == "TS_01__Ribosome_coords.star"
    np.testing.assert_allclose(particles.zyx[0], (15, 24, 24), atol=0.5)

    volume = np.random.default_rng(0).normal(size=(6, 64, 64)).astype(np.float32)
    labels = np.zeros(volume.shape, np.uint8)
    labels[:, 20:36, :] = 3
    volume[labels == 3] -= 2
    tomogram, label_file = write_mrc(tmp_path / "t.mrc", volume), write_mrc(tmp_path / "l.mrc", labels)
    trained = api.train(tomogram, label_file, 3, tmp_path / "m.aisnet", slices=[1, 4], feature="Membrane",
                        epochs=1, batch_size=8, architecture="unet_light")
    assert trained.info.feature == "Membrane" and (tmp_path / "m.aisnet").exists()
    assert api.export_for_ais(trained, tmp_path / "m.scnm").exists()


def test_the_api_never_imports_qt():
    code = "import sys; from ais_qt import api; api.load_network; print(any(m.startswith('PySide6') for m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"
