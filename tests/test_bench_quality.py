"""bench/quality.py's own arithmetic: the accuracy table in the README rests on its scoring, and its
--set/--quick variants on how it reads a setting (the whole bench takes hours; --quick minutes)."""

from __future__ import annotations

import numpy as np

from tests.conftest import load_bench


def test_dice_curve_equals_dice_counted_at_each_threshold():
    quality = load_bench("quality")
    rng = np.random.default_rng(0)
    values = rng.integers(0, 256, size=(3, 20, 20))
    truth = rng.random((3, 20, 20)) < 0.3
    curve = quality.dice_curve(values, truth)
    for t in (0, 1, 77, 128, 255):
        mask = values >= t
        assert np.isclose(curve[t], 2 * (mask & truth).sum() / (mask.sum() + truth.sum()))


def test_scored_slices_keep_their_distance_from_the_labelled_ones():
    quality = load_bench("quality")
    zs = quality.scored_slices(20, [5, 10, 15])
    assert list(zs) == [0, 1, 2, 18, 19]  # 3 or more from 5, 10 and 15


def test_a_set_value_takes_the_type_of_the_default_it_replaces():
    quality = load_bench("quality")
    assert quality._typed("2", None) == 2 and quality._typed("1e-4", 1e-3) == 1e-4  # epochs' default is None
    assert quality._typed("yes", False) is True and quality._typed("0", True) is False
    assert quality._typed("dice", "bce+dice") == "dice" and quality._typed("96", 64) == 96


def test_the_orientations_table_shows_the_worse_seed_and_the_slower_time():
    quality = load_bench("quality")
    runs = [{"dice": 0.5, "best": 0.6, "segment_s": 10.0,
             "orientations": {"8": {"dice": 0.55, "best": 0.61, "segment_s": 80.0}}},
            {"dice": 0.4, "best": 0.7, "segment_s": 12.0,
             "orientations": {"8": {"dice": 0.45, "best": 0.62, "segment_s": 90.0}}}]
    table = quality.orientations_table({"row": runs})
    assert "8 orientations" in table
    assert "| row | 0.400 (0.600), 12.0 | 0.450 (0.610), 90.0 |" in table
    assert quality.orientations_table({"row": [{"dice": 0.5, "best": 0.6, "segment_s": 1.0}]}) == ""
