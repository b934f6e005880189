"""Networks: architectures, training sets, training, model files, plugins, and that UNets learn."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
from scipy import ndimage

from ais_qt.models.learning.architectures import BUILTIN_MODULES, ArchitectureLibrary
from ais_qt.models.annotation.editing import Editor
from ais_qt.models.errors import AisError
from ais_qt.models.learning.network import Network
from ais_qt.models.progress import Progress
from ais_qt.models.session import Session
from ais_qt.models.volumes.tomogram import Tomogram
from ais_qt.models.learning.training import TrainSettings, _Monitor, dice_iou, train
from ais_qt.models.learning.training_set import TrainingSet, TrainingSetOptions, build_training_set, orient
from tests.conftest import shared_file


@pytest.fixture(scope="module")
def library():
    return ArchitectureLibrary()


def blob_session(size=96, tile=32):
    """A volume whose annotated voxels are exactly its bright ones, with boxes of two features."""
    rng = np.random.default_rng(0)
    volume = rng.normal(0, 0.1, (6, size, size)).astype(np.float32)
    labels = np.zeros(volume.shape, bool)
    labels[:, 20:40, 10:50] = True
    labels[:, 60:70, 60:90] = True
    volume[labels] = 5.0
    session = Session()
    editor = Editor(session)
    item = session.add(Tomogram.from_array(volume, 12.0, "blobs"))
    session.box_size = tile
    membrane = editor.add_feature("Membrane")
    editor.set_slice_masks("labels", item, membrane.id, {z: labels[z] for z in (1, 3)})
    for z in (1, 3):
        editor.place_box(item, z, 30, 30)  # holds annotation: positive
        editor.place_box(item, z, 75, 65)  # positive
        editor.place_box(item, z, 80, 20)  # empty: a negative for Membrane
    editor.add_feature("Carbon")
    editor.place_box(item, 2, 70, 70)  # a Carbon box: negative when chosen
    return session, labels


def tiny_set(tile=32):
    session, _ = blob_session(tile=tile)
    return build_training_set(session.items, session.features,
                              TrainingSetOptions("Membrane", ["Carbon"], tile_size=tile, copies=3))


# --------------------------------------------------------------- training sets
def test_training_set_counts_and_alignment():
    session, _ = blob_session()
    options = TrainingSetOptions("Membrane", ["Carbon"], tile_size=32, copies=10, negative_ratio=1.3)
    ts = build_training_set(session.items, session.features, options)
    m = ts.metadata
    assert (m["positive_boxes"], m["negative_boxes"]) == (4, 3)
    assert int(ts.positive.sum()) == 40 and int((~ts.positive).sum()) == 52  # 1.3 negatives per positive tile
    assert ts.x.shape == ts.y.shape == (92, 32, 32, 1) and m["voxel_size"] == 12.0
    for x, y in zip(ts.x[..., 0], ts.y[..., 0]):
        np.testing.assert_allclose(x.mean(), 0, atol=1e-4)  # normalised per tile
        known = y < 1.5  # off-centre copies ignore what lies outside every box
        if (y[known] > 0.5).any() and not (y[known] > 0.5).all():
            # Rotations and flips moved image and label together: labelled pixels are the bright ones.
            np.testing.assert_array_equal((y > 0.5)[known], (x > (x.min() + x.max()) / 2)[known])
    assert not ts.y[~ts.positive].any()
    without = build_training_set(session.items, session.features, TrainingSetOptions("Membrane", tile_size=32))
    assert without.metadata["negative_boxes"] == 2  # only Membrane's own empty boxes


def test_shifted_copies_stay_aligned_and_ignore_what_no_box_vouches_for():
    session, _ = blob_session()
    options = TrainingSetOptions("Membrane", ["Carbon"], tile_size=32, copies=10, shift=0.25, seed=3)
    ts = build_training_set(session.items, session.features, options)
    assert ts.metadata["shift"] == 0.25
    positive_x, positive_y = ts.x[ts.positive, ..., 0], ts.y[ts.positive, ..., 0]
    known = positive_y < 1.5
    assert (~known).any() and known.mean() > 0.5  # off-centre copies reach beyond their boxes
    distinct = {x.tobytes() for x in positive_x}
    assert len(distinct) > 4 * 8  # more than the 4 boxes' 8 orientations
    for x, y in zip(positive_x, positive_y):
        inside = y < 1.5
        bright = x > (x.min() + x.max()) / 2
        np.testing.assert_array_equal((y > 0.5)[inside], bright[inside])  # label and image still aligned
    assert not ts.y[~ts.positive].any()  # negatives are never shifted


def test_all_eight_orientations_are_distinct():
    tile = np.arange(16).reshape(4, 4)
    assert len({orient(tile, k).tobytes() for k in range(8)}) == 8


def test_volume_normalisation_and_no_positive_boxes():
    session, _ = blob_session()
    ts = build_training_set(session.items, session.features,
                            TrainingSetOptions("Membrane", tile_size=32, normalisation="volume"))
    assert ts.metadata["normalisation"] == "volume"
    bright = ts.x[(ts.y > 0.5) & (ts.y < 1.5)]  # voxels of value 5.0 in every tile: one scale means one value
    assert bright.max() - bright.min() < 1e-4 and bright.min() > 1
    with pytest.raises(AisError, match="no box of Carbon holds Carbon annotation"):
        build_training_set(session.items, session.features, TrainingSetOptions("Carbon", tile_size=32))


def test_training_set_file_round_trip_split_and_preview(tmp_path):
    ts = tiny_set()
    path = ts.save(tmp_path / "set.npz")
    again = TrainingSet.load(path)
    np.testing.assert_array_equal(again.x, ts.x)
    np.testing.assert_array_equal(again.y, ts.y)
    assert again.metadata["feature"] == "Membrane" and again.summary() == ts.summary()
    train_part, val_part = ts.split(0.25)
    assert not set(train_part.groups) & set(val_part.groups)  # no box on both sides
    assert len(train_part) + len(val_part) == len(ts)
    assert val_part.positive.any() and (~val_part.positive).any()  # both kinds held back, to calibrate
    assert train_part.positive.any() and (~train_part.positive).any()
    grid = ts.preview(count=12, columns=6)
    assert grid.shape == (2 * 36 + 4, 6 * 36 + 4, 3) and grid.dtype == np.uint8
    (tmp_path / "bad.npz").write_bytes(b"nonsense")
    with pytest.raises(AisError, match="bad.npz.*not an Ais-Qt training set"):
        TrainingSet.load(tmp_path / "bad.npz")


# -------------------------------------------------------------- architectures
@pytest.mark.parametrize("key", BUILTIN_MODULES)
def test_every_architecture_trains_one_epoch_and_predicts_any_size(key, library):
    ts = tiny_set(tile=32)
    network = train(ts, TrainSettings(architecture=key, epochs=1, batch_size=8), library)
    assert len(network.info.history["loss"]) == 1 and np.isfinite(network.info.history["loss"][0])
    out = network.predict(np.zeros((2, 64, 96, 1), np.float32))
    assert out.shape == (2, 64, 96, 1) and 0 <= out.min() and out.max() <= 1
    assert network.info.architecture == key and library.get(key).doc


def test_wrong_tile_size_for_the_architecture(library):
    ts = tiny_set(tile=24)
    with pytest.raises(AisError, match="multiple of 16"):
        train(ts, TrainSettings(architecture="unet", epochs=1), library)


def test_parameters_are_checked(library):
    unet = library.get("unet")
    assert unet.checked_params({"depth": "3"})["depth"] == 3
    with pytest.raises(AisError, match="no parameter 'width'"):
        unet.checked_params({"width": 3})
    with pytest.raises(AisError, match="must be int"):
        unet.checked_params({"depth": "deep"})


# ------------------------------------------------------------------- training
def test_stop_after_a_batch_keeps_a_usable_model(library):
    ts = tiny_set()
    events = []
    progress = Progress(None, events.append)
    original = progress.event

    def stop_after_three(payload):
        original(payload)
        if payload.get("batch") == 3:
            progress.cancel()

    progress.event = stop_after_three
    network = train(ts, TrainSettings(epochs=50, batch_size=8), library, progress)
    assert network.info.training["stopped_early"] and len(network.info.history["batch_loss"]) == 3
    assert network.predict(ts.x[:2]).shape == (2, 32, 32, 1)


class FakeModel:
    def __init__(self):
        self.weights = "start"

    def get_weights(self):
        return self.weights

    def set_weights(self, weights):
        self.weights = weights


def test_best_epoch_weights_are_kept_after_a_stop():
    model = FakeModel()
    monitor = _Monitor(model, Progress(), epochs=5, batches=2)
    for epoch_loss, label in ((0.5, "e1"), (0.3, "e2"), (0.4, "e3")):
        model.weights = label
        monitor.batch_end(0, epoch_loss)
        monitor.epoch_end(epoch_loss, None)
    model.weights = "partial"
    monitor.progress.cancel()
    monitor.batch_end(0, 0.9)
    monitor.finish()
    assert model.weights == "e2"


def test_validation_metrics_are_reported(library):
    network = train(tiny_set(), TrainSettings(epochs=2, batch_size=8, validation_split=0.3), library)
    assert len(network.info.history["val_loss"]) == 2
    assert 0 <= network.info.metrics["dice"] <= 1 and network.info.metrics["validation_tiles"] > 0


def test_dice_iou():
    t = np.zeros((4, 4))
    t[:2] = 1
    p = np.zeros((4, 4))
    p[1:3] = 0.9
    assert dice_iou(t, p) == (0.5, pytest.approx(1 / 3))
    assert dice_iou(np.zeros(3), np.zeros(3)) == (1.0, 1.0)


# ----------------------------------------------------------------- model files
def test_network_file_round_trip(tmp_path, library):
    network = train(tiny_set(), TrainSettings(architecture="unet_light", epochs=1, batch_size=8), library)
    network.set(threshold=0.7, colour="#123456")
    path = network.save(tmp_path / "membrane")
    assert path.name == "membrane.aisnet"
    loaded = Network.load(path, library)
    x = np.random.default_rng(1).normal(size=(2, 32, 32, 1)).astype(np.float32)
    np.testing.assert_allclose(loaded.predict(x), network.predict(x), atol=1e-6)
    info = loaded.info
    assert (info.feature, info.threshold, info.colour, info.tile_size, info.voxel_size) == \
           ("Membrane", 0.7, "#123456", 32, 12.0)
    assert info.history["loss"] and info.training["epochs"] == 1 and info.app_version
    with zipfile.ZipFile(path) as archive:
        ais = json.loads(archive.read("network.json"))["ais"]
    assert {"title", "colour", "apix", "box_size", "arch", "threshold", "emit", "absorb"} <= set(ais)


def test_bad_network_files(tmp_path, library):
    (tmp_path / "junk.aisnet").write_bytes(b"junk")
    with pytest.raises(AisError, match="junk.aisnet.*not an Ais-Qt network file"):
        Network.load(tmp_path / "junk.aisnet", library)
    network = train(tiny_set(), TrainSettings(architecture="eman2", epochs=1, batch_size=8), library)
    path = network.save(tmp_path / "n.aisnet")
    with zipfile.ZipFile(path) as archive:
        items = {n: archive.read(n) for n in archive.namelist()}
    doc = json.loads(items["network.json"])
    doc["architecture"], doc["architecture_title"] = "plugin_mynet", "MyNet"
    unknown = tmp_path / "unknown.aisnet"
    with zipfile.ZipFile(unknown, "w") as archive:
        archive.writestr("network.json", json.dumps(doc))
        archive.writestr("model.keras", items["model.keras"])
    with pytest.raises(AisError, match="'MyNet'.*not installed"):
        Network.load(unknown, library)
    truncated = tmp_path / "truncated.aisnet"
    truncated.write_bytes(path.read_bytes()[:2000])
    with pytest.raises(AisError, match="truncated.aisnet"):
        Network.load(truncated, library)


def test_a_model_that_would_run_code_is_refused(tmp_path, library):
    from ais_qt.models.backend import keras
    from ais_qt.models.learning.network import new_info

    k = keras()
    inputs = k.Input((None, None, 1))
    model = k.Model(inputs, k.layers.Lambda(lambda t: t * 2)(inputs))
    network = Network(new_info("Evil", "#ff0000", library.get("eman2"), {}, 32), model)
    network.info.history = {"loss": [1.0]}
    path = network.save(tmp_path / "evil.aisnet")
    with pytest.raises(AisError, match="evil.aisnet.*cannot load safely"):
        Network.load(path, library)


# ------------------------------------------------------------------- plugins
def test_plugins_load_and_broken_ones_are_reported(tmp_path):
    (tmp_path / "tiny.py").write_text(
        "from ais_qt.models.backend import keras\n"
        "title = 'Tiny'\nparams = {'filters': 4}\n"
        "def create(tile_size, filters=4):\n"
        "    k = keras()\n    i = k.Input((None, None, 1))\n"
        "    return k.Model(i, k.layers.Conv2D(1, 3, padding='same', activation='sigmoid')("
        "k.layers.Conv2D(filters, 3, padding='same')(i)))\n")
    (tmp_path / "syntax.py").write_text("title = 'Broken'\ndef create(:\n")
    (tmp_path / "nocreate.py").write_text("title = 'Half'\nparams = {}\n")
    (tmp_path / "raises.py").write_text("raise RuntimeError('boom')\n")
    library = ArchitectureLibrary(tmp_path)
    assert library.find("tiny").title == "Tiny" and library.find("UNet").key == "unet"
    problems = "\n".join(library.problems)
    assert "syntax.py: skipped, SyntaxError" in problems and "nocreate.py: skipped" in problems
    assert "raises.py: skipped, RuntimeError: boom" in problems and len(library.problems) == 3
    network = train(tiny_set(), TrainSettings(architecture="plugin_tiny", epochs=1, batch_size=8), library)
    assert network.predict(np.zeros((1, 32, 32, 1), np.float32)).shape == (1, 32, 32, 1)


# -------------------------------------------------------------------- learning
def learn_membrane(volume: Tomogram, labels: Tomogram, label_value: int, train_z, test_z):
    """Annotate a few slices from ground truth, box them, train at the defaults, score unseen slices
    at the network's own threshold. Only the training length is cut (about 150 batches instead of
    600), to keep the suite within minutes; bench/quality.py measures the full defaults."""
    session = Session()
    editor = Editor(session)
    item = session.add(volume)
    membrane = editor.add_feature("Membrane")
    _, ny, nx = volume.shape
    for z in train_z:
        editor.set_slice_masks("truth", item, membrane.id, {z: np.asarray(labels.data[z]) == label_value})
        for y in range(32, ny - 31, 64):
            for x in range(32, nx - 31, 64):
                editor.place_box(item, z, x, y)
    ts = build_training_set(session.items, session.features, TrainingSetOptions("Membrane"))
    network = train(ts, TrainSettings(auto_steps=150), ArchitectureLibrary())
    assert network.info.threshold == 0.5 and "warning" not in network.info.metrics

    def normalised(z):
        s = volume.slice(z)
        return (s - s.mean()) / s.std()

    truth = np.stack([np.asarray(labels.data[z]) == label_value for z in test_z])
    prediction = network.predict(np.stack([normalised(z) for z in test_z])[..., None].astype(np.float32))[..., 0]
    dice = dice_iou(truth, prediction, network.info.threshold)[0]
    everything = dice_iou(truth, np.ones_like(prediction))[0]
    smooth = np.stack([ndimage.gaussian_filter(volume.slice(z), 1.5) for z in test_z])
    dark = smooth if np.mean(smooth[truth]) < np.mean(smooth[~truth]) else -smooth
    threshold = max(dice_iou(truth, (dark < np.percentile(dark, q)).astype(float))[0] for q in range(1, 40))
    print(f"membrane Dice on unseen slices {dice:.3f}; baselines: everything {everything:.3f}, "
          f"best intensity threshold {threshold:.3f}; {network.info.training['seconds']} s training")
    return dice, everything, threshold


def test_unet_learns_membranes_on_the_built_in_sample():
    from ais_qt.models.volumes.sample import ensure_sample, sample_paths

    path = ensure_sample()
    dice, everything, threshold = learn_membrane(Tomogram.open(path), Tomogram.open(sample_paths()["labels"]), 1,
                                                 train_z=(40, 56, 72, 88), test_z=(48, 64, 80))
    assert dice > 0.5 and dice > threshold + 0.08 and dice > 4 * everything


def test_unet_learns_membranes_on_the_shared_synthetic_scene():
    volume = Tomogram.open(shared_file("synthetic_mixed_10A/tomogram_snr0.5.mrc"))
    labels = Tomogram.open(shared_file("synthetic_mixed_10A/labels.mrc.gz"))
    dice, everything, threshold = learn_membrane(volume, labels, 1, train_z=(50, 60, 70, 80), test_z=(55, 65, 75))
    assert dice > 0.6 and dice > threshold + 0.2 and dice > 3 * everything


def test_retraining_never_touches_the_live_network_off_the_gui_thread():
    library = ArchitectureLibrary()
    first = train(tiny_set(), TrainSettings(architecture="unet_light", epochs=1, batch_size=8), library)
    first.set(threshold=0.7, colour="#123456")
    model_before, events = first.model, []
    first.changed.connect(lambda: events.append(1))
    again = train(tiny_set(), TrainSettings(architecture="unet_light", epochs=1, batch_size=8), library, network=first)
    assert again is not first and first.model is model_before and not events  # untouched in the worker
    assert again.info.colour == "#123456"  # display settings carried over...
    assert again.info.threshold == 0.5  # ...but not the threshold: new weights, new (calibrated) boundary
    first.adopt(again)  # what the controller does on the GUI thread
    assert first.model is again.model and first.info.threshold == 0.5 and events == [1]
