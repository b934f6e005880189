"""Ais training sets (.scnt) as Ais-Qt training sets, so boxes annotated and extracted in Ais train here.

Two formats share the suffix (as documented in Ais's se_scnt.py): a tar holding ``metadata.json``
(apix, box_size, box_depth, features, normalization...), ``y/<id>.mrc`` labels (H, W; 0 negative,
1 positive, 2 ignore) and ``x_<flavour>/<id>.mrc`` input boxes (D, H, W) of which the annotated
flavour is used; or, older, a TIFF of (N, D+1, H, W): D input slices, then the label. Boxes several
slices deep (for Ais's 2.5D networks) give their middle slice, which is the annotated one.

Each box becomes its 8 orientations (rotations and flips, as Ais augments at training), one group
per box, so validation holds out whole boxes. Ais's normalisations carry over: "global_mad" boxes
were normalised with the whole tomogram's mean and robust spread when extracted (the network then
needs the same at inference: normalisation "volume_mad"); older boxes are normalised each on its own.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
from datetime import datetime, timezone
from pathlib import Path

from mrcfile.mrcinterpreter import MrcInterpreter
import numpy as np

from ais_qt import __version__
from ais_qt.models.errors import AisError
from ais_qt.models.learning.training_set import TrainingSet, normalise_tile, orient

SUFFIX = ".scnt"
ORIENTATIONS = 8


def load_scnt(path: str | os.PathLike, feature: str | None = None) -> TrainingSet:
    """An Ais .scnt as a TrainingSet for ``feature`` (default: the set's first feature, else its file name)."""
    path = Path(path)
    if not path.exists():
        raise AisError(path, "file not found")
    try:
        is_tar = tarfile.is_tarfile(path)
    except OSError as e:
        raise AisError(path, f"cannot be read ({e})") from None
    boxes, labels, meta = _read_tar(path) if is_tar else _read_tiff(path)
    if not len(boxes):
        raise AisError(path, "holds no training boxes")
    normalisation = "volume_mad" if meta.get("normalization") == "global_mad" else "tile"
    if normalisation == "tile":
        boxes = [normalise_tile(b) for b in boxes]
    features = meta.get("features") or []
    name = feature or (features[0] if features else path.stem)
    x, y, positive, groups = [], [], [], []
    for index, (box, label) in enumerate(zip(boxes, labels)):
        has_feature = bool((label == 1).any())
        for k in range(ORIENTATIONS):
            x.append(orient(box, k))
            y.append(orient(label, k))
            positive.append(has_feature)
            groups.append(index)
    apix = float(meta.get("apix") or 0)
    metadata = {
        "feature": name, "colour": None, "negatives": [], "tile_size": int(boxes[0].shape[-1]),
        "copies": ORIENTATIONS, "negative_ratio": None, "normalisation": normalisation,
        "intensity_augmentation": False, "seed": 0, "voxel_size": apix if apix > 0 else None,
        "positive_boxes": int(sum(bool((lab == 1).any()) for lab in labels)),
        "negative_boxes": int(sum(not (lab == 1).any() for lab in labels)),
        "sources": [{"name": path.name, "path": str(path), "voxel_size": apix if apix > 0 else None,
                     "boxes": len(boxes)}],
        "imported_from": f"Ais training set {path.name} (features: {', '.join(features) or 'not recorded'})",
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "app_version": __version__}
    stack = lambda tiles, kind: np.stack(tiles)[..., None].astype(kind)  # noqa: E731
    return TrainingSet(stack(x, np.float32), stack(y, np.float32), np.array(positive), np.array(groups), metadata)


def _read_tar(path: Path) -> tuple[list, list, dict]:
    try:
        with tarfile.open(path, "r:*") as archive:
            files = {}
            for member in archive.getmembers():
                if member.isfile():
                    parts = Path(member.name).parts
                    files["/".join(parts[-2:]) if len(parts) > 1 else parts[0]] = archive.extractfile(member).read()
    except (tarfile.TarError, EOFError, OSError) as e:
        raise AisError(path, f"is not an Ais training set or is damaged ({e})") from None
    try:
        meta = json.loads(files["metadata.json"]) if "metadata.json" in files else {}
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise AisError(path, f"has unreadable metadata ({e})") from None
    flavours = sorted({name.split("/")[0] for name in files if name.startswith("x_") and "/" in name})
    if not flavours:
        raise AisError(path, "is not an Ais training set: it has no input boxes (x_*/ folders)")
    flavour = meta.get("annotated_flavour") if meta.get("annotated_flavour") in flavours else (
        "x_main" if "x_main" in flavours else flavours[0])
    ids = sorted(name[2:-4] for name in files if name.startswith("y/") and name.endswith(".mrc"))
    boxes, labels = [], []
    for box_id in ids:
        image_name = f"{flavour}/{box_id}.mrc"
        if image_name not in files:
            continue
        image = _mrc(files[image_name], path, image_name)
        label = _mrc(files[f"y/{box_id}.mrc"], path, f"y/{box_id}.mrc")
        boxes.append(_middle(image))
        labels.append(_middle(label))
    _check_shapes(boxes, labels, path)
    return boxes, labels, meta


def _read_tiff(path: Path) -> tuple[list, list, dict]:
    import tifffile

    try:
        with tifffile.TiffFile(path) as tiff:
            description = tiff.pages[0].description or ""
            data = tiff.asarray()
    except Exception as e:  # tifffile raises many types for files that are not TIFF
        raise AisError(path, f"is neither an Ais training set archive nor its older TIFF form ({e})") from None
    if data.ndim != 4 or data.shape[1] < 2:
        raise AisError(path, f"is a TIFF of shape {data.shape}, not Ais's (boxes, slices + label, height, width)")
    apix = description.split("apix=")[1].split()[0] if "apix=" in description else "0"
    boxes = [_middle(b[:-1]) for b in data.astype(np.float32)]
    labels = [b[-1] for b in data.astype(np.float32)]
    return boxes, labels, {"apix": float(apix), "normalization": None}


def _mrc(data: bytes, path: Path, name: str) -> np.ndarray:
    try:
        with MrcInterpreter(io.BytesIO(data), permissive=False) as mrc:
            return np.array(mrc.data, dtype=np.float32)
    except (ValueError, EOFError, OSError) as e:
        raise AisError(path, f"holds a damaged box {name} ({e})") from None


def _middle(volume: np.ndarray) -> np.ndarray:
    """(H, W) as it is; (D, H, W): the middle (annotated) slice."""
    return volume[volume.shape[0] // 2] if volume.ndim == 3 else volume


def _check_shapes(boxes, labels, path: Path) -> None:
    shapes = {b.shape for b in boxes} | {lab.shape for lab in labels}
    if len(shapes) > 1:
        raise AisError(path, f"mixes box sizes {sorted(shapes)}; Ais-Qt trains on boxes of one size")
    if shapes and len(next(iter(shapes))) != 2 or (shapes and next(iter(shapes))[0] != next(iter(shapes))[1]):
        raise AisError(path, f"holds boxes of shape {next(iter(shapes))}, not square slices")
