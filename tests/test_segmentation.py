"""Inference, interactions and whole-volume segmentation."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from types import SimpleNamespace

import numpy as np
import pytest

from ais_qt.models.learning.architectures import ArchitectureLibrary
from ais_qt.models.errors import AisError
from ais_qt.models.learning.inference import SlicePredictor, _window
from ais_qt.models.learning.interactions import (Interaction, InteractionGraph, avoid, colocalize, compete,
                                        radius_in_pixels)
from ais_qt.models.progress import Cancelled, Progress
from ais_qt.models.learning.segmentation import open_segmentation, output_path, parse_roi, segment_volume
from ais_qt.models.volumes.tomogram import Tomogram
from ais_qt.models.learning.training import TrainSettings, train
from tests.conftest import write_mrc
from tests.test_networks import tiny_set


@pytest.fixture(scope="module")
def network():
    return train(tiny_set(), TrainSettings(architecture="unet_light", epochs=1, batch_size=8), ArchitectureLibrary())


# ------------------------------------------------------------------ tiling
def test_blend_weights_are_a_partition_of_unity():
    t, m, r = 64, 8, 6
    w = _window(t, m, r)
    step = t - 2 * m - r
    total = np.zeros(t + 3 * step)
    for start in range(0, 3 * step + 1, step):
        total[start:start + t] += w
    np.testing.assert_allclose(total[m + r:3 * step + t - m - r], 1.0, atol=1e-6)


def test_tiled_equals_whole_slice_away_from_edges_and_has_no_seam(network):
    library = ArchitectureLibrary()
    image = np.random.default_rng(0).normal(size=(300, 360)).astype(np.float32)
    norm = (image - image.mean()) / image.std()
    whole = network.predict(np.pad(norm, ((0, 4), (0, 8)))[None, ..., None])[0, :300, :360, 0]
    tiled = SlicePredictor(network, tile=192, library=library).predict(image)
    assert tiled.shape == image.shape
    # Within one output level: the CPU engine may compute in bfloat16 (a tiling error is far larger).
    np.testing.assert_allclose(tiled[48:-48, 48:-48], whole[48:-48, 48:-48], atol=1 / 255)
    # No seam: next to tile joins, neighbouring columns differ no more than elsewhere.
    jumps = np.abs(np.diff(tiled, axis=1))[48:-48, 48:-48]
    assert jumps.max() <= np.abs(np.diff(whole, axis=1))[48:-48, 48:-48].max() + 1 / 255


class LooksLeft:
    """A pretend network whose answer at each pixel is the input one pixel to its left: not the same
    in any two orientations, so averaging over orientations shows in every pixel."""

    info = SimpleNamespace(architecture="pretend", params={"multiple": 1}, tile_size=64, voxel_size=None)

    def predict(self, tiles, batch_size=None, wait=True):
        return np.roll(tiles, 1, axis=2)


def test_orientations_average_each_slice_turned_and_turned_back():
    image = np.random.default_rng(5).uniform(0.2, 0.8, size=(70, 90)).astype(np.float32)
    inner = (slice(20, -20), slice(20, -20))
    left, right = np.roll(image, 1, axis=1)[inner], np.roll(image, -1, axis=1)[inner]
    up, down = np.roll(image, 1, axis=0)[inner], np.roll(image, -1, axis=0)[inner]

    def predicted(count):
        return SlicePredictor(LooksLeft(), orientations=count).predict(image, stats=(0.0, 1.0))

    np.testing.assert_allclose(predicted(1)[inner], left, atol=1e-6)
    # The mirror images keep rows as rows: left and right; all 8 add the quarter turns (up, down).
    np.testing.assert_allclose(predicted(4)[inner], (left + right) / 2, atol=1e-6)
    np.testing.assert_allclose(predicted(8)[inner], (left + right + up + down) / 4, atol=1e-6)
    assert predicted(8).shape == image.shape
    with pytest.raises(ValueError, match="orientations"):
        SlicePredictor(LooksLeft(), orientations=3)


def test_slices_predicted_together_give_what_each_gives_alone(tmp_path, network, monkeypatch):
    """On a GPU several slices share the network's batches (slices_at_once); the answers must not
    change, for tiled slices, for whole slices as Ais pads them, and for a whole volume."""
    from ais_qt.models.learning import segmentation
    from ais_qt.models.learning.network import Network
    from tests.test_ais_interop import DATA

    library = ArchitectureLibrary()
    slices = list(np.random.default_rng(3).normal(size=(5, 150, 170)).astype(np.float32))
    imported = Network.load(DATA / "ais_tiny.scnm", library)
    for net, tile in ((network, 64), (network, 640), (imported, 640)):
        predictor = SlicePredictor(net, tile=tile, library=library)
        together = predictor.predict_many(slices)
        for image, mine in zip(slices, together):
            np.testing.assert_allclose(mine, predictor.predict(image), atol=1e-5)
    predictor = SlicePredictor(network, library=library)
    assert predictor.slices_at_once((150, 170), on_gpu=False) == 1
    assert predictor.slices_at_once((384, 384), on_gpu=True) == 18  # one 416 px tile each; 8 of 640 px: 3.3 Mpx
    assert predictor.slices_at_once((1024, 1024), on_gpu=True) == 2  # one 1056 px tile each
    assert predictor.slices_at_once((4096, 4096), on_gpu=True) == 1

    volume = np.random.default_rng(4).normal(size=(7, 80, 90)).astype(np.float32)
    tomo = write_mrc(tmp_path / "TS_02.rec", volume, voxel_size=12.0)
    (alone,) = segment_volume(tomo, [network], tmp_path / "cpu", library=library)
    monkeypatch.setenv("AIS_QT_ENGINE", "keras")
    monkeypatch.setattr(segmentation, "may_have_gpu", lambda: True)
    on_gpu = Network.load(network.save(tmp_path / "again.aisnet"), library)  # its engine: Keras
    asked = []
    original = on_gpu.predict
    monkeypatch.setattr(on_gpu, "predict", lambda tiles, *a, **k: asked.append(tiles.shape) or original(tiles, *a, **k))
    monkeypatch.setattr(SlicePredictor, "slices_at_once", lambda *a: 3)
    (together,) = segment_volume(tomo, [on_gpu], tmp_path / "gpu", library=library)
    assert asked == [(3, 112, 128, 1)] * 3  # 7 slices: three calls of one shape, the last filled up
    np.testing.assert_allclose(np.asarray(Tomogram.open(together).data, np.int32),
                               np.asarray(Tomogram.open(alone).data, np.int32), atol=1)


def test_rescaling_to_the_training_voxel_size(network):
    predictor = SlicePredictor(network, tile=128, library=ArchitectureLibrary())
    assert network.info.voxel_size == 12.0
    assert predictor.scale_for(24.0) == 2.0 and predictor.scale_for(12.05) == 1.0 and predictor.scale_for(None) == 1.0
    out = predictor.predict(np.random.default_rng(1).normal(size=(50, 70)).astype(np.float32), scale=2.0)
    assert out.shape == (50, 70)


# ------------------------------------------------------------ interactions
def test_colocalize_and_avoid_exactly():
    child = np.full((1, 9), 0.8, np.float32)
    parent = np.zeros((1, 9), np.float32)
    parent[0, 4] = 0.9
    f = np.float32
    np.testing.assert_array_equal(colocalize(child, parent, 0.5, 0), f([[0, 0, 0, 0, 0.8, 0, 0, 0, 0]]))
    np.testing.assert_array_equal(colocalize(child, parent, 0.5, 2), f([[0, 0, 0.8, 0.8, 0.8, 0.8, 0.8, 0, 0]]))
    np.testing.assert_array_equal(avoid(child, parent, 0.5, 2), f([[0.8, 0.8, 0, 0, 0, 0, 0, 0.8, 0.8]]))
    np.testing.assert_array_equal(colocalize(child, parent, 0.95, 2), np.zeros((1, 9)))  # parent below threshold


def test_competition_zeroes_absorbers_where_an_emitter_is_higher():
    a = np.array([[0.9, 0.2, 0.5]], np.float32)
    b = np.array([[0.1, 0.6, 0.5]], np.float32)
    c = np.array([[0.3, 0.3, 0.9]], np.float32)
    out = compete({"a": a, "b": b, "c": c}, emitters=["a", "c"], absorbers=["b", "a"])
    np.testing.assert_array_equal(out["b"], np.float32([[0, 0.6, 0]]))  # a higher at 0, c higher at 2
    np.testing.assert_array_equal(out["a"], np.float32([[0.9, 0, 0]]))  # c (0.3, 0.9) higher at 1 and 2
    np.testing.assert_array_equal(out["c"], c)


def test_radius_conversion_and_graph_order(tmp_path):
    assert radius_in_pixels(5, 10.0) == 5.0 and radius_in_pixels(5, 25.0) == 2.0 and radius_in_pixels(0, None) == 0
    with pytest.raises(AisError, match="voxel size"):
        radius_in_pixels(3, None)
    graph = InteractionGraph()
    graph.set_role("Membrane", emit=True)
    graph.set_role("Ribosome", absorb=True)
    graph.add(Interaction("Protein", "Membrane", "colocalize", 0.5, radius_nm=2.0))
    graph.add(Interaction("Protein", "Ribosome", "avoid", 0.5, radius_nm=0.0))
    membrane = np.zeros((1, 12), np.float32)
    membrane[0, 2] = 1
    ribosome = np.zeros((1, 12), np.float32)
    ribosome[0, [3, 8]] = 0.7
    protein = np.full((1, 12), 0.6, np.float32)
    out = graph.apply({"Membrane": membrane, "Ribosome": ribosome, "Protein": protein}, voxel_size=10.0)
    # Competition first: Membrane (emitter) is 0 where the Ribosome is, so the Ribosome keeps both pixels.
    np.testing.assert_array_equal(out["Ribosome"], ribosome)
    # Colocalize within 2 px of Membrane (pixels 0-4), then avoid Ribosome (pixel 3).
    np.testing.assert_array_equal(out["Protein"][0] > 0, [1, 1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0])
    path = graph.save(tmp_path / "graph.json")
    assert InteractionGraph.load(path) == graph
    (tmp_path / "bad.json").write_text(json.dumps({"edges": [{"child": "a"}]}))
    with pytest.raises(AisError, match="bad.json.*not a valid interaction graph"):
        InteractionGraph.load(tmp_path / "bad.json")
    with pytest.raises(AisError, match="itself"):
        Interaction("a", "a")


def test_graph_editing_is_undoable_and_loading_keeps_the_same_graph(tmp_path):
    from ais_qt.models.annotation.editing import Editor
    from ais_qt.models.project import load_project, save_project
    from ais_qt.models.session import Session

    session = Session()
    graph, editor, events = session.interactions, Editor(session), []
    graph.changed.connect(lambda: events.append(1))
    editor.edit_interactions("link", lambda g: g.add(Interaction("Protein", "Membrane")))
    editor.edit_interactions("link", lambda g: g.add(Interaction("Ribosome", "Membrane", "avoid")))
    editor.edit_interactions("t", lambda g: g.update("Protein", "Membrane", threshold=0.3), merge_key="t")
    editor.edit_interactions("t", lambda g: g.update("Protein", "Membrane", threshold=0.2), merge_key="t")
    editor.edit_interactions("order", lambda g: g.move("Ribosome", "Membrane", -1))
    assert [(e.child, e.threshold) for e in graph.edges] == [("Ribosome", 0.5), ("Protein", 0.2)]
    assert events and session.history.dirty
    editor.undo()  # the order
    editor.undo()  # both threshold steps at once
    assert [(e.child, e.threshold) for e in graph.edges] == [("Protein", 0.5), ("Ribosome", 0.5)]
    editor.redo()
    with pytest.raises(AisError, match="kind"):
        graph.update("Protein", "Membrane", kind="attract")
    graph.add(Interaction("Membrane", "Protein"))  # the same pair the other way round replaces it
    assert [(e.child, e.parent) for e in graph.edges] == [("Ribosome", "Membrane"), ("Membrane", "Protein")]
    assert graph.nodes() == ["Membrane", "Ribosome", "Protein"]
    with pytest.raises(AisError):
        graph.restore({"edges": [{"child": "x", "parent": "x"}]})
    assert len(graph.edges) == 2  # a bad graph changes nothing
    saved = graph.to_dict()
    save_project(session, tmp_path / "p.aisqt")
    session.clear()
    assert session.interactions is graph and not graph.edges
    load_project(tmp_path / "p.aisqt", session, Tomogram.open)
    assert session.interactions is graph and graph.to_dict() == saved


# ------------------------------------------------------------------ volumes
def test_segment_volume_outputs_skip_overwrite_roi(tmp_path, network):
    volume = np.random.default_rng(2).normal(size=(5, 80, 90)).astype(np.float32)
    tomo = write_mrc(tmp_path / "TS_01.rec", volume, voxel_size=12.0)
    out = tmp_path / "out"
    (path,) = segment_volume(tomo, [network], out, tile=64, library=ArchitectureLibrary())
    assert path == output_path(tomo, "Membrane", out) and path.name == "TS_01__Membrane.mrc"
    seg = Tomogram.open(path)
    assert seg.dtype == np.uint16 and seg.shape == (5, 80, 90) and seg.voxel_size == 12.0
    expected = SlicePredictor(network, tile=64, library=ArchitectureLibrary()).predict(volume[3])
    np.testing.assert_allclose(np.asarray(seg.data[3]), np.round(expected * 255), atol=1)
    stamp = path.stat().st_mtime_ns
    segment_volume(tomo, [network], out, tile=64)
    assert path.stat().st_mtime_ns == stamp  # skipped
    segment_volume(tomo, [network], out, overwrite=True, roi="1:3,10:50,", tile=64)
    seg = np.asarray(Tomogram.open(path).data)
    assert not seg[0].any() and not seg[4].any() and not seg[1, :10].any() and not seg[1, 50:].any()
    assert parse_roi("40:80,,", (100, 20, 30)) == (slice(40, 80), slice(0, 20), slice(0, 30))
    with pytest.raises(AisError, match="empty"):
        parse_roi("5:5,,", (10, 10, 10))


def test_every_output_type_reads_the_same_in_mrcfile_and_here_on_the_input_grid(tmp_path, network):
    """mrcfile (napari, Ais, scripts) reads the default mode 6 as the levels themselves; float32
    holds probabilities; the compact IMOD-style uint8 is signed to mrcfile but right here (and in IMOD).
    The tomogram's voxel size, origin and start indices are copied."""
    import mrcfile

    rng = np.random.default_rng(5)
    tomo = tmp_path / "TS_02.mrc"
    with mrcfile.new(tomo) as mrc:
        mrc.set_data((rng.normal(size=(3, 64, 64)) * 3).astype(np.float32))
        mrc.voxel_size = 7.5
        mrc.header.origin = (100.0, -20.0, 3.5)
        mrc.header.nxstart, mrc.header.nystart, mrc.header.nzstart = 4, 5, 6
    levels = {}
    for dtype in ("uint16", "float32", "uint8"):
        (path,) = segment_volume(tomo, [network], tmp_path / dtype, tile=64, dtype=dtype)
        with mrcfile.open(path) as mrc:
            raw = np.array(mrc.data)
            assert float(mrc.voxel_size.x) == 7.5
            assert tuple(float(mrc.header.origin[a]) for a in "xyz") == (100.0, -20.0, 3.5)
            assert (int(mrc.header.nxstart), int(mrc.header.nystart), int(mrc.header.nzstart)) == (4, 5, 6)
            assert float(mrc.header.dmax) == raw.astype(np.float64).max() or dtype == "uint8"
        levels[dtype] = np.asarray(open_segmentation(path, (3, 64, 64)).data[...], np.float32)
        if dtype == "uint16":
            assert raw.dtype == np.uint16 and raw.max() > 127  # the same numbers in mrcfile
            np.testing.assert_array_equal(raw, levels[dtype])
        elif dtype == "float32":
            assert 0 <= raw.min() and raw.max() <= 1
        else:
            assert raw.dtype == np.int8 and raw.min() < 0  # what mrcfile makes of IMOD's unsigned bytes
    np.testing.assert_allclose(levels["float32"], levels["uint16"], atol=0.5 + 1e-3)
    np.testing.assert_array_equal(levels["uint8"], levels["uint16"])
    with pytest.raises(AisError, match="output type must be one of"):
        segment_volume(tomo, [network], tmp_path / "x", dtype="int64", overwrite=True)


