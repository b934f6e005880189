"""Annotation models: brushes, fills, boxes, features, undo/redo, sparse storage."""

from __future__ import annotations

import numpy as np
import pytest

from ais_qt.models.annotation.annotation import Annotation, Box, clamped_box
from ais_qt.models.annotation.editing import Editor
from ais_qt.models.annotation.history import History
from ais_qt.models.annotation.painting import enclosed_region, polygon_region, stamp_segment
from ais_qt.models.session import Session
from ais_qt.models.volumes.tomogram import Tomogram


@pytest.fixture
def session():
    s = Session()
    s.add(Tomogram.from_array(np.zeros((10, 100, 120), np.float32), 10.0, "t"))
    return s


@pytest.fixture
def editor(session):
    return Editor(session)


def paint(editor, session, points, radius=3, erase=False, z=None):
    item = session.current
    z = item.z if z is None else z
    editor.begin_stroke(item, z, *points[0], radius=radius, erase=erase)
    for p in points[1:]:
        editor.continue_stroke(*p)
    editor.end_stroke()


# ------------------------------------------------------------------ rasters
def test_brush_segment_has_no_gaps_and_round_ends():
    mask = np.zeros((40, 60), bool)
    rect = stamp_segment(mask, (5, 20), (55, 20), 2.0, True)
    assert rect == (18, 23, 3, 58)
    assert mask[20, 5:55].all()  # continuous between far-apart mouse events
    assert mask[18:23, 30].sum() == 4  # centres within 2 px of the line: rows 18..21
    assert not mask[20, 2] and not mask[17, 5]


def test_single_click_paints_a_disc():
    mask = np.zeros((21, 21), bool)
    stamp_segment(mask, (10.5, 10.5), (10.5, 10.5), 3, True)
    assert mask.sum() == 29 and mask[10, 10] and mask[10, 13] and not mask[10, 14]


def test_enclosed_region_and_leaks():
    ring = np.zeros((30, 30), bool)
    ring[5, 5:20] = ring[19, 5:20] = ring[5:20, 5] = ring[5:20, 19] = True
    inside = enclosed_region(ring, 10, 10)
    assert inside.sum() == 13 * 13 and not inside[5, 5]
    assert enclosed_region(ring, 25, 25) is None  # outside reaches the border
    assert enclosed_region(ring, 5, 5) is None  # on paint
    ring[19, 12] = False  # a hole lets the fill leak out
    assert enclosed_region(ring, 10, 10) is None


def test_polygon_region_is_pixel_centred():
    region = polygon_region((20, 20), [(2, 2), (12, 2), (12, 8), (2, 8)])
    assert region.sum() == 60 and region[2, 2] and region[7, 11] and not region[8, 2]


# ------------------------------------------------------------------ editing
def test_paint_erase_undo_redo(session, editor):
    feature = editor.add_feature()
    item = session.current
    paint(editor, session, [(10, 10), (40, 10)])
    mask = item.annotation.mask(feature.id, item.z)
    assert mask[10, 10:41].all() and mask.sum() > 150
    painted = mask.sum()
    paint(editor, session, [(25, 10)], radius=4, erase=True)
    assert not item.annotation.mask(feature.id, item.z)[10, 25]
    assert item.annotation.mask(feature.id, item.z).sum() < painted
    editor.undo()
    assert item.annotation.mask(feature.id, item.z).sum() == painted
    editor.undo()
    assert item.annotation.mask(feature.id, item.z) is None  # back to nothing stored at all
    editor.redo()
    assert item.annotation.mask(feature.id, item.z).sum() == painted


def test_undo_goes_back_to_the_slice_and_tomogram_of_the_edit(session, editor):
    editor.add_feature()
    first = session.current
    paint(editor, session, [(50, 50)], z=2)
    second = session.add(Tomogram.from_array(np.zeros((4, 50, 50), np.float32), 10.0, "u"))
    assert session.current is second
    editor.undo()
    assert session.current is first and first.z == 2


def test_flood_fill_and_lasso(session, editor):
    feature = editor.add_feature()
    item = session.current
    square = [(20, 20), (60, 20), (60, 60), (20, 60), (20, 20)]
    paint(editor, session, square, radius=1.5)
    assert editor.flood_fill(item, item.z, 40, 40)
    mask = item.annotation.mask(feature.id, item.z)
    assert mask[21:59, 21:59].all()
    assert not editor.flood_fill(item, item.z, 90, 90)  # not enclosed: refused, nothing changed
    steps = len(session.history)
    assert editor.polygon_fill(item, item.z, [(70, 70), (90, 70), (90, 90)])
    assert item.annotation.mask(feature.id, item.z)[75, 85]
    assert editor.polygon_fill(item, item.z, [(0, 0), (100, 0), (100, 100), (0, 100)], erase=True)
    assert item.annotation.mask(feature.id, item.z) is None or not item.annotation.mask(feature.id, item.z)[:100, :100].any()
    assert len(session.history) == steps + 2
    editor.undo()
    editor.undo()
    assert not item.annotation.mask(feature.id, item.z)[75, 85]


