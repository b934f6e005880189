"""Picking: exact centroids on hand-made blobs, minimum volume and spacing, errors."""

from __future__ import annotations

import numpy as np
import pytest

from ais_qt.models.errors import AisError
from ais_qt.models.particles.picking import PickSettings, count_matches, parse_volume, pick, pick_file
from tests.conftest import shared_file, write_mrc

SHAPE = (40, 64, 64)


def ball(volume, centre, radius, value):
    z, y, x = np.ogrid[:volume.shape[0], :volume.shape[1], :volume.shape[2]]
    inside = (z - centre[0]) ** 2 + (y - centre[1]) ** 2 + (x - centre[2]) ** 2 <= radius ** 2
    volume[inside] = np.maximum(volume[inside], value)
    return inside


def as_set(particles):
    return sorted(tuple(np.round(c, 3)) for c in particles.zyx)


def test_single_balls_give_their_centres_and_dust_is_dropped():
    seg = np.zeros(SHAPE, np.uint8)
    ball(seg, (10, 12, 12), 5, 200)
    ball(seg, (30, 50, 40), 4, 180)
    seg[2, 60, 60:62] = 255  # dust: two voxels
    particles = pick(seg, PickSettings(min_volume=10, volume_unit="voxels"), voxel_size=10.0)
    assert as_set(particles) == [(10.0, 12.0, 12.0), (30.0, 50.0, 40.0)]
    assert list(particles.volume) == [515, 257]  # voxels of the digitised balls, heaviest first
    assert particles.weight[0] == 515 * 200
    with_dust = pick(seg, PickSettings(), voxel_size=10.0)
    assert (2.0, 60.0, 60.5) in as_set(with_dust)
    below = pick(seg, PickSettings(threshold=190), voxel_size=10.0)  # the 180 ball is under the level
    assert len(below) == 2 and (30.0, 50.0, 40.0) not in as_set(below)


def test_touching_pair_is_split_along_the_watershed():
    seg = np.zeros(SHAPE, np.uint8)
    a = ball(seg, (20, 30, 20), 5, 200)
    b = ball(seg, (20, 30, 29), 5, 200)
    particles = pick(seg, PickSettings(), voxel_size=10.0)
    assert len(particles) == 2
    # Expected groups: every voxel of the union goes to the nearer centre (the ridge of the EDT).
    z, y, x = np.nonzero(a | b)
    nearer_a = (x - 20) ** 2 < (x - 29) ** 2
    expected = sorted((round(z[m].mean(), 3), round(y[m].mean(), 3), round(x[m].mean(), 3))
                      for m in (nearer_a, ~nearer_a))
    assert as_set(particles) == expected
    assert expected[0][2] < 20 and expected[1][2] > 29  # each lost its cap to the other


def test_min_spacing_keeps_the_heavier_of_a_cluster():
    seg = np.zeros(SHAPE, np.uint8)
    for x, value in ((20, 150), (26, 250), (32, 150)):
        ball(seg, (20, 30, x), 2, value)  # three separate small balls in a row, 6 px apart
    everything = pick(seg, PickSettings(), voxel_size=10.0)
    assert len(everything) == 3
    spaced = pick(seg, PickSettings(min_spacing_nm=7.0), voxel_size=10.0)  # 7 nm = 7 px at 10 Å
    assert as_set(spaced) == [(20.0, 30.0, 26.0)]
    at_20a = pick(seg, PickSettings(min_spacing_nm=7.0), voxel_size=20.0)  # 3.5 px: all are kept
    assert len(at_20a) == 3
    # nm³ converts with the voxel size: 33 voxels per ball = 33 nm³ at 10 Å, 264 nm³ at 20 Å.
    assert len(pick(seg, PickSettings(min_volume=40), voxel_size=10.0)) == 0
    assert len(pick(seg, PickSettings(min_volume=40), voxel_size=20.0)) == 3