def test_radii_without_a_voxel_size_fail_before_any_output_naming_the_file(tmp_path, network):
    tomo = write_mrc(tmp_path / "novoxel.mrc", np.zeros((2, 64, 64), np.float32), voxel_size=0)
    graph = InteractionGraph()
    graph.add(Interaction("Membrane", "Other", radius_nm=5))
    with pytest.raises(AisError, match=r"novoxel\.mrc: interaction radii are in nm.*--voxel-size"):
        segment_volume(tomo, [network], tmp_path / "out", graph, tile=64)
    assert not any((tmp_path / "out").iterdir())
    (path,) = segment_volume(tomo, [network], tmp_path / "out", graph, tile=64, voxel_size=10.0)
    assert Tomogram.open(path).voxel_size == 10.0


def test_cancelled_segmentation_leaves_no_output(tmp_path, network):
    tomo = write_mrc(tmp_path / "t.mrc", np.zeros((6, 64, 64), np.float32))
    progress = Progress(lambda f, m: f > 0.3 and progress.cancel())
    with pytest.raises(Cancelled):
        segment_volume(tomo, [network], tmp_path / "out", tile=64, progress=progress)
    assert list((tmp_path / "out").iterdir()) == []  # no half-written file, not even a temporary one


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc for memory use")
def test_memory_stays_bounded_on_a_volume_bigger_than_what_it_uses(tmp_path, network):
    """Segmenting a 160 MB volume grows the program's own (anonymous) memory far less than the
    volume: slices stream. Mapped file pages are page cache, which the system reclaims at will."""
    model = network.save(tmp_path / "m.aisnet")
    big = tmp_path / "big.mrc"
    import mrcfile

    with mrcfile.new_mmap(big, shape=(160, 512, 512), mrc_mode=2) as mrc:
        for z in range(160):
            mrc.data[z] = np.random.default_rng(z).normal(size=(512, 512))
        mrc.voxel_size = 12.0
    script = textwrap.dedent(f"""
        import numpy as np
        from ais_qt.models.learning.architectures import ArchitectureLibrary
        from ais_qt.models.learning.network import Network
        from ais_qt.models.learning.segmentation import segment_volume
        from ais_qt.models.volumes.tomogram import Tomogram
        lib = ArchitectureLibrary(); net = Network.load({str(model)!r}, lib)
        net.predict(np.zeros((2, 512, 512, 1), np.float32))  # load and warm up the backend first
        from ais_qt.models.learning.inference import SlicePredictor
        SlicePredictor(net, library=lib).predict(Tomogram.open({str(big)!r}).slice(0))
        from ais_qt.models.progress import Progress
        def anon():
            for line in open("/proc/self/status"):
                if line.startswith("RssAnon:"):
                    return int(line.split()[1]) // 1024
        before, peak = anon(), [0]
        segment_volume({str(big)!r}, [net], {str(tmp_path / 'out')!r}, library=lib,
                       progress=Progress(lambda f, m: peak.append(anon())))
        print(max(max(peak), anon()) - before)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    grew_mb = int(result.stdout.strip().splitlines()[-1])
    print(f"anonymous memory grew {grew_mb} MB at most while segmenting a 160 MB volume")
    assert grew_mb < 80
