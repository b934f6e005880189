"""Headless training from an existing label volume (the `ais-qt train` command and batch workers).

Takes paths and plain settings, returns the saved model's path, holds no global state.
Boxes cover each chosen labelled slice in a grid: boxes holding the label are positives, the
others are negatives, exactly as if a user had placed them in the GUI.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ais_qt.models.learning.architectures import ArchitectureLibrary
from ais_qt.models.annotation.editing import Editor
from ais_qt.models.volumes.label_volumes import read_label_slices, values_text
from ais_qt.models.progress import Progress
from ais_qt.models.session import Session
from ais_qt.models.learning.training import TrainSettings, train
from ais_qt.models.learning.training_set import TrainingSetOptions, build_training_set

MAX_AUTO_SLICES = 20


def grid_centres(length: int, box: int) -> list[int]:
    """Box centres covering 0..length with whole boxes, evenly spread."""
    count = max(1, length // box)
    spare = length - count * box
    return [spare // 2 + box // 2 + i * box for i in range(count)]


def train_from_labels(tomogram: str | os.PathLike, labels: str | os.PathLike, label_value: int | list[int],
                      out: str | os.PathLike, slices: list[int] | None = None, box_size: int = 64,
                      feature: str | None = None, colour: str | None = None,
                      options: TrainingSetOptions | None = None, settings: TrainSettings | None = None,
                      plugin_folder: str | os.PathLike | None = None, progress: Progress | None = None):
    """Train a network for one label value (or several together) of a label volume and save it;
    returns (path, network)."""
    progress = progress or Progress()
    session = Session()
    editor = Editor(session)
    item = session.open(tomogram)
    masks = read_label_slices(labels, item.tomogram.shape, label_value, slices)
    if slices is None and len(masks) > MAX_AUTO_SLICES:
        keep = np.linspace(0, len(masks) - 1, MAX_AUTO_SLICES).round().astype(int)
        masks = {z: masks[z] for z in np.array(sorted(masks))[keep]}
    name = feature or f"Label {values_text(np.atleast_1d(label_value))}"
    target = editor.add_feature(name, colour)
    editor.set_slice_masks("labels", item, target.id, masks)
    session.box_size = box_size
    ny, nx = item.tomogram.shape[1:]
    for z in masks:
        for y in grid_centres(ny, box_size):
            for x in grid_centres(nx, box_size):
                editor.place_box(item, z, x, y)
    options = options or TrainingSetOptions(name)
    options.feature, options.tile_size = name, box_size
    training_set = build_training_set(session.items, session.features, options)
    progress.event({"training_set": training_set.summary(), "slices": sorted(int(z) for z in masks)})
    library = ArchitectureLibrary(plugin_folder)
    network = train(training_set, settings or TrainSettings(), library, progress)
    path = network.save(Path(out))
    item.tomogram.close()
    return path, network
