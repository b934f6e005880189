"""Project files (round trip, damage, newer versions, crashes mid-save) and label volume import/export."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time
import zipfile

import numpy as np
import pytest

from ais_qt.models.annotation.editing import Editor
from ais_qt.models.errors import AisError
from ais_qt.models.volumes.label_volumes import parse_numbers, read_label_slices, write_label_volume
from ais_qt.models.project import FORMAT_VERSION, ProjectError, load_project, read_project, save_project
from ais_qt.models.session import Session
from ais_qt.models.volumes.tomogram import Tomogram
from ais_qt.models.volumes.volume_writer import Grid
from tests.conftest import write_mrc


@pytest.fixture
def annotated(tmp_path, volume):
    """A session with two tomograms, two features, strokes and boxes."""
    session = Session()
    editor = Editor(session)
    first = session.open(write_mrc(tmp_path / "a.mrc", volume))
    membrane = editor.add_feature("Membrane")
    editor.begin_stroke(first, 4, 10, 10, radius=3)
    editor.continue_stroke(30, 20)
    editor.end_stroke()
    editor.place_box(first, 4, 20, 20)
    second = session.open(write_mrc(tmp_path / "b.mrc", volume[:6], voxel_size=0))
    second.tomogram.voxel_size = 21.0
    second.display.binning, second.display.sigma = 2, 1.5
    second.z = 2
    ribo = editor.add_feature("Ribosome", "#123456")
    editor.change_feature(ribo, opacity=0.8, visible=False)
    editor.polygon_fill(second, 2, [(5, 5), (25, 5), (25, 25)])
    editor.place_box(second, 2, 40, 30)
    session.box_size = 48
    return session, membrane, ribo


def reopen(path):
    session = Session()
    problems = load_project(path, session, Tomogram.open)
    return session, problems


def test_round_trip_keeps_everything(tmp_path, annotated):
    session, membrane, ribo = annotated
    path = tmp_path / "proj.aisqt"
    save_project(session, path)
    assert not session.history.dirty
    loaded, problems = reopen(path)
    assert problems == []
    assert [(f.id, f.name, f.colour, f.opacity, f.visible) for f in loaded.features] == \
           [(f.id, f.name, f.colour, f.opacity, f.visible) for f in session.features]
    assert loaded.features.active.id == ribo.id and loaded.box_size == 48
    assert [i.tomogram.name for i in loaded.items] == ["a.mrc", "b.mrc"]
    assert loaded.current.tomogram.name == "b.mrc"
    for old, new in zip(session.items, loaded.items):
        assert new.annotation.boxes == old.annotation.boxes
        assert new.annotation.masks.keys() == old.annotation.masks.keys()
        for fid, slices in old.annotation.masks.items():
            assert slices.keys() == new.annotation.masks[fid].keys()
            for z in slices:
                np.testing.assert_array_equal(slices[z], new.annotation.masks[fid][z])
    b = loaded.items[1]
    assert b.tomogram.voxel_size == 21.0 and b.tomogram.voxel_size_is_override
    assert (b.display.binning, b.display.sigma, b.z) == (2, 1.5, 2)
    assert len(loaded.history) == 0 and not loaded.history.dirty


def test_project_is_compressed_and_documented_json(tmp_path, annotated):
    session, *_ = annotated
    path = tmp_path / "proj.aisqt"
    save_project(session, path)
    with zipfile.ZipFile(path) as archive:
        doc = json.loads(archive.read("project.json"))
        assert doc["format"] == "ais-qt-project" and doc["version"] == FORMAT_VERSION
        assert doc["tomograms"][0]["path"] == "a.mrc"  # relative, so a moved folder still opens
        assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in archive.infolist())
    assert path.stat().st_size < 5000


def test_moved_project_folder_still_finds_tomograms(tmp_path, annotated):
    session, *_ = annotated
    save_project(session, tmp_path / "proj.aisqt")
    moved = tmp_path / "moved"
    moved.mkdir()
    for name in ("proj.aisqt", "a.mrc", "b.mrc"):
        (tmp_path / name).rename(moved / name)
    loaded, problems = reopen(moved / "proj.aisqt")
    assert problems == [] and len(loaded.items) == 2


def test_missing_tomogram_keeps_its_annotations_through_a_save(tmp_path, annotated):
    session, *_ = annotated
    path = tmp_path / "proj.aisqt"
    save_project(session, path)
    (tmp_path / "b.mrc").rename(tmp_path / "elsewhere.mrc")
    loaded, problems = reopen(path)
    assert len(problems) == 1 and "b.mrc" in problems[0] and "not found" in problems[0]
    assert [i.tomogram.name for i in loaded.items] == ["a.mrc"]
    save_project(loaded, path)  # saving without b.mrc must not drop b.mrc's work
    (tmp_path / "elsewhere.mrc").rename(tmp_path / "b.mrc")
    again, problems = reopen(path)
    assert problems == [] and len(again.items) == 2
    assert again.items[1].annotation.boxes == session.items[1].annotation.boxes
    assert again.items[1].annotation.annotated_slices(session.features.features[1].id) == [2]


@pytest.mark.parametrize("damage, message", [
    (lambda p: p.write_bytes(b"not a zip at all"), "not an Ais-Qt project or is damaged"),
    (lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]), "damaged"),
    (lambda p: p.write_bytes(b""), "damaged"),
])
def test_damaged_files_give_one_clear_error(tmp_path, annotated, damage, message):
    session, *_ = annotated
    path = tmp_path / "proj.aisqt"
    save_project(session, path)
    damage(path)
    with pytest.raises(ProjectError, match=message) as info:
        reopen(path)
    assert "proj.aisqt" in str(info.value)


def _rewrite(path, edit):
    with zipfile.ZipFile(path) as archive:
        items = {n: archive.read(n) for n in archive.namelist()}
    doc = json.loads(items["project.json"])
    items["project.json"] = json.dumps(edit(doc) or doc).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in items.items():
            archive.writestr(name, data)


def test_newer_and_foreign_files_are_refused_and_left_alone(tmp_path, annotated):
    session, *_ = annotated
    path = tmp_path / "proj.aisqt"
    save_project(session, path)
    _rewrite(path, lambda d: d.update(version=FORMAT_VERSION + 1, app_version="9.0"))
    before = path.read_bytes()
    with pytest.raises(ProjectError, match="newer Ais-Qt.*left unchanged"):
        reopen(path)
    assert path.read_bytes() == before
    _rewrite(path, lambda d: d.update(format="something-else"))
    with pytest.raises(ProjectError, match="not an Ais-Qt project"):
        read_project(path)
    with zipfile.ZipFile(tmp_path / "other.zip", "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(ProjectError, match="no project.json"):
        read_project(tmp_path / "other.zip")


def test_a_mask_of_the_wrong_size_is_reported(tmp_path, annotated):
    session, *_ = annotated
    path = tmp_path / "proj.aisqt"
    save_project(session, path)
    with zipfile.ZipFile(path) as archive:
        items = {n: archive.read(n) for n in archive.namelist()}
    name = next(n for n in items if n.startswith("masks/t0/"))
    items[name] = items[name][:-20]
    with zipfile.ZipFile(path, "w") as archive:
        for n, data in items.items():
            archive.writestr(n, data)
    with pytest.raises(ProjectError, match="damaged"):
        reopen(path)


def test_failure_midway_through_a_save_leaves_the_old_file(tmp_path, annotated, monkeypatch):
    session, membrane, _ = annotated
    path = tmp_path / "proj.aisqt"
    save_project(session, path)
    good = path.read_bytes()
    calls = {"n": 0}
    real = zipfile.ZipFile.writestr

    def failing(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "writestr", failing)
    with pytest.raises(OSError):
        save_project(session, path)
    assert path.read_bytes() == good and session.history.dirty is False
    assert [p.name for p in tmp_path.iterdir() if "partial" in p.name] == []


def test_kill_during_save_never_corrupts_the_last_good_file(tmp_path, volume):
    """A separate process saves a big project over and over; kill -9 it at several moments."""
    tomo = write_mrc(tmp_path / "big.mrc", np.zeros((40, 512, 512), np.float32))
    path = tmp_path / "big.aisqt"
    script = textwrap.dedent(f"""
        import numpy as np, sys
        from ais_qt.models.annotation.editing import Editor
        from ais_qt.models.session import Session
        from ais_qt.models.project import save_project
        session = Session(); editor = Editor(session)
        item = session.open({str(tomo)!r}); editor.add_feature()
        rng = np.random.default_rng(0)
        for z in range(40):  # noisy masks compress badly: each save takes a while
            item.annotation.put(1, z, (0, 512, 0, 512), rng.random((512, 512)) > 0.5)
        save_project(session, {str(path)!r}); print("saved", flush=True)
        while True:
            save_project(session, {str(path)!r})
    """)
    for delay in (0.05, 0.2, 0.45):
        proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "saved"
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        session, problems = reopen(path)
        assert problems == [] and len(session.items[0].annotation.annotated_slices(1)) == 40


# -------------------------------------------------------------- label volumes
def test_label_volume_import_on_chosen_slices_and_export(tmp_path, volume):
    labels = np.zeros(volume.shape, np.uint8)
    labels[2, 5:15, 5:25] = 3
    labels[7, 20:30, 10:20] = 3
    labels[7, 0:4, 0:4] = 1
    path = write_mrc(tmp_path / "labels.mrc", labels.astype(np.int8))
    masks = read_label_slices(path, volume.shape, 3)
    assert sorted(masks) == [2, 7] and masks[2].sum() == 200
    only = read_label_slices(path, volume.shape, 3, slices=[7, 9])
    assert sorted(only) == [7, 9] and not only[9].any()
    both = read_label_slices(path, volume.shape, [1, 3])  # several values as one feature
    assert sorted(both) == [2, 7] and both[7].sum() == 100 + 16

    session = Session()
    editor = Editor(session)
    item = session.open(write_mrc(tmp_path / "t.mrc", volume))
    feature = editor.add_feature()
    editor.set_slice_masks("Import labels", item, feature.id, masks)
    assert item.annotation.annotated_slices(feature.id) == [2, 7]
    editor.undo()
    assert item.annotation.annotated_slices(feature.id) == []
    editor.redo()

    out = write_label_volume(item.annotation.copy_masks(feature.id), volume.shape, Grid(13.5), tmp_path / "f.mrc")
    exported = Tomogram.open(out)
    assert exported.dtype == np.uint8 and exported.voxel_size == 13.5
    np.testing.assert_array_equal(np.asarray(exported.data), (labels == 3).astype(np.uint8))


def test_label_volume_problems(tmp_path, volume):
    wrong = write_mrc(tmp_path / "wrong.mrc", np.zeros((3, 4, 5), np.int8))
    with pytest.raises(AisError, match="wrong.mrc.*shape 3 × 4 × 5 does not match"):
        read_label_slices(wrong, volume.shape, 1)
    empty = write_mrc(tmp_path / "empty.mrc", np.zeros(volume.shape, np.int8))
    with pytest.raises(AisError, match="no voxels with label value 2"):
        read_label_slices(empty, volume.shape, 2)
    with pytest.raises(AisError, match="no voxels with label value 4, 5"):
        read_label_slices(empty, volume.shape, [5, 4])
    assert parse_numbers("4-6, 9", "label value") == [4, 5, 6, 9]
    with pytest.raises(AisError, match="'x' is not a label value"):
        parse_numbers("x", "label value")
    with pytest.raises(AisError, match="outside"):
        read_label_slices(empty, volume.shape, 2, slices=[50])
