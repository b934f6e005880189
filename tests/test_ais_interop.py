"""Ais models (.scnm) and training sets (.scnt) in and out.

The files in tests/data were made by the original Ais 1.2.40's own code (tests/data/README.md);
the tests that run Ais itself skip when its virtual environment is absent (AIS_PYTHON, or
~/aisvenv/bin/python as bench/reference/README.md sets it up).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import tarfile
from pathlib import Path

import h5py
import mrcfile
import numpy as np
import pytest
from PySide6.QtCore import Qt

from ais_qt.models.formats.ais_models import load_scnm, save_scnm
from ais_qt.models.formats.ais_training_sets import load_scnt
from ais_qt.models.learning.architectures import ArchitectureLibrary
from ais_qt.models.errors import AisError
from ais_qt.models.learning.network import Network
from ais_qt.models.learning.segmentation import segment_volume
from ais_qt.models.learning.training import TrainSettings, train
from tests.test_networks import tiny_set

DATA = Path(__file__).parent / "data"
AIS_PYTHON = Path(os.environ.get("AIS_PYTHON", Path.home() / "aisvenv" / "bin" / "python"))
REFERENCE = Path(__file__).parents[1] / "bench" / "reference" / "ais_interop.py"
needs_ais = pytest.mark.skipif(not AIS_PYTHON.exists(), reason="the original Ais's environment is not installed")


def levels(path) -> np.ndarray:
    with mrcfile.open(path) as mrc:
        return np.asarray(mrc.data, dtype=np.int64)


# ------------------------------------------------------------------ import
def test_an_ais_model_keeps_its_metadata_and_segments_as_ais_did(tmp_path):
    network = Network.load(DATA / "ais_tiny.scnm", ArchitectureLibrary())
    info = network.info
    assert (info.feature, info.colour, info.threshold, info.emit, info.absorb) == ("Tiny", "#ff8000", 0.4, True, False)
    assert info.voxel_size == 10.0 and info.architecture_title == "Tiny test net (Ais)" and network.trained
    (ours,) = segment_volume(DATA / "ais_tiny_volume.mrc", [network], tmp_path)
    difference = levels(ours) - levels(DATA / "ais_tiny_segmented.mrc")
    # Ais truncates probability x 255 to an integer, Ais-Qt rounds: every voxel agrees to that rounding.
    assert set(np.unique(difference)) <= {0, 1}
    # Kept as an Ais-Qt network, it segments the same.
    again = Network.load(network.save(tmp_path / "tiny.aisnet"), ArchitectureLibrary())
    (kept,) = segment_volume(DATA / "ais_tiny_volume.mrc", [again], tmp_path / "kept")
    np.testing.assert_array_equal(levels(kept), levels(ours))


def _with_member(tmp_path, name, change):
    """ais_tiny.scnm with one member rewritten by ``change(bytes) -> bytes`` (None drops it)."""
    out = tmp_path / name
    with tarfile.open(DATA / "ais_tiny.scnm") as source, tarfile.open(out, "w") as target:
        for member in source.getmembers():
            data = change(member.name, source.extractfile(member).read())
            if data is not None:
                member.size = len(data)
                target.addfile(member, io.BytesIO(data))
    return out


def test_models_that_could_run_code_or_are_not_2d_are_refused_with_the_reason(tmp_path):
    with pytest.raises(AisError, match=r"ais_tiny_lambda.scnm: uses the layer type 'Lambda'"):
        load_scnm(DATA / "ais_tiny_lambda.scnm")
    deep = _with_member(tmp_path, "deep.scnm", lambda name, data: json.dumps(
        {**json.loads(data), "model_depth": 3}).encode() if name.endswith(".json") else data)
    with pytest.raises(AisError, match="deep.scnm: is a 2.5D/3D Ais model"):
        load_scnm(deep)
    no_weights = _with_member(tmp_path, "empty.scnm", lambda name, data: None if name.endswith(".h5") else data)
    with pytest.raises(AisError, match=r"empty.scnm: is not an Ais model: its weights \(\*_weights.h5\) missing"):
        load_scnm(no_weights)
    garbage = tmp_path / "garbage.scnm"
    garbage.write_bytes(b"\x00" * 3000)
    with pytest.raises(AisError, match="garbage.scnm"):
        Network.load(garbage, ArchitectureLibrary())


# ------------------------------------------------------------------ export
@pytest.fixture(scope="module")
def trained():
    return train(tiny_set(), TrainSettings(architecture="unet", epochs=1, batch_size=8), ArchitectureLibrary())


def test_export_writes_what_keras_2_and_the_ais_loader_read_and_round_trips(tmp_path, trained):
    path = save_scnm(trained, tmp_path / "membrane")
    assert path.name == "membrane.scnm"
    with tarfile.open(path) as archive:
        names = archive.getnames()
        metadata = json.loads(archive.extractfile("membrane_metadata.json").read())
        (tmp_path / "w.h5").write_bytes(archive.extractfile("membrane_weights.h5").read())
    assert sorted(names) == ["membrane_metadata.json", "membrane_weights.h5"]
    loader_keys = {"title", "colour", "apix", "compiled", "box_size", "model_enum", "epochs", "batch_size", "active",
                   "blend", "show", "alpha", "threshold", "overlap", "active_tab", "n_parameters", "n_copies", "info",
                   "info_short", "excess_negative", "emit", "absorb", "loss"}
    assert loader_keys <= set(metadata) and metadata["arch"] == "UNet (Ais-Qt)" and metadata["title"] == "Membrane"
    with h5py.File(tmp_path / "w.h5") as h5:
        config = json.loads(h5.attrs["model_config"])
    text = json.dumps(config)
    assert "batch_input_shape" in text and "batch_shape" not in text and "DTypePolicy" not in text
    assert all(isinstance(node, list) for layer in config["config"]["layers"] for node in layer["inbound_nodes"])
    back = load_scnm(path)
    tiles = np.random.default_rng(0).normal(size=(2, 64, 64, 1)).astype(np.float32)
    np.testing.assert_allclose(back.predict(tiles), trained.predict(tiles), atol=1e-5)


# ------------------------------------------------------------ training sets
def test_an_ais_training_set_becomes_one_that_trains_here():
    training_set = load_scnt(DATA / "ais_set.scnt")
    meta = training_set.metadata
    assert (meta["feature"], meta["voxel_size"], meta["positive_boxes"], meta["negative_boxes"]) == ("Membrane", 12.0, 3, 1)
    assert training_set.x.shape == (32, 32, 32, 1) and set(np.unique(training_set.y)) == {0, 1, 2}
    assert set(np.unique(training_set.groups)) == {0, 1, 2, 3}  # 8 orientations per box, one group each
    np.testing.assert_allclose(training_set.x[::8].mean(axis=(1, 2, 3)), 0, atol=1e-4)  # Ais's per-box normalisation
    network = train(training_set, TrainSettings(architecture="unet_light", epochs=1, batch_size=8),
                    ArchitectureLibrary())
    assert network.info.feature == "Membrane" and network.info.tile_size == 32
    with pytest.raises(AisError, match="nothing.scnt: file not found"):
        load_scnt("nothing.scnt")


def test_file_menu_imports_an_ais_training_set_and_networks_load_an_ais_model(qtbot, window, tmp_path):
    window.import_training_set(str(DATA / "ais_set.scnt"))
    assert window.training.training_set.metadata["feature"] == "Membrane"
    feature = window.controller.session.features.by_name("Membrane")
    assert feature is not None and window.training.training_set.metadata["colour"] == feature.colour
    panel = window.workflow.models.training_panel
    assert window.workflow.currentWidget() is window.workflow.models
    assert "3 positive and 1 negative boxes" in panel.set_summary.text()
    panel.epochs.setValue(1)
    panel.batch_size.setValue(8)
    qtbot.mouseClick(panel.train_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: len(window.controller.session.networks) == 1, timeout=60000)
    networks = window.workflow.models.networks
    networks.load([str(DATA / "ais_tiny.scnm")])
    assert networks.tree.topLevelItemCount() == 2
    row = next(networks.tree.topLevelItem(i) for i in range(2) if networks.tree.topLevelItem(i).text(0) == "Tiny")
    assert row.text(1) == "Tiny test net (Ais)" and row.text(2) == "imported (ais_tiny.scnm)"
    networks.tree.setCurrentItem(row)
    networks.grab().save(str(tmp_path / "networks_with_ais.png"))
    saved = networks.save(str(tmp_path / "tiny.scnm"))
    assert saved.name == "tiny.scnm" and load_scnm(saved).info.feature == "Tiny"
    window.import_training_set(str(tmp_path / "missing.scnt"))
    assert "missing.scnt: file not found" in window.last_message_box.text()
    window.last_message_box.close()


# ----------------------------------------------------- against Ais itself
def _ais(*args) -> dict:
    result = subprocess.run([str(AIS_PYTHON), str(REFERENCE), *map(str, args)], capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@needs_ais
def test_ais_1_2_40_segments_with_an_exported_network_and_ours_with_its_model(tmp_path, trained):
    def volume_at(voxel_size):  # at the network's own voxel size: no rescaling, which the two do differently
        path = tmp_path / f"v{voxel_size:g}.mrc"
        with mrcfile.new(path) as mrc:
            mrc.set_data((np.random.default_rng(4).normal(size=(2, 192, 208)) * 2 + 1).astype(np.float32))
            mrc.voxel_size = voxel_size
        return path

    volume = volume_at(12.0)
    exported = save_scnm(trained, tmp_path / "ours.scnm")
    theirs = levels(_ais("segment", exported, volume, tmp_path / "ais")["output"])
    (ours,) = segment_volume(volume, [trained], tmp_path / "ours")
    # Away from the edges, where the two programs pad slices differently, they agree to rounding.
    assert np.abs(levels(ours) - theirs)[:, 48:-48, 48:-48].max() <= 1
    # An Ais library network (UNet S, Ais's robust whole-volume normalisation) segments here as in Ais.
    model = _ais("model", "UNet S", 64, tmp_path / "unet_s.scnm", "global_mad")["output"]
    volume = volume_at(10.0)
    theirs = levels(_ais("segment", model, volume, tmp_path / "ais2")["output"])
    (ours,) = segment_volume(volume, [Network.load(model, ArchitectureLibrary())], tmp_path / "ours2")
    assert set(np.unique(levels(ours) - theirs)) <= {0, 1}
