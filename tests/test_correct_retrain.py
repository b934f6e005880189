"""Correct-and-retrain on the built-in sample: two rounds beat the first network with less painting.

bench/correct_retrain.py runs the same protocol at the default training settings (numbers in the
README); here a light network and short training keep the test quick.
"""

from __future__ import annotations

from ais_qt.models.learning.training import TrainSettings
from tests.conftest import load_bench


def test_two_rounds_of_accept_correct_retrain_beat_the_first_network_with_less_painting():
    bench = load_bench("correct_retrain")
    settings = TrainSettings("unet_light", auto_steps=200, fine_tune_steps=150, seed=3)
    result = bench.simulate("Membrane", settings, scored_every=4)
    first, *later = result["rounds"]
    assert all(r["continued"] for r in later) and not first["continued"]
    assert later[-1]["dice"] > first["dice"] + 0.01, result
    painted, scratch = sum(r["painted"] for r in later), sum(r["from_scratch"] for r in later)
    assert painted < 0.8 * scratch, result
