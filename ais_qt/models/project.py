"""Project files (.aisqt): features, masks, boxes and per-tomogram settings; format in docs/project-format.md.

A project is a zip archive (deflate) holding ``project.json`` and one bit-packed ``.npy`` per
annotated slice. Saving is split in two so the GUI can save in the background: ``snapshot`` copies
what must be written (fast, on the GUI thread), ``write_snapshot`` compresses and writes it
atomically (temporary file, fsync, rename), so a crash mid-save never harms the previous file.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from ais_qt import __version__
from ais_qt.models.annotation.annotation import Box
from ais_qt.models.atomic import atomic_path
from ais_qt.models.volumes.display import DisplaySettings
from ais_qt.models.errors import AisError
from ais_qt.models.annotation.features import Feature
from ais_qt.models.annotation.measurements import Ruler
from ais_qt.models.session import OpenTomogram, Session

FORMAT_NAME = "ais-qt-project"
FORMAT_VERSION = 1
SUFFIX = ".aisqt"
_DISPLAY_FIELDS = ("binning", "sigma", "auto_contrast", "low_percentile", "high_percentile", "black", "white")


class ProjectError(AisError):
    """A project file that cannot be read; it is never overwritten because of that."""


@dataclass
class Snapshot:
    document: dict
    blobs: dict[str, bytes] = field(default_factory=dict)  # archive name -> .npy bytes


@dataclass
class UnresolvedTomogram:
    """A tomogram the project names but that could not be opened; kept so saving loses nothing."""

    entry: dict
    blobs: dict[str, bytes]


# ---------------------------------------------------------------------- saving
def snapshot(session: Session, path: str | os.PathLike) -> Snapshot:
    base = Path(path).resolve().parent
    features = session.features
    doc = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "app_version": __version__,
           "saved": datetime.now(timezone.utc).isoformat(timespec="seconds"),
           "box_size": session.box_size,
           "features": [{"id": f.id, "name": f.name, "colour": f.colour, "opacity": f.opacity,
                         "visible": f.visible} for f in features],
           "active_feature": features.active.id if features.active else None,
           "tomograms": [], "current": None, "interactions": session.interactions.to_dict()}
    snap = Snapshot(doc)
    for index, item in enumerate(session.items):
        key = f"t{index}"
        doc["tomograms"].append(_tomogram_entry(item, key, base))
        for feature_id, slices in item.annotation.masks.items():
            for z, mask in slices.items():
                snap.blobs[_mask_name(key, feature_id, z)] = _npy(np.packbits(mask, axis=None))
        if item is session.current:
            doc["current"] = index
    for k, unresolved in enumerate(session.unresolved):
        key = f"u{k}"
        entry = dict(unresolved.entry, key=key)
        doc["tomograms"].append(entry)
        old_key = unresolved.entry["key"]
        for name, blob in unresolved.blobs.items():
            snap.blobs[name.replace(f"masks/{old_key}/", f"masks/{key}/", 1)] = blob
    return snap


def _tomogram_entry(item: OpenTomogram, key: str, base: Path) -> dict:
    tomo = item.tomogram
    path = tomo.path.resolve() if tomo.path else None
    relative = None
    if path is not None:
        try:
            relative = Path(os.path.relpath(path, base)).as_posix()
        except ValueError:  # another drive on Windows
            relative = None
    annotation = item.annotation
    return {"key": key, "name": tomo.name, "path": relative, "absolute_path": str(path) if path else None,
            "shape": list(tomo.shape),
            "voxel_size_override": tomo.voxel_size if tomo.voxel_size_is_override else None,
            "z": item.z, "cuts": list(item.cuts), "display": {k: getattr(item.display, k) for k in _DISPLAY_FIELDS},
            "boxes": [[b.z, b.y, b.x, b.size, b.feature_id] for b in annotation.boxes],
            "rulers": [r.to_list() for r in item.rulers],
            "masks": {str(fid): sorted(slices) for fid, slices in annotation.masks.items() if slices}}


def write_snapshot(snap: Snapshot, path: str | os.PathLike) -> None:
    with atomic_path(path) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
            archive.writestr("project.json", json.dumps(snap.document, indent=1))
            for name, blob in snap.blobs.items():
                archive.writestr(name, blob)


def save_project(session: Session, path: str | os.PathLike) -> None:
    write_snapshot(snapshot(session, path), path)
    session.history.mark_saved()


# --------------------------------------------------------------------- loading
@dataclass
class ProjectData:
    path: Path
    document: dict
    blobs: dict[str, bytes]


def read_project(path: str | os.PathLike) -> ProjectData:
    """Read and check a project file; raises ProjectError with the reason."""
    path = Path(path)
    if not path.exists():
        raise ProjectError(path, "file not found")
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            if "project.json" not in names:
                raise ProjectError(path, "is not an Ais-Qt project (no project.json inside)")
            document = json.loads(archive.read("project.json").decode("utf-8"))
            blobs = {n: archive.read(n) for n in names if n.startswith("masks/")}
    except zipfile.BadZipFile as e:
        raise ProjectError(path, f"is not an Ais-Qt project or is damaged ({e})") from e
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ProjectError(path, f"is damaged: project.json is not valid JSON ({e})") from e
    except (zlib.error, EOFError, OSError) as e:
        raise ProjectError(path, f"is damaged and cannot be read ({e})") from e
    if not isinstance(document, dict) or document.get("format") != FORMAT_NAME:
        raise ProjectError(path, "is not an Ais-Qt project (unknown format)")
    version = document.get("version")
    if not isinstance(version, int) or version < 1:
        raise ProjectError(path, f"is damaged: project format version {version!r}")
    if version > FORMAT_VERSION:
        raise ProjectError(path, f"was saved by a newer Ais-Qt ({document.get('app_version', '?')}, project format "
                                 f"{version}); this version reads format {FORMAT_VERSION} and up to it. "
                                 "The file was left unchanged.")
    return ProjectData(path, document, blobs)


def load_project(source: str | os.PathLike | ProjectData, session: Session, open_tomogram) -> list[str]:
    """Fill an empty session from a project file (or its already-read data); returns the problems
    that did not stop the load.

    ``open_tomogram(path) -> Tomogram`` opens volumes (so callers choose error handling).
    Tomograms that cannot be found are kept as UnresolvedTomogram and written back on save.
    """
    data = source if isinstance(source, ProjectData) else read_project(source)
    doc, problems = data.document, []
    try:
        features = [Feature(int(f["id"]), str(f["name"]), str(f["colour"]), float(f.get("opacity", 0.5)),
                            bool(f.get("visible", True))) for f in doc.get("features", [])]
        tomograms = list(doc.get("tomograms", []))
        box_size = int(doc.get("box_size", session.box_size))
    except (KeyError, TypeError, ValueError) as e:
        raise ProjectError(data.path, f"is damaged: bad feature list ({e})") from e
    session.box_size = box_size
    session.interactions.restore(doc.get("interactions", {}), data.path)
    for feature in features:
        session.features.insert(feature)
    active = session.features.by_id(doc.get("active_feature") or -1)
    if active is not None:
        session.features.active = active
    session.unresolved = []
    base = data.path.resolve().parent
    opened = []
    for entry in tomograms:
        item = _open_entry(entry, base, session, open_tomogram, problems, data)
        if item is None:
            prefix = f"masks/{entry.get('key')}/"
            session.unresolved.append(UnresolvedTomogram(entry, {n: b for n, b in data.blobs.items()
                                                                 if n.startswith(prefix)}))
        opened.append(item)
    current = doc.get("current")
    if isinstance(current, int) and 0 <= current < len(opened) and opened[current] is not None:
        session.current = opened[current]
    session.history.clear()
    return problems


def _open_entry(entry, base, session, open_tomogram, problems, data) -> OpenTomogram | None:
    candidates = [base / entry["path"]] if entry.get("path") else []
    if entry.get("absolute_path"):
        candidates.append(Path(entry["absolute_path"]))
    found = next((c for c in candidates if c.exists()), None)
    if found is None:
        problems.append(f"{entry.get('name', '?')}: tomogram not found (looked for "
                        f"{', '.join(str(c) for c in candidates)}); its annotations are kept in the project")
        return None
    try:
        tomogram = open_tomogram(found)
    except AisError as e:
        problems.append(f"{e}; its annotations are kept in the project")
        return None
    if list(tomogram.shape) != list(entry.get("shape", tomogram.shape)):
        problems.append(f"{found}: shape {tomogram.shape} differs from the {tuple(entry['shape'])} the project "
                        "was annotated on; its annotations are kept in the project but not shown")
        tomogram.close()
        return None
    item = session.add(tomogram, make_current=False)
    try:
        _fill_item(item, entry, data)
    except (KeyError, TypeError, ValueError) as e:
        raise ProjectError(data.path, f"is damaged: annotations of {tomogram.name} ({e})") from e
    return item


def _fill_item(item: OpenTomogram, entry: dict, data: ProjectData) -> None:
    if entry.get("voxel_size_override"):
        item.tomogram.voxel_size = float(entry["voxel_size_override"])
    item.z = int(entry.get("z", item.z))
    item.cuts = tuple(int(v) for v in entry.get("cuts", item.cuts))
    display = DisplaySettings(**{k: v for k, v in entry.get("display", {}).items() if k in _DISPLAY_FIELDS})
    for k in _DISPLAY_FIELDS:
        setattr(item.display, k, getattr(display, k))
    annotation = item.annotation
    ny, nx = annotation.slice_shape
    for fid, zs in entry.get("masks", {}).items():
        for z in zs:
            name = _mask_name(entry["key"], int(fid), int(z))
            if name not in data.blobs:
                raise ValueError(f"missing {name}")
            bits = np.load(io.BytesIO(data.blobs[name]), allow_pickle=False)
            if bits.dtype != np.uint8 or bits.size != (ny * nx + 7) // 8:
                raise ValueError(f"{name} does not fit a {ny} x {nx} slice")
            mask = np.unpackbits(bits, count=ny * nx).astype(bool).reshape(ny, nx)
            annotation.masks.setdefault(int(fid), {})[int(z)] = mask
    annotation.boxes = [Box(*map(int, b)) for b in entry.get("boxes", [])]
    item.rulers = [Ruler.from_list(r) for r in entry.get("rulers", [])]


def _mask_name(key: str, feature_id: int, z: int) -> str:
    return f"masks/{key}/f{feature_id}/z{z:05d}.npy"


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()
