"""A faster inference engine for the CPU, derived from a network's Keras model (the reference).

The Keras model is converted once to OpenVINO's form and compiled for this machine's CPU; the
converted model is cached in the user cache folder under a digest of the weights, so a network is
converted once, not at every start, and a retrained network (new weights) gets its own. Predictions
agree with Keras to within one level of the 0..255 outputs (tests/test_engine.py).

Where OpenVINO is not installed, cannot convert a model (a custom layer), or AIS_QT_ENGINE=keras,
the Keras model predicts as before; the reason is kept in ``Engine.fallback`` for the user.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import numpy as np

from ais_qt.models.paths import user_cache_dir

ENGINES = ("openvino", "keras")
_lock = threading.Lock()


def wanted() -> str:
    """The engine asked for: AIS_QT_ENGINE, else OpenVINO on the CPU (a GPU is faster with Keras)."""
    choice = os.environ.get("AIS_QT_ENGINE", "").strip().lower()
    if choice in ENGINES:
        return choice
    from ais_qt.models.backend import has_gpu

    return "keras" if has_gpu() else "openvino"


def weights_digest(model) -> str:
    """A digest of the model's architecture and weights: what the converted model depends on."""
    digest = hashlib.sha1(model.to_json().encode())
    for weight in model.weights:
        digest.update(np.ascontiguousarray(np.asarray(weight)).tobytes())
    return digest.hexdigest()[:20]


def cache_folder() -> Path:
    return user_cache_dir() / "engines"


class Engine:
    """Predicts like ``model.predict_on_batch`` with the fastest engine that works for the model."""

    def __init__(self, model, engine: str | None = None):
        self.model = model
        self.name = "keras"
        self.fallback: str | None = None  # why the Keras model predicts, when OpenVINO was asked for
        self._compiled = None
        self._local = threading.local()
        if (engine or wanted()) == "openvino":
            try:
                self._compiled = _compile(model)
                self.name = "openvino"
            except ImportError:
                self.fallback = "OpenVINO is not installed"
            except Exception as e:  # a model OpenVINO cannot convert still predicts, with Keras
                self.fallback = f"OpenVINO could not convert the network ({type(e).__name__}: {e})"

    def predict_on_batch(self, x: np.ndarray) -> np.ndarray:
        if self._compiled is None:
            return np.asarray(self.model.predict_on_batch(x), np.float32)
        # One inference request per thread: the live overlay and a batch job may predict at once.
        request = getattr(self._local, "request", None)
        if request is None:
            request = self._local.request = self._compiled.create_infer_request()
        result = request.infer({0: np.ascontiguousarray(x, np.float32)})
        return np.array(result[0], np.float32)


class KerasOnly:
    """The Keras model predicting, while the engine for it is being made."""

    name = "keras"
    fallback = "the fast engine is being prepared"

    def __init__(self, model):
        self.model = model

    def predict_on_batch(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.model.predict_on_batch(x), np.float32)


def _compile(model):
    import openvino as ov

    core = ov.Core()
    # OpenVINO keeps what it compiled for this CPU too: a second start compiles in a tenth of the time.
    core.set_property({"CACHE_DIR": str(cache_folder() / "compiled")})
    path = cache_folder() / f"{weights_digest(model)}.xml"
    with _lock:  # two threads converting the same network would write the same files
        if not (path.exists() and path.with_suffix(".bin").exists()):
            import warnings

            with warnings.catch_warnings():  # Keras warns about the input structure OpenVINO traces with
                warnings.simplefilter("ignore")
                converted = ov.convert_model(model)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.stem}.{os.getpid()}.partial.xml")
            ov.save_model(converted, str(tmp), compress_to_fp16=False)
            os.replace(tmp.with_suffix(".bin"), path.with_suffix(".bin"))  # weights first, then the graph
            os.replace(tmp, path)
    # OpenVINO's defaults: bfloat16 where the CPU computes it natively (2.5x faster here; within a
    # third of an output level of Keras, tests/test_engine.py), float32 elsewhere. LATENCY: one
    # request uses all the cores, which suits one slice at a time (THROUGHPUT was 2x slower).
    return core.compile_model(str(path), "CPU", {"PERFORMANCE_HINT": "LATENCY"})
