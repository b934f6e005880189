"""Particle coordinate files for subtomogram averaging: .tsv (Ais), .star (RELION 5/Warp), .tbl
(Dynamo) and copick .json picks. Formats are documented in docs/picking.md with an example each.

Coordinates are in voxels of the segmented volume, zero-based (the first voxel's centre is 0), as
Ais writes them; Å values (RELION 5's centred coordinates, copick) use the volume's voxel size.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ais_qt.models.atomic import atomic_path, remove_partials
from ais_qt.models.errors import AisError
from ais_qt.models.particles.orientations import copick_matrices, from_copick, from_dynamo, to_dynamo
from ais_qt.models.particles.picking import Particles
from ais_qt.models.learning.segmentation import split_output_name, volume_stem

FORMATS = {"star": ".star", "tsv": ".tsv", "tbl": ".tbl", "copick": ".json"}


@dataclass(frozen=True)
class Context:
    """What a coordinate file says besides the coordinates."""

    tomogram: str  # tomogram name (rlnTomoName, copick run)
    feature: str = "particle"  # copick object name
    voxel_size: float | None = None  # Å
    shape: tuple = (0, 0, 0)  # z, y, x of the volume (RELION 5 centres coordinates on it)

    @classmethod
    def of_segmentation(cls, path: str | os.PathLike, voxel_size, shape) -> Context:
        """`TS_01__Ribosome.mrc` (as `ais-qt segment` names it) -> tomogram TS_01, feature Ribosome."""
        tomogram, feature = split_output_name(path)
        return cls(tomogram, feature or "particle", voxel_size, tuple(shape))


def output_path(segmentation: str | os.PathLike, folder: str | os.PathLike, fmt: str) -> Path:
    return Path(folder) / f"{volume_stem(segmentation)}_coords{FORMATS[fmt]}"


def write(particles: Particles, path: str | os.PathLike, context: Context, fmt: str | None = None) -> Path:
    path = Path(path)
    fmt = fmt or format_of(path)
    xyz = particles.zyx[:, ::-1]
    with atomic_path(path) as tmp:
        WRITERS[fmt](tmp, xyz, particles, context)
    return path


def read(path: str | os.PathLike) -> np.ndarray:
    """Coordinates (z, y, x in voxels) from any of the formats."""
    path = Path(path)
    fmt = format_of(path)
    try:
        xyz = READERS[fmt](path)
    except FileNotFoundError:
        raise AisError(path, "file not found") from None
    except (OSError, ValueError, KeyError, TypeError, IndexError, json.JSONDecodeError) as e:
        raise AisError(path, f"is not a readable {fmt} coordinate file ({e})") from None
    return np.asarray(xyz, float).reshape(-1, 3)[:, ::-1]


def format_of(path: Path) -> str:
    for fmt, suffix in FORMATS.items():
        if path.name.lower().endswith(suffix):
            return fmt
    raise AisError(path, f"unknown coordinate format (use one of {', '.join(FORMATS.values())})")


def _voxel(context: Context, path) -> float:
    if not context.voxel_size or context.voxel_size <= 0:
        raise AisError(path, "this format stores Å and needs the volume's voxel size")
    return float(context.voxel_size)


# ------------------------------------------------------------------ .tsv
def _write_tsv(path, xyz, particles, context):
    # Ais's own text format: one particle per line, X Y Z in voxels, rounded, no header.
    np.savetxt(path, np.rint(xyz).astype(int).reshape(-1, 3), fmt="%d", delimiter="\t")


def _read_tsv(path):
    rows = [line.split() for line in path.read_text().splitlines() if line.strip()]
    if rows and not _is_number(rows[0][0]):
        rows = rows[1:]  # a header line written by another tool
    return [[float(v) for v in row[:3]] for row in rows]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


# ----------------------------------------------------------------- .star
def _write_star(path, xyz, particles, context):
    import pandas as pd
    import starfile

    apix = _voxel(context, path)
    centre = np.array(context.shape[::-1], float) / 2  # x, y, z
    centred = (xyz - centre) * apix
    table = pd.DataFrame({
        "rlnTomoName": [context.tomogram] * len(xyz),
        "rlnCoordinateX": xyz[:, 0], "rlnCoordinateY": xyz[:, 1], "rlnCoordinateZ": xyz[:, 2],
        "rlnCenteredCoordinateXAngst": centred[:, 0], "rlnCenteredCoordinateYAngst": centred[:, 1],
        "rlnCenteredCoordinateZAngst": centred[:, 2],
        "rlnAutopickFigureOfMerit": particles.weight.astype(float),
    })
    angles = particles.angles  # RELION angles, or None: blobs picked without --orient
    if angles is not None:  # RELION's own convention (models/particles/orientations.py)
        table["rlnAngleRot"], table["rlnAngleTilt"], table["rlnAnglePsi"] = angles.T
    if getattr(particles, "filament", None) is not None:
        table["rlnHelicalTubeID"] = particles.filament.astype(int)
    starfile.write({"particles": table}, path, overwrite=True)


def _star_table(path):
    """The particle table of a .star file (its "particles" block, else its first)."""
    import starfile

    data = starfile.read(path, always_dict=True)
    return data.get("particles", next(iter(data.values()), None))


def _read_star(path):
    table = _star_table(path)
    return table[["rlnCoordinateX", "rlnCoordinateY", "rlnCoordinateZ"]].to_numpy(float)


# ------------------------------------------------------------------ .tbl
TBL_COLUMNS = 35  # Dynamo's table: column 1 tag, 2 aligned, 3 averaged, 20 tomogram, 22 class, 24-26 x y z


def _write_tbl(path, xyz, particles, context):
    table = np.zeros((len(xyz), TBL_COLUMNS))
    table[:, 0] = np.arange(1, len(xyz) + 1)
    table[:, 1] = table[:, 2] = 1
    table[:, 19] = 1  # tomogram index: one table per tomogram
    table[:, 21] = 1
    table[:, 23:26] = xyz
    angles = particles.angles  # RELION angles, or None: blobs picked without --orient
    if angles is not None:
        table[:, 6:9] = to_dynamo(angles)  # columns 7-9: tdrot, tilt, narot
    if getattr(particles, "filament", None) is not None:
        table[:, 22] = particles.filament  # column 23, "annotation": which filament
    np.savetxt(path, table, fmt=["%d"] * 6 + ["%.3f"] * 3 + ["%d"] * 14 + ["%.3f"] * 3 + ["%d"] * (TBL_COLUMNS - 26),
               delimiter=" ")


def _read_tbl(path):
    table = np.loadtxt(path, ndmin=2)
    if table.size and table.shape[1] < 26:
        raise ValueError(f"{table.shape[1]} columns, a Dynamo table has at least 26")
    return table[:, 23:26] if table.size else np.zeros((0, 3))


# ---------------------------------------------------------- copick .json
def _write_copick(path, xyz, particles, context):
    apix = _voxel(context, path)
    angles = particles.angles  # RELION angles, or None: blobs picked without --orient
    matrices = copick_matrices(angles) if angles is not None else np.tile(np.eye(4), (len(xyz), 1, 1))
    ids = getattr(particles, "filament", None)
    ids = ids if ids is not None else np.zeros(len(xyz), int)
    picks = {
        "pickable_object_name": context.feature, "user_id": "ais-qt", "session_id": "0",
        "run_name": context.tomogram, "voxel_spacing": apix, "unit": "angstrom",
        "trust_orientation": angles is not None,
        "points": [{"location": {"x": x * apix, "y": y * apix, "z": z * apix}, "transformation_": m.tolist(),
                    "instance_id": int(i), "score": float(w)}
                   for (x, y, z), w, m, i in zip(xyz, particles.weight, matrices, ids)],
    }
    path.write_text(json.dumps(picks))


def _read_copick(path):
    picks = json.loads(path.read_text())
    apix = float(picks.get("voxel_spacing") or 0)
    if picks.get("unit", "angstrom") != "angstrom" or apix <= 0:
        raise ValueError("needs unit 'angstrom' and a voxel_spacing")
    return [[p["location"][k] / apix for k in "xyz"] for p in picks.get("points", [])]


def read_angles(path: str | os.PathLike) -> np.ndarray | None:
    """RELION angles (rot, tilt, psi; n x 3) stored with the coordinates, or None when the file has none."""
    path = Path(path)
    fmt = format_of(path)
    if fmt == "star":
        table = _star_table(path)
        names = ["rlnAngleRot", "rlnAngleTilt", "rlnAnglePsi"]
        return table[names].to_numpy(float) if all(n in table for n in names) else None
    if fmt == "tbl":
        table = np.loadtxt(path, ndmin=2)
        return from_dynamo(table[:, 6:9]) if table.size else np.zeros((0, 3))
    if fmt == "copick":
        picks = json.loads(path.read_text())
        if not picks.get("trust_orientation"):
            return None
        return from_copick(np.array([p["transformation_"] for p in picks.get("points", [])], float).reshape(-1, 4, 4))
    return None


WRITERS = {"tsv": _write_tsv, "star": _write_star, "tbl": _write_tbl, "copick": _write_copick}
READERS = {"tsv": _read_tsv, "star": _read_star, "tbl": _read_tbl, "copick": _read_copick}


def pick_to_file(segmentation: str | os.PathLike, folder: str | os.PathLike, settings, fmt: str = "star",
                 overwrite: bool = False, progress=None, voxel_size: float | None = None) -> tuple[Path, int | None]:
    """Pick one segmented volume (blobs with PickSettings, filaments with FilamentSettings) and write its
    coordinates; returns (path, count) — count None if skipped.
    ``voxel_size`` (Å) overrides the header's."""
    from ais_qt.models.particles.filaments import FilamentSettings, pick_filaments_file
    from ais_qt.models.particles.picking import pick_file

    target = output_path(segmentation, folder, fmt)
    remove_partials(target)  # what a killed earlier run left half-written
    if target.exists() and not overwrite:
        return target, None
    picker = pick_filaments_file if isinstance(settings, FilamentSettings) else pick_file
    particles, volume = picker(segmentation, settings, progress, voxel_size)
    Path(folder).mkdir(parents=True, exist_ok=True)
    write(particles, target, Context.of_segmentation(segmentation, volume.voxel_size, volume.shape), fmt)
    return target, len(particles)
