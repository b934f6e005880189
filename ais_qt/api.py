"""Ais-Qt for scripts (docs/scripting.md): the functions the commands and the app run, with plain
arguments and an optional progress callback ``progress(fraction, message)``.

    from ais_qt import api
    membrane = api.load_network("membrane.aisnet")          # or an Ais .scnm
    outputs = api.segment("TS_01.mrc", [membrane], "segmented/", progress=print)
    particles = api.pick(outputs[0], min_volume="500", min_spacing_nm=20)

No Qt is imported; errors in the input are ``AisError`` with one message naming the file.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

from ais_qt.models.errors import AisError
from ais_qt.models.progress import Progress
from ais_qt.models.volumes.tomogram import Tomogram
from ais_qt.models.volumes.volume_writer import DEFAULT_DTYPE

__all__ = ["AisError", "Tomogram", "open_tomogram", "load_network", "segment", "pick", "train", "export_for_ais"]

ProgressCallback = Callable[[float, str], None]


def open_tomogram(path: str | os.PathLike, voxel_size: float | None = None) -> Tomogram:
    """A memory-mapped (Z, Y, X) volume; ``voxel_size`` (Å) overrides the header's."""
    tomogram = Tomogram.open(path)
    if voxel_size is not None:
        tomogram.voxel_size = voxel_size
    return tomogram


def load_network(path: str | os.PathLike, plugins: str | os.PathLike | None = None):
    """An Ais-Qt network (.aisnet) or an original Ais model (.scnm)."""
    from ais_qt.models.learning.architectures import ArchitectureLibrary
    from ais_qt.models.learning.network import Network

    return Network.load(path, ArchitectureLibrary(plugins))


def segment(tomogram: str | os.PathLike, networks: Sequence, out: str | os.PathLike, interactions=None,
            overwrite: bool = False, roi: str | None = None, dtype: str = DEFAULT_DTYPE,
            voxel_size: float | None = None, progress: ProgressCallback | None = None,
            orientations: int = 1) -> list[Path]:
    """Segment one tomogram with networks (from load_network); ``interactions`` is a graph file (.json)
    or an InteractionGraph; ``orientations`` 4 or 8 averages each slice over as many orientations
    (test-time augmentation, as many times the time). Returns the output paths,
    ``<tomogram>__<feature>.mrc`` in ``out``."""
    from ais_qt.models.learning.interactions import InteractionGraph
    from ais_qt.models.learning.segmentation import segment_volume

    if interactions is not None and not isinstance(interactions, InteractionGraph):
        interactions = InteractionGraph.load(interactions)
    return segment_volume(tomogram, list(networks), out, interactions, overwrite, roi, progress=Progress(progress),
                          dtype=dtype, voxel_size=voxel_size, orientations=orientations)


def pick(segmentation: str | os.PathLike, threshold: float = 128, min_volume: str | float = 0,
         min_spacing_nm: float = 0, voxel_size: float | None = None, out: str | os.PathLike | None = None,
         fmt: str = "star", progress: ProgressCallback | None = None):
    """Particles (``zyx`` centres in voxels, ``weight``, ``volume``) in a segmented volume, as `ais-qt pick`
    finds them; ``min_volume`` in nm³, or voxels with a "vx" suffix. With ``out``, also writes the
    coordinate file there (fmt: star, tsv, tbl or copick) and returns (particles, path)."""
    from ais_qt.models.formats.particle_io import Context, output_path, write
    from ais_qt.models.particles.picking import PickSettings, parse_volume, pick_file

    amount, unit = parse_volume(str(min_volume))
    settings = PickSettings(threshold, amount, unit, min_spacing_nm)
    particles, volume = pick_file(segmentation, settings, Progress(progress), voxel_size)
    if out is None:
        return particles
    Path(out).mkdir(parents=True, exist_ok=True)
    target = output_path(segmentation, out, fmt)
    write(particles, target, Context.of_segmentation(segmentation, volume.voxel_size, volume.shape), fmt)
    return particles, target


def train(tomogram: str | os.PathLike, labels: str | os.PathLike, label_value: int | Sequence[int],
          out: str | os.PathLike, slices: Sequence[int] | None = None, feature: str | None = None,
          progress: ProgressCallback | None = None, **settings):
    """Train a network at the defaults (as `ais-qt train`) from a label volume: the feature is where
    ``labels`` equals ``label_value`` (or any of several values) on ``slices`` (default: labelled
    ones). Keyword ``settings`` change models.training.TrainSettings fields (e.g. epochs=5)."""
    from ais_qt.models.learning.train_from_labels import train_from_labels
    from ais_qt.models.learning.training import TrainSettings

    values = [label_value] if isinstance(label_value, int) else list(label_value)
    _, network = train_from_labels(tomogram, labels, values, out, list(slices) if slices else None, feature=feature,
                                   settings=TrainSettings(**settings), progress=Progress(progress))
    return network


def export_for_ais(network, path: str | os.PathLike) -> Path:
    """Write a network as an .scnm that the original Ais (1.2) loads."""
    from ais_qt.models.formats.ais_models import save_scnm

    return save_scnm(network, path)