def test_deterministic_and_errors(tmp_path):
    rng = np.random.default_rng(3)
    seg = np.zeros(SHAPE, np.uint8)
    for _ in range(25):
        ball(seg, rng.integers(5, 35, 3) * (1, 1.6, 1.6), rng.integers(2, 5), rng.integers(130, 255))
    first = pick(seg, PickSettings(min_spacing_nm=4), voxel_size=10.0)
    again = pick(seg.copy(), PickSettings(min_spacing_nm=4), voxel_size=10.0)
    np.testing.assert_array_equal(first.zyx, again.zyx)
    with pytest.raises(AisError, match="voxel size"):
        pick(seg, PickSettings(min_spacing_nm=4), voxel_size=None)
    assert len(pick(seg, PickSettings(min_volume=5, volume_unit="voxels"), voxel_size=None)) > 0
    assert parse_volume("500") == (500, "nm3") and parse_volume("40vx") == (40, "voxels")
    assert parse_volume("12 voxels") == (12, "voxels")
    with pytest.raises(AisError, match="not a volume"):
        parse_volume("many")
    path = write_mrc(tmp_path / "TS_01__Ribosome.mrc", seg, voxel_size=0.0)
    with pytest.raises(AisError, match="TS_01__Ribosome.mrc.*voxel size"):
        pick_file(path, PickSettings(min_spacing_nm=4))
    particles, volume = pick_file(path, PickSettings())
    assert len(particles) >= len(first) and volume.shape == SHAPE
    assert len(pick(np.zeros(SHAPE, np.uint8))) == 0


# ------------------------------------------------------------------ files
def test_every_format_round_trips(tmp_path):
    import starfile

    from ais_qt.models.formats.particle_io import FORMATS, Context, output_path, read, write
    from ais_qt.models.particles.picking import Particles

    particles = Particles(np.array([[10.2, 20.0, 30.6], [1.0, 2.0, 3.0]]), np.array([900.0, 50.0]), np.array([9, 3]))
    context = Context.of_segmentation("folder/TS_01__Ribosome.mrc", 8.0, (40, 100, 120))
    assert (context.tomogram, context.feature) == ("TS_01", "Ribosome")
    for fmt in FORMATS:
        path = write(particles, output_path("TS_01__Ribosome.mrc", tmp_path, fmt), context)
        expected = np.rint(particles.zyx) if fmt == "tsv" else particles.zyx  # Ais's text file is rounded
        np.testing.assert_allclose(read(path), expected, atol=1e-3)
    assert (tmp_path / "TS_01__Ribosome_coords.tsv").read_text().splitlines() == ["31\t20\t10", "3\t2\t1"]
    table = starfile.read(tmp_path / "TS_01__Ribosome_coords.star")
    assert list(table["rlnTomoName"]) == ["TS_01", "TS_01"]
    # Centred Å: (x - 120/2) * 8 for the first particle's X.
    assert table["rlnCenteredCoordinateXAngst"][0] == pytest.approx((30.6 - 60) * 8)
    assert table["rlnCenteredCoordinateZAngst"][1] == pytest.approx((1.0 - 20) * 8)
    picks = __import__("json").loads((tmp_path / "TS_01__Ribosome_coords.json").read_text())
    assert picks["pickable_object_name"] == "Ribosome" and picks["run_name"] == "TS_01"
    assert picks["points"][0]["location"]["x"] == pytest.approx(30.6 * 8)
    tbl = np.loadtxt(tmp_path / "TS_01__Ribosome_coords.tbl")
    assert tbl.shape == (2, 35) and list(tbl[:, 0]) == [1, 2] and tbl[0, 23] == pytest.approx(30.6)
    with pytest.raises(AisError, match="voxel size"):
        write(particles, tmp_path / "x.star", Context("TS_01"))
    (tmp_path / "bad.tbl").write_text("1 2 3\n")
    with pytest.raises(AisError, match="bad.tbl.*26"):
        read(tmp_path / "bad.tbl")
    with pytest.raises(AisError, match="unknown coordinate format"):
        read(tmp_path / "x.csv")


