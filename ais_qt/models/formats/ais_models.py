"""Ais model files (.scnm) in and out: networks trained in the original Ais segment here, and ours there.

An .scnm is a tar of ``<name>_weights.h5`` (a Keras 2 / TensorFlow 2 model: graph config + weights)
and ``<name>_metadata.json`` (title, colour, apix, box size, architecture, threshold, emit/absorb,
normalisation...). Importing never runs code from the file: every layer of the stored graph must be
one of Keras' own layers on ALLOWED_LAYERS, with a named activation (no Lambda, no custom layer or
function), before Keras rebuilds the graph from its description and loads the weights. Exporting
writes the graph in the Keras 2 layout that Ais 1.2.40 (TensorFlow 2.15) reads, and metadata with
every key its loader expects.

Inference of imported networks follows Ais's command line (`ais segment`): each slice is normalised
by the volume's mean and 1.4826 x MAD (Ais's "global_mad") or, for older models, by its own mean
and sd, reflect-padded to a multiple of 32 plus 32 px each side and predicted whole (see
inference.SlicePredictor). 2.5D and 3D Ais models (several input slices) are refused with a message.
"""

from __future__ import annotations

import io
import json
import logging
import os
import tarfile
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from ais_qt.models.atomic import atomic_path
from ais_qt.models.backend import keras
from ais_qt.models.errors import AisError

SUFFIX = ".scnm"
IMPORTED = "imported"  # NetworkInfo.architecture of a network whose graph came in a file, not from our library
AIS_PADDING = 32  # Ais pads slices to a multiple of 32 and 32 px more on each side (64 in all)

ALLOWED_LAYERS = frozenset({
    "InputLayer", "Conv2D", "Conv2DTranspose", "SeparableConv2D", "DepthwiseConv2D", "MaxPooling2D",
    "AveragePooling2D", "UpSampling2D", "ZeroPadding2D", "Cropping2D", "Concatenate", "Add", "Subtract",
    "Multiply", "Average", "Maximum", "Minimum", "BatchNormalization", "LayerNormalization", "GroupNormalization",
    "Dropout", "SpatialDropout2D", "GaussianNoise", "GaussianDropout", "Activation", "ReLU", "LeakyReLU", "PReLU",
    "ELU", "Softmax"})
ALLOWED_ACTIVATIONS = frozenset({"linear", "relu", "sigmoid", "tanh", "softmax", "elu", "selu", "swish", "silu",
                                 "gelu", "softplus", "softsign", "hard_sigmoid", "leaky_relu", "relu6", "exponential"})
MAX_MEMBER_BYTES = 4 << 30  # refuse absurd members before reading them into memory

# Our normalisations as Ais names them, and back. Ais has no whole-volume mean/sd at inference, so
# "volume" goes out as Ais's per-slice default (slices of one volume have nearly its statistics).
TO_AIS_NORMALISATION = {"tile": None, "volume": None, "volume_mad": "global_mad"}
FROM_AIS_NORMALISATION = {None: "tile", "global_mad": "volume_mad"}