def test_boxes_clamp_toggle_positive_and_undo(session, editor):
    membrane = editor.add_feature("Membrane")
    item = session.current
    box = editor.place_box(item, 3, 5, 95)  # near a corner: pushed inside the 100 x 120 slice
    assert box == Box(3, 68, 32, 64, membrane.id) and box.rect == (36, 100, 0, 64)
    assert editor.place_box(item, 3, 5, 95) is None  # the same box twice is one box
    assert not item.annotation.is_positive(box)  # no annotation inside: a negative for Membrane
    paint(editor, session, [(30, 70)], z=3)
    assert item.annotation.is_positive(box)
    session.box_size = 32
    small = editor.place_box(item, 3, 100, 20)
    assert small.size == 32 and item.annotation.boxes_on(3) == [box, small]
    assert item.annotation.boxes_on(4) == []
    assert editor.delete_box_at(item, 3, 100, 20) is small
    assert editor.delete_box_at(item, 3, 119, 1) is None
    editor.undo()
    assert item.annotation.boxes == [box, small]
    assert clamped_box(0, 5, 5, 500, 1, (100, 120)).size == 100  # never larger than the slice


def test_feature_set_keys_and_edits(session, editor):
    a, b, c = editor.add_feature(), editor.add_feature(), editor.add_feature()
    assert [f.name for f in (a, b, c)] == ["Membrane", "Ribosome", "Microtubule"]
    assert len({a.colour, b.colour, c.colour}) == 3
    features = session.features
    assert features.active is c
    features.select_index(0)
    assert features.active is a
    features.cycle()
    features.cycle()
    features.cycle()
    assert features.active is a
    editor.change_feature(b, name="Ribo")
    for opacity in np.linspace(0.5, 0.9, 20):  # a slider drag: one undo step
        editor.change_feature(b, opacity=float(opacity))
    assert b.opacity == pytest.approx(0.9)
    editor.undo()
    assert b.opacity == 0.5 and b.name == "Ribo"
    editor.undo()
    assert b.name == "Ribosome"


def test_delete_feature_takes_its_masks_and_boxes_everywhere_and_undo_restores(session, editor):
    keep, gone = editor.add_feature(), editor.add_feature()
    item = session.current
    paint(editor, session, [(30, 30)])
    editor.place_box(item, item.z, 30, 30)
    session.features.active = keep
    editor.place_box(item, item.z, 80, 60)
    editor.delete_feature(gone)
    assert gone not in session.features.features and item.annotation.mask(gone.id, item.z) is None
    assert [b.feature_id for b in item.annotation.boxes] == [keep.id]
    editor.undo()
    assert session.features.features == [keep, gone]
    assert item.annotation.mask(gone.id, item.z)[30, 30]
    assert [b.feature_id for b in item.annotation.boxes] == [gone.id, keep.id]


def test_history_holds_more_than_a_hundred_steps_and_tracks_saving(session, editor):
    editor.add_feature()
    for i in range(150):
        paint(editor, session, [(i % 100 + 5, 20 + i // 100 * 30)], radius=1)
    assert len(session.history) == 151
    for _ in range(120):
        assert editor.undo() is not None
    assert session.history.can_redo
    history = History(limit=3)
    history.mark_saved()
    assert not history.dirty


def test_history_limit_drops_oldest_and_dirty_flag():
    from ais_qt.models.annotation.history import Command

    log = []
    history = History(limit=3)
    for i in range(5):
        history.push(Command(str(i), lambda i=i: log.append(-i), lambda i=i: log.append(i)))
    assert len(history) == 3 and history.undo_text == "4"
    history.mark_saved()
    assert not history.dirty
    history.undo()
    assert history.dirty
    history.redo()
    assert not history.dirty
    history.undo()
    history.push(Command("x", lambda: None, lambda: None))
    assert history.dirty and not history.can_redo


def test_storage_is_sparse_for_a_big_tomogram():
    """A 4 GiB tomogram (1024 x 1024 slices) with 20 annotated slices costs about 20 MB, not gigabytes."""
    annotation = Annotation((1024, 1024))
    for z in range(0, 1000, 50):
        region = np.zeros((100, 100), bool)
        region[10:90, 10:90] = True
        annotation.put(7, z, (500, 600, 500, 600), region)
    assert len(annotation.annotated_slices(7)) == 20
    assert annotation.nbytes() == 20 * 1024 * 1024
    annotation.put(7, 0, (500, 600, 500, 600), np.zeros((100, 100), bool))
    assert len(annotation.annotated_slices(7)) == 19  # erased to nothing: dropped again


def test_no_active_feature_means_no_edit(session, editor):
    item = session.current
    assert editor.begin_stroke(item, 0, 5, 5, 3) is None
    assert editor.place_box(item, 0, 5, 5) is None
    assert not editor.flood_fill(item, 0, 5, 5)
    assert len(session.history) == 0
