"""Annotation beyond one slice, headless: interpolation, planes across slices, accepting a prediction."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import draw

from ais_qt.models.annotation.editing import Editor
from ais_qt.models.annotation.interpolation import interpolate_masks, interpolation_partner, signed_distance
from ais_qt.models.volumes.orthoslices import OrthoSlicer, annotation_plane, plane_boxes
from ais_qt.models.session import Session
from ais_qt.models.volumes.tomogram import Tomogram
from tests.conftest import write_mrc


@pytest.fixture
def session():
    s = Session()
    s.add(Tomogram.from_array(np.zeros((60, 80, 100), np.float32), 10.0, "t"))
    return s


@pytest.fixture
def editor(session):
    editor = Editor(session)
    editor.add_feature("Membrane")
    return editor


def disc(shape, cy, cx, r):
    mask = np.zeros(shape, bool)
    mask[draw.disk((cy, cx), r, shape=shape)] = True
    return mask


def paint_disc(editor, item, z, cy, cx, r):
    editor.begin_stroke(item, z, cx, cy, r)
    editor.end_stroke()


# -------------------------------------------------------------- interpolation
def test_signed_distance_round_trips_a_mask():
    mask = disc((40, 40), 20, 20, 8)
    assert np.array_equal(signed_distance(mask) < 0, mask)
    assert interpolate_masks(mask, mask, 3) == [] or all(np.array_equal(m, mask) for m in interpolate_masks(mask, mask, 3))


def test_interpolation_morphs_radius_and_position_linearly():
    a, b = disc((80, 100), 30, 20, 6), disc((80, 100), 30, 70, 16)
    middle = interpolate_masks(a, b, 9)
    assert len(middle) == 9
    centres = [np.argwhere(m).mean(axis=0)[1] for m in middle]
    radii = [np.sqrt(m.sum() / np.pi) for m in middle]
    assert np.all(np.diff(centres) > 0) and np.all(np.diff(radii) > 0)
    assert abs(radii[4] - 11) < 1.0 and abs(centres[4] - 45) < 1.5  # halfway: halfway


def test_interpolation_keeps_separate_objects_apart_and_lets_lone_ones_shrink_away():
    shape = (80, 100)
    a = disc(shape, 20, 20, 6) | disc(shape, 60, 80, 6) | disc(shape, 20, 80, 5)  # third only on the first
    b = disc(shape, 22, 22, 6) | disc(shape, 58, 78, 6)
    middle = interpolate_masks(a, b, 5)
    from scipy import ndimage
    assert ndimage.label(middle[0])[1] == 3  # near the first slice the lone object is still there
    assert ndimage.label(middle[-1])[1] == 2  # gone near the slice without it
    assert all(not m[40, 50] for m in middle)  # the two kept objects never merge


def test_partner_is_the_slice_painted_before_else_the_nearest_neighbour():
    assert interpolation_partner([10, 20, 50], 20) == 10
    assert interpolation_partner([10, 20, 50], 20, recent=50) == 50
    assert interpolation_partner([10, 20, 50], 20, recent=5) == 10
    assert interpolation_partner([19, 20, 21], 20) is None  # nothing between
    assert interpolation_partner([10, 30, 50], 50, recent=10) == 30  # only annotated neighbours


def test_interpolate_fills_the_gap_as_one_undo_step(session, editor):
    item = session.current
    paint_disc(editor, item, 40, 30, 30, 5)
    paint_disc(editor, item, 50, 30, 50, 10)
    steps = len(session.history)
    assert editor.interpolate(item, 50) == (41, 49)
    fid = session.features.active.id
    annotation = item.annotation
    assert all(annotation.mask(fid, z).any() for z in range(41, 50))
    assert len(session.history) == steps + 1
    editor.undo()
    assert all(annotation.mask(fid, z) is None or not annotation.mask(fid, z).any() for z in range(41, 50))
    editor.redo()
    assert annotation.mask(fid, 45).any()
    assert editor.interpolate(item, 45) is None  # both neighbours adjacent


# ------------------------------------------------------------ across slices
def test_a_stroke_on_the_xz_plane_edits_many_slices_as_one_step(session, editor):
    item = session.current
    fid = session.features.active.id
    steps = len(session.history)
    editor.begin_plane_stroke(item, "xz", 25, 10.5, 5.5, 2)
    editor.continue_stroke(10.5, 40.5)  # straight down through slices 5..40 at x 10
    editor.end_stroke()
    assert len(session.history) == steps + 1
    for z in (5, 20, 40):
        mask = item.annotation.mask(fid, z)
        assert mask[25, 10] and mask[25, 8:13].all() and mask[25].sum() == 5 and not mask[24].any() and not mask[26].any()
    assert item.annotation.mask(fid, 45) is None
    plane = annotation_plane(item.annotation, fid, "xz", 25, 60)
    assert plane[5:41, 10].all()
    editor.undo()
    assert not any(item.annotation.mask(fid, z) is not None and item.annotation.mask(fid, z).any() for z in range(60))


def test_a_stroke_on_the_yz_plane_writes_columns(session, editor):
    item = session.current
    fid = session.features.active.id
    editor.begin_plane_stroke(item, "yz", 70, 30.5, 10.5, 0.9)
    editor.continue_stroke(60.5, 10.5)  # along y on slice 10
    editor.end_stroke()
    mask = item.annotation.mask(fid, 10)
    assert mask[30:61, 70].all() and mask[:, 69].sum() == 0 and mask.sum() == 31


def test_plane_boxes(session, editor):
    item = session.current
    box = editor.place_box(item, 12, 50, 40)
    y0, y1, x0, x1 = box.rect
    assert [(b.z, start, stop, b.feature_id) for b, start, stop in plane_boxes(item.annotation, "xz", y0)] \
        == [(12, x0, x1, box.feature_id)]
    assert plane_boxes(item.annotation, "yz", x1) == []


def test_ortho_slicer_exact_and_binned(tmp_path):
    z, y, x = np.mgrid[0:32, 0:40, 0:48]
    data = (z * 10000 + y * 100 + x).astype(np.float32)
    tomo = Tomogram.open(write_mrc(tmp_path / "v.mrc", data))
    exact = OrthoSlicer(tomo)
    assert exact.ready and exact.plane("xz", 7)[0].tolist() == data[:, 7, :].tolist()
    assert exact.plane("yz", 9)[0].tolist() == data[:, :, 9].tolist()
    small = OrthoSlicer(tomo, budget=data.nbytes // 20, exact_limit=0)  # force the binned copy
    assert not small.ready and small.binning == 4
    small.prepare()
    plane, binning = small.plane("yz", 9)
    assert binning == 4 and plane.shape == (8, 10)
    assert np.allclose(plane, data[:, :, 8:12].reshape(8, 4, 10, 4, 4).mean(axis=(1, 3, 4)))
    tomo.close()


# --------------------------------------------------------- accept a prediction
def test_accept_prediction_in_the_box_under_the_cursor(session, editor):
    item = session.current
    fid = session.features.active.id
    probabilities = np.zeros((80, 100), np.float32)
    probabilities[:, 40:45] = 0.9  # a stripe the network found
    probabilities[10:70, 80:85] = 0.3  # below the threshold
    editor.begin_stroke(item, 20, 20, 20, 2)  # the user's own paint stays
    editor.end_stroke()
    steps = len(session.history)
    assert editor.accept_prediction(item, 20, probabilities, 0.5, at=(42, 40)) == 1
    assert len(session.history) == steps + 1
    (box,) = item.annotation.boxes  # none was there: placed with it
    y0, y1, x0, x1 = box.rect
    mask = item.annotation.mask(fid, 20)
    assert mask[y0:y1, 40:45].all() and not mask[:, 80:85].any() and mask[20, 20]
    assert not mask[:y0, 40:45].any()  # only inside the box
    editor.undo()
    assert item.annotation.boxes == [] and not item.annotation.mask(fid, 20)[30:50, 40:45].any()
    editor.redo()
    assert item.annotation.boxes == [box] and item.annotation.mask(fid, 20)[y0:y1, 40:45].all()


def test_accept_prediction_in_every_box_of_the_slice(session, editor):
    item = session.current
    fid = session.features.active.id
    for x in (20, 80):
        editor.place_box(item, 30, x, 40)
    probabilities = np.full((80, 100), 0.8, np.float32)
    assert editor.accept_prediction(item, 30, probabilities, 0.5) == 2
    assert item.annotation.mask(fid, 30).sum() == 2 * 64 * 64 - 64 * 28  # two boxes, overlapping by 28 columns


def test_disagreement_inside_boxes_and_unsure_outside():
    from ais_qt.models.learning.disagreement import ANNOTATION_ONLY, NETWORK_ONLY, UNSURE, disagreement

    p = np.zeros((20, 20), np.float32)
    p[2:6, 2:6] = 0.9  # found
    p[15:18, 15:18] = 0.55  # unsure, outside the boxes
    annotated = np.zeros((20, 20), bool)
    annotated[4:8, 4:8] = True
    boxed = np.zeros((20, 20), bool)
    boxed[:10, :10] = True
    d = disagreement(p, 0.5, annotated, boxed)
    assert d.network_only == 16 - 4 and d.annotation_only == 16 - 4 and d.boxed == 100
    assert (d.codes == NETWORK_ONLY).sum() == 12 and (d.codes == ANNOTATION_ONLY).sum() == 12
    assert (d.codes == UNSURE).sum() == 9 and d.fraction == 0.24 and "24.0%" in d.summary()