def test_synthetic_scene_precision_and_recall(capsys):
    """Ground-truth protein labels of synthetic_mixed_10A as a segmentation, picked, matched within 5 voxels."""
    import csv

    import mrcfile

    labels_path = shared_file("synthetic_mixed_10A/labels.mrc.gz")
    rows = list(csv.DictReader(open(shared_file("synthetic_mixed_10A/particles.csv"))))
    truth = np.array([[float(r[f"{axis}_vox"]) for axis in "zyx"] for r in rows if r["type"] == "cprotein"])
    labels = mrcfile.read(labels_path)
    segmentation = np.isin(labels, [4, 5, 6, 7]).astype(np.uint8) * 255  # the four cytosolic proteins
    particles = pick(segmentation, PickSettings(min_volume=50, min_spacing_nm=8), voxel_size=10.0)
    hits = count_matches(particles.zyx, truth, 5.0)
    precision, recall = hits / len(particles), hits / len(truth)
    with capsys.disabled():
        print(f"\nsynthetic_mixed_10A: {len(particles)} picked, {len(truth)} true, precision {precision:.3f}, "
              f"recall {recall:.3f}")
    assert recall >= 0.9 and precision >= 0.75


def test_blobs_oriented_by_their_shape_or_by_a_membrane_normal(tmp_path):
    """Disk normals and rod axes from the blobs' second moments, with a sign; membrane proteins get
    the membrane's normal pointing towards them; all written as angles (checked in a .star)."""
    import starfile

    from ais_qt.cli import main
    from ais_qt.models.particles.orientations import z_axis
    from ais_qt.models.particles.picking import PickSettings, pick
    from tests.conftest import write_mrc

    z, y, x = np.mgrid[0:60, 0:80, 0:80]
    seg = np.zeros((60, 80, 80), np.uint8)
    seg[(np.abs(x - 20) <= 1) & (np.hypot(z - 30, y - 20) <= 7)] = 220  # a disk facing x, left of the centre
    seg[(np.hypot(z - 30, x - 60) <= 2) & (np.abs(y - 60) <= 10)] = 220  # a rod along y
    disk = pick(seg, PickSettings(orient="disk", orient_sign="out"), 10.0)
    rod = pick(seg, PickSettings(orient="rod"), 10.0)
    first = np.argmin(disk.zyx[:, 2])
    np.testing.assert_allclose(z_axis(disk.angles)[first], (-1, 0, 0), atol=0.02)  # x y z: away from the centre
    np.testing.assert_allclose(np.abs(z_axis(rod.angles)[1 - first]), (0, 1, 0), atol=0.02)
    assert pick(seg, PickSettings(), 10.0).angles is None

    membrane = np.zeros(seg.shape, np.uint8)
    membrane[19:22] = 255  # a flat membrane at z = 20, proteins above and below it
    proteins = np.zeros(seg.shape, np.uint8)
    proteins[np.hypot(np.hypot(z - 26, y - 40), x - 40) <= 3] = 200
    proteins[np.hypot(np.hypot(z - 13, y - 20), x - 60) <= 3] = 200
    write_mrc(tmp_path / "TS_03__Protein.mrc", proteins, voxel_size=10.0)
    write_mrc(tmp_path / "TS_03__Membrane.mrc", membrane, voxel_size=10.0)
    assert main(["pick", str(tmp_path / "TS_03__Protein.mrc"), "--orient", "membrane", "--membrane-feature",
                 "Membrane", "--out", str(tmp_path / "picks")]) == 0
    table = starfile.read(tmp_path / "picks" / "TS_03__Protein_coords.star")
    axes = z_axis(table[["rlnAngleRot", "rlnAngleTilt", "rlnAnglePsi"]].to_numpy())
    above = table["rlnCoordinateZ"].to_numpy() > 20
    np.testing.assert_allclose(axes[above], [[0, 0, 1]], atol=0.05)  # towards the protein, off the membrane
    np.testing.assert_allclose(axes[~above], [[0, 0, -1]], atol=0.05)
    assert main(["pick", str(tmp_path / "TS_03__Protein.mrc"), "--orient", "membrane", "--membrane-feature",
                 "Vesicle", "--out", str(tmp_path / "p2")]) == 1