# ------------------------------------------------------------------ import
def load_scnm(path: str | os.PathLike):
    """An Ais .scnm as a Network (Qt-free), or an AisError naming the file and what is wrong."""
    from ais_qt.models.learning.network import Network, NetworkInfo

    path = Path(path)
    members = _read_tar(path)
    metadata_name = next((n for n in members if n.endswith("_metadata.json")), None)
    weights_name = next((n for n in members if n.endswith(".h5")), None)
    if metadata_name is None or weights_name is None:
        missing = " and ".join(what for what, name in (("metadata (*_metadata.json)", metadata_name),
                                                        ("weights (*_weights.h5)", weights_name)) if name is None)
        raise AisError(path, f"is not an Ais model: its {missing} missing")
    try:
        metadata = json.loads(members[metadata_name])
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise AisError(path, f"has unreadable metadata ({e})") from None
    depth = int(metadata.get("model_depth") or 1)
    if depth > 1:
        raise AisError(path, f"is a 2.5D/3D Ais model ({depth} input slices); Ais-Qt runs 2D networks only")
    normalisation = metadata.get("normalization")
    if normalisation not in FROM_AIS_NORMALISATION:
        raise AisError(path, f"uses the normalisation '{normalisation}', which Ais-Qt does not know")
    model = _model_from_h5(members[weights_name], path)
    title = str(metadata.get("title") or path.stem)
    apix = float(metadata.get("apix") or 0)
    info = NetworkInfo(
        feature=title, colour=_hex_colour(metadata.get("colour")), architecture=IMPORTED,
        architecture_title=f"{metadata.get('arch') or 'Keras model'} (Ais)", params={"multiple": AIS_PADDING},
        tile_size=int(metadata.get("box_size") or 64), voxel_size=apix if apix > 0 else None,
        normalisation=FROM_AIS_NORMALISATION[normalisation], threshold=float(metadata.get("threshold", 0.5)),
        emit=bool(metadata.get("emit", False)), absorb=bool(metadata.get("absorb", False)),
        training={"imported_from": path.name, "epochs": metadata.get("epochs"), "batch_size": metadata.get("batch_size"),
                  "copies": metadata.get("n_copies"), "loss": metadata.get("loss"), "ais_info": metadata.get("info")},
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    network = Network(info, model)
    network.path = path
    return network


def _read_tar(path: Path) -> dict[str, bytes]:
    """The regular files of a tar by their base names, read into memory (nothing is extracted)."""
    if not path.exists():
        raise AisError(path, "file not found")
    try:
        with tarfile.open(path, "r:*") as archive:
            members = {}
            for member in archive.getmembers():
                if not member.isfile():
                    continue
                if member.size > MAX_MEMBER_BYTES:
                    raise AisError(path, f"holds an implausibly large member {member.name} ({member.size:,} bytes)")
                members[Path(member.name).name] = archive.extractfile(member).read()
            return members
    except (tarfile.TarError, EOFError, OSError) as e:
        raise AisError(path, f"is not an Ais model file or is damaged ({e})") from None


def _model_from_h5(data: bytes, path: Path):
    import h5py

    with tempfile.TemporaryDirectory() as folder:
        h5_path = Path(folder) / "model.h5"
        h5_path.write_bytes(data)
        try:
            with h5py.File(h5_path, "r+") as h5:
                raw = h5.attrs.get("model_config")
                if raw is None:
                    raise AisError(path, "holds weights without a model description (model_config)")
                config = json.loads(raw.decode() if isinstance(raw, bytes) else raw)
                check_layers(config, path)
                h5.attrs["model_config"] = json.dumps(keras3_config(config))
        except OSError as e:
            raise AisError(path, f"holds weights that are not a readable HDF5 file ({e})") from None
        k = keras()
        try:
            loaded = k.models.load_model(h5_path, compile=False)
        except Exception as e:  # Keras raises many types for graphs it cannot rebuild
            raise AisError(path, f"holds a model Keras cannot rebuild ({type(e).__name__}: {e})") from None
    inputs = loaded.inputs[0].shape
    if len(inputs) != 4:
        raise AisError(path, f"is a {len(inputs) - 2}D-input model; Ais-Qt runs 2D networks only")
    if inputs[-1] != 1 or loaded.outputs[0].shape[-1] != 1:
        raise AisError(path, "does not map one image channel to one probability channel")
    return _any_size(loaded)


def check_layers(config: dict, path: Path | None = None) -> None:
    """Refuse any layer or activation that is not one of Keras' own (code could hide there)."""
    if config.get("class_name") not in ("Functional", "Model", "Sequential"):
        raise AisError(path, f"holds a '{config.get('class_name')}', not a Keras layer graph")
    for layer in config.get("config", {}).get("layers", []):
        kind = layer.get("class_name")
        if kind in ("Functional", "Model", "Sequential"):
            check_layers(layer, path)
            continue
        if kind not in ALLOWED_LAYERS:
            raise AisError(path, f"uses the layer type '{kind}' (layer '{layer.get('config', {}).get('name')}'), "
                                 "which Ais-Qt does not load: only Keras' own layers are allowed, so a model file can "
                                 "never run code")
        activation = layer.get("config", {}).get("activation")
        if activation is not None and (not isinstance(activation, str) or activation not in ALLOWED_ACTIVATIONS):
            raise AisError(path, f"uses a custom activation in layer '{layer.get('config', {}).get('name')}'")


def keras3_config(config: dict) -> dict:
    """Keras 2 layer arguments that Keras 3 renamed or dropped (the graph itself reads as it is)."""
    for layer in config.get("config", {}).get("layers", []):
        arguments = layer.get("config", {})
        if layer.get("class_name") in ("Functional", "Model", "Sequential"):
            keras3_config(layer)
        elif layer.get("class_name") == "Conv2DTranspose" and arguments.get("groups", 1) == 1:
            arguments.pop("groups", None)
        elif layer.get("class_name") == "LeakyReLU" and "alpha" in arguments:
            arguments["negative_slope"] = arguments.pop("alpha")
    return config


def _any_size(model):
    """The same graph and weights with any input height and width (Ais trained it on fixed boxes)."""
    k = keras()
    config = model.get_config()
    for layer in config["layers"]:
        if layer["class_name"] == "InputLayer":
            shape = layer["config"].get("batch_shape") or layer["config"].get("batch_input_shape")
            layer["config"]["batch_shape"] = [None, None, None, shape[-1]]
            layer["config"].pop("batch_input_shape", None)
    rebuilt = k.Model.from_config(config)
    rebuilt.set_weights(model.get_weights())
    return rebuilt


def _hex_colour(colour) -> str:
    try:
        r, g, b = (min(max(float(c), 0.0), 1.0) for c in list(colour)[:3])
    except (TypeError, ValueError):
        return "#42d6a4"  # Ais's first default colour
    return "#{:02x}{:02x}{:02x}".format(*(round(c * 255) for c in (r, g, b)))


# ------------------------------------------------------------------ export
def save_scnm(network, path: str | os.PathLike) -> Path:
    """Write ``network`` as an .scnm that Ais 1.2.40 loads and segments with; returns the path."""
    path = Path(path)
    if not path.name.endswith(SUFFIX):
        path = path.with_name(path.name + SUFFIX)
    if network.model is None:
        raise AisError(path, "cannot export a network that has not been trained")
    if network.info.normalisation not in TO_AIS_NORMALISATION:
        raise AisError(path, f"the normalisation '{network.info.normalisation}' has no Ais equivalent")
    base = path.name[: -len(SUFFIX)]
    with tempfile.TemporaryDirectory() as folder:
        h5_path = Path(folder) / "model.h5"
        absl = logging.getLogger("absl")  # Keras calls HDF5 "legacy": it is what Ais reads, so say nothing
        level = absl.level
        absl.setLevel(logging.ERROR)
        try:
            network.model.save(h5_path)
        finally:
            absl.setLevel(level)
        _as_keras2(h5_path)
        members = {f"{base}_weights.h5": h5_path.read_bytes(),
                   f"{base}_metadata.json": json.dumps(ais_metadata(network)).encode()}
    with atomic_path(path) as tmp:
        with tarfile.open(tmp, "w") as archive:
            for name, data in members.items():
                entry = tarfile.TarInfo(name)
                entry.size, entry.mtime = len(data), int(datetime.now().timestamp())
                archive.addfile(entry, io.BytesIO(data))
    return path


def ais_metadata(network) -> dict:
    """Every key Ais 1.2.40's SEModel.load reads, from our NetworkInfo."""
    info = network.info
    meta = info.ais_metadata()
    n_parameters = int(network.model.count_params()) if network.model is not None else 0
    # Never an Ais library title: Ais hands some of those (e.g. "Pix2pix") to their own file loaders.
    meta["arch"] = f"{info.architecture_title} (Ais-Qt)"
    label = f"{meta['arch']} ({n_parameters / 1e6:.1f} Mp, {info.tile_size}-1, {meta['apix']:.1f})"
    meta.update({
        "compiled": True, "model_enum": -1, "epochs": int(meta.get("epochs") or 1),
        "batch_size": int(meta.get("batch_size") or 32), "n_copies": int(meta.get("n_copies") or 1),
        "loss": float(info.metrics.get("val_loss", 0.0) or 0.0), "active": True, "blend": False, "show": info.visible,
        "alpha": 0.75, "overlap": 0.2, "active_tab": 0, "n_parameters": n_parameters, "info": label,
        "info_short": label, "excess_negative": 0, "filament_diameter": None, "z_jitter": 0, "tta": 1,
        "normalization": TO_AIS_NORMALISATION[info.normalisation]})
    return meta


def _as_keras2(h5_path: Path) -> None:
    """Rewrite a Keras 3 HDF5 model's graph description in the Keras 2 layout (TensorFlow 2.15 reads
    nothing else); the weights are stored the same way by both."""
    import h5py

    with h5py.File(h5_path, "r+") as h5:
        config = json.loads(h5.attrs["model_config"])
        h5.attrs["model_config"] = json.dumps(keras2_config(config))
        h5.attrs["keras_version"] = "2.15.0"
        h5.attrs["backend"] = "tensorflow"
        if "training_config" in h5.attrs:
            del h5.attrs["training_config"]


def keras2_config(config: dict) -> dict:
    """A Keras 3 functional-model config in Keras 2 form (see _as_keras2)."""
    body = config["config"]
    layers = []
    for layer in body["layers"]:
        layer_config = _plain(layer["config"])
        if layer["class_name"] == "InputLayer":
            layer_config["batch_input_shape"] = layer_config.pop("batch_shape")
            layer_config.pop("optional", None)
        elif layer["class_name"] == "LeakyReLU":  # Keras 3 renamed its argument
            layer_config["alpha"] = layer_config.pop("negative_slope", 0.3)
        layers.append({"class_name": layer["class_name"], "config": layer_config, "name": layer["name"],
                       "inbound_nodes": [_node(node) for node in layer.get("inbound_nodes", [])]})
    ends = {key: body[key] if isinstance(body[key][0], list) else [body[key]]
            for key in ("input_layers", "output_layers")}
    return {"class_name": "Functional", "config": {"name": body["name"], "trainable": body.get("trainable", True),
                                                   "layers": layers, **ends}}


def _plain(value):
    """Keras 3 serialisation details Keras 2 does not take: dtype policies become their names,
    initializers lose the axes arguments Keras 2 lacks."""
    if isinstance(value, dict):
        if value.get("class_name") == "DTypePolicy":
            return value["config"]["name"]
        out = {k: _plain(v) for k, v in value.items() if k not in ("input_axes", "output_axes")}
        return out
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _node(node: dict) -> list:
    """{"args": [tensor or [tensors]], "kwargs": {}} -> [[layer, node index, tensor index, {}], ...]."""
    first = node["args"][0]
    tensors = first if isinstance(first, list) else [first]
    return [[*t["config"]["keras_history"], {}] for t in tensors]


def has_ais_suffix(path: str | os.PathLike) -> bool:
    return str(path).lower().endswith(SUFFIX)


def robust_statistics(tomogram, slices: int = 32) -> tuple[float, float]:
    """Ais's "global_mad" normalisation: the mean, and 1.4826 x the median absolute deviation (the sd
    of Gaussian noise), over the central region (64 px or a fifth of each side trimmed) of up to 32
    evenly spaced slices. Models trained in Ais with it expect their input scaled so."""
    nz, ny, nx = tomogram.shape
    zs = np.linspace(0, nz - 1, min(slices, nz)).astype(int)
    my, mx = min(int(0.2 * ny), 64), min(int(0.2 * nx), 64)
    region = np.stack([np.asarray(tomogram.data[z, my:ny - my or None, mx:nx - mx or None], np.float32) for z in zs])
    median = np.median(region)
    return float(region.mean()), float(1.4826 * np.median(np.abs(region - median))) + 1e-7
