"""A faster inference engine for the CPU, derived from a network's Keras model (the reference).

The Keras model is converted once to OpenVINO's form and compiled for this machine's CPU; the
converted model is cached in the user cache folder under a digest of the weights, so a network is
converted once, not at every start, and a retrained network (new weights) gets its own. Predictions
agree with Keras to within one level of the 0..255 outputs (tests/test_engine.py).

Where OpenVINO is not installed, cannot convert a network (a custom layer), or its converted network
is more than half an output level from Keras' answers on a check (in bfloat16 it is then compiled in
float32 and checked again), or AIS_QT_ENGINE=keras, the Keras model predicts as before; the reason
is kept in ``Engine.fallback`` for the user.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import queue
import sys
import threading
from pathlib import Path

import numpy as np

from ais_qt.models.atomic import atomic_path
from ais_qt.models.errors import AisError
from ais_qt.models.paths import user_cache_dir

ENGINES = ("openvino", "keras")
_lock = threading.Lock()


class Cancelled(Exception):
    """A prediction inside a ``CancelScope`` that was cancelled (its result is no longer wanted)."""


class CancelScope:
    """Predictions that may be abandoned part-way: the live overlay's guesses at the next slice,
    which a user's jump elsewhere makes useless. ``cancel()`` (from any thread) stops the engine's
    call under way within milliseconds (OpenVINO's requests can be cancelled; a Keras call runs to
    its end) and makes every later call in the scope raise ``Cancelled``."""

    def __init__(self):
        self.cancelled = False
        self._requests: set = set()
        self._guard = threading.Lock()

    def cancel(self) -> None:
        with self._guard:
            self.cancelled = True
            for request in self._requests:
                request.cancel()

    def __enter__(self):
        _scope.current = self
        return self

    def __exit__(self, *exc) -> None:
        _scope.current = None

    def check(self) -> None:
        if self.cancelled:
            raise Cancelled()

    def run(self, request, inputs):
        """``request.infer(inputs)``, cancelled with the scope."""
        with self._guard:
            self.check()
            self._requests.add(request)
        try:
            request.start_async(inputs)
            if self.cancelled:  # cancelled between being listed and starting: cancel() missed it
                request.cancel()
            try:
                request.wait()
            except RuntimeError:
                self.check()  # cancelled: say so; anything else is OpenVINO's own error
                raise
            return [request.get_output_tensor(0).data]
        finally:
            with self._guard:
                self._requests.discard(request)


_scope = threading.local()


def current_scope() -> CancelScope | None:
    """The cancel scope this thread predicts in, if any."""
    return getattr(_scope, "current", None)


def wanted() -> str:
    """The engine asked for: AIS_QT_ENGINE, else OpenVINO on the CPU (a GPU is faster with Keras)."""
    choice = os.environ.get("AIS_QT_ENGINE", "").strip().lower()
    if choice in ENGINES:
        return choice
    from ais_qt.models.backend import may_have_gpu

    return "keras" if may_have_gpu() else "openvino"


def ready(digest: str) -> bool:
    """Whether a network with these weights was converted and checked here before, so its engine can
    be compiled without its Keras model."""
    path = cache_folder() / f"{digest}.xml"
    return (wanted() == "openvino" and path.exists() and path.with_suffix(".bin").exists()
            and path.with_name(f"{digest}.checked.json").exists())


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

    def __init__(self, model=None, engine: str | None = None, digest: str | None = None, load=None):
        # (Keras' answers are the reference: a converted network that does not give them within half
        # an output level on a check is not used.) ``model`` may be None with the ``digest`` of its
        # weights and ``load`` to make it: a network converted and checked on an earlier run is then
        # compiled from the cache without Keras (a batch worker never imports TensorFlow).
        self._model, self._load = model, load
        self.name = "keras"
        self.precision = "float32"
        self.fallback: str | None = None  # why the Keras model predicts, when OpenVINO was asked for
        self._compiled = None
        self._requests: queue.SimpleQueue = queue.SimpleQueue()
        if (engine or wanted()) == "openvino":
            try:
                self._compiled, self.precision = _compile(lambda: self.model, digest)
                self.name = "openvino"
            except ImportError:
                self.fallback = "OpenVINO is not installed"
            except AisError:
                raise  # the network file's model is damaged: said once, by the loader
            except Exception as e:  # a model OpenVINO cannot convert still predicts, with Keras
                self.fallback = f"OpenVINO could not convert the network ({type(e).__name__}: {e})"

    @property
    def model(self):
        """The Keras model (made by ``load`` when first needed)."""
        if self._model is None and self._load is not None:
            self._model = self._load()
        return self._model

    def describe(self) -> str:
        """For the user: "OpenVINO, bfloat16" or "Keras (why not OpenVINO)"."""
        if self.name == "openvino":
            return f"OpenVINO, {self.precision}"
        return f"Keras ({self.fallback})" if self.fallback else "Keras"

    def predict_on_batch(self, x: np.ndarray) -> np.ndarray:
        scope = current_scope()
        if scope is not None:
            scope.check()
        if self._compiled is None:
            return np.asarray(self.model.predict_on_batch(x), np.float32)
        # One inference request per caller at a time (the live overlay and a batch job may predict
        # at once), kept in a pool rather than per thread: a request left in a Qt worker thread's
        # thread-local storage was destroyed as the thread ended, and crashed Python there.
        try:
            request = self._requests.get_nowait()
        except queue.Empty:
            request = self._compiled.create_infer_request()
        try:
            inputs = {0: np.ascontiguousarray(x, np.float32)}
            result = request.infer(inputs) if scope is None else scope.run(request, inputs)
            return np.array(result[0], np.float32)
        finally:
            self._requests.put(request)


class KerasOnly(Engine):
    """The Keras model predicting, while the engine for it is being made."""

    def __init__(self, model):
        super().__init__(model, "keras")
        self.fallback = "the fast engine is being prepared"


def _compile(model, digest: str | None = None):
    """(compiled model, precision); ``model()`` gives the Keras model, asked only when needed."""
    # OpenVINO's converter reports usage over the network from a forked process: a fork inside a
    # process running Qt, TensorFlow and OpenVINO threads is unsafe (a segfault in CI), and a desktop
    # tool does not report on its users. With its telemetry module unimportable, it uses its stub.
    sys.modules.setdefault("openvino_telemetry", None)
    import openvino as ov

    core = ov.Core()
    # OpenVINO keeps what it compiled for this CPU too: a second start compiles in a tenth of the time.
    core.set_property({"CACHE_DIR": str(cache_folder() / "compiled")})
    path = cache_folder() / f"{digest or weights_digest(model())}.xml"
    with _lock:  # two threads converting the same network would write the same files
        if not (path.exists() and path.with_suffix(".bin").exists()):
            import warnings

            with warnings.catch_warnings():  # Keras warns about the input structure OpenVINO traces with
                warnings.simplefilter("ignore")
                converted = ov.convert_model(model())
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.stem}.{os.getpid()}.partial.xml")
            ov.save_model(converted, str(tmp), compress_to_fp16=False)
            os.replace(tmp.with_suffix(".bin"), path.with_suffix(".bin"))  # weights first, then the graph
            os.replace(tmp, path)
    # OpenVINO's default precision is bfloat16 where the CPU computes it natively (2.5x faster here),
    # float32 elsewhere. bfloat16 is not close enough for every network (a default UNet trained on
    # the sample was 34 levels off on its slices, a small network from the original Ais 3): each
    # network is checked against Keras on the check tiles, and compiled in float32 unless it keeps
    # within half a level (trained networks do not). LATENCY: one request uses all the cores, which
    # suits a slice at a time (THROUGHPUT was 2x slower here). The check's verdict is kept beside the
    # converted network, for this OpenVINO and this CPU's default precision: later starts skip it
    # (running Keras once cost 40 MiB of peak memory and 2-3 s in a batch worker, bench/segment.py).
    latency = {"PERFORMANCE_HINT": "LATENCY"}
    compiled = core.compile_model(str(path), "CPU", latency)
    hint = compiled.get_property("INFERENCE_PRECISION_HINT")
    default = str(hint).lower()
    reduced = compiled if is_reduced(hint) else None  # else it is float32 already
    in_float32 = functools.cache(lambda: compiled if reduced is None else core.compile_model(
        str(path), "CPU", {**latency, "INFERENCE_PRECISION_HINT": "f32"}))  # compiled once, if needed

    verdict_file = path.with_name(f"{path.stem}.checked.json")
    key = {"openvino": ov.__version__, "default_precision": default, "check": CHECK_VERSION}
    verdict = _read_verdict(verdict_file, key)
    if verdict is None:
        verdict = _check(model(), reduced, in_float32)
        with atomic_path(verdict_file) as tmp:
            tmp.write_text(json.dumps({**key, **verdict}))
    if "error" in verdict:  # a layer OpenVINO converts differently: Keras it is
        raise ValueError(verdict["error"])
    if verdict["precision"] == "bfloat16":
        return reduced, "bfloat16"
    return in_float32(), "float32"


def _check(model, reduced, in_float32) -> dict:
    """{"precision": "bfloat16" | "float32"}, or {"error": why} when neither keeps to Keras' answers.
    ``reduced``: the network compiled at the CPU's bfloat16 default (None where that is float32);
    ``in_float32()``: compiled in float32 (made once, when needed)."""
    if reduced is not None and _worst_difference(model, reduced) <= TOLERANCE:
        return {"precision": "bfloat16"}
    worst = _worst_difference(model, in_float32())
    if worst > TOLERANCE:
        return {"error": f"its answers differ from Keras' by {worst * 255:.1f} of 255 levels"}
    return {"precision": "float32"}


def _read_verdict(path: Path, key: dict) -> dict | None:
    """The kept verdict of the check, if it was made with this OpenVINO at this default precision."""
    try:
        kept = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(kept, dict) or any(kept.get(k) != v for k, v in key.items()):
        return None
    return kept if kept.get("precision") in ("bfloat16", "float32") or isinstance(kept.get("error"), str) else None


TOLERANCE = 0.5 / 255  # of a probability: half of one output level
# Verdicts made by an earlier check are made again: version 1 took OpenVINO 2026's "bfloat16" for
# float32 (so networks ran in bfloat16 unchecked) and checked on white noise only.
CHECK_VERSION = 2


def is_reduced(hint) -> bool:
    """Whether OpenVINO's INFERENCE_PRECISION_HINT (an ov.Type, printed "<Type: 'bfloat16'>" by
    OpenVINO 2026, "bf16" by older ones) is a 16-bit float type."""
    text = str(hint).lower()
    return any(name in text for name in ("bf16", "bfloat16", "f16", "float16"))


def check_tiles(size: int) -> np.ndarray:
    """Normalised tiles the converted network must answer as Keras does: white noise and noise
    smoothed over 1, 2 and 4 px. White noise alone passed networks whose bfloat16 answers on real
    slices were 34 levels off: smoothed noise has a tomogram's spatial correlation, which drives a
    trained network to the confident, steep outputs where bfloat16's rounding shows (6-20 levels
    for that network)."""
    from scipy import ndimage

    noise = np.random.default_rng(0).normal(size=(4, size, size)).astype(np.float32)
    tiles = [noise[0]] + [ndimage.gaussian_filter(n, sigma) for n, sigma in zip(noise[1:], (1, 2, 4))]
    return np.stack([(t - t.mean()) / t.std() for t in tiles])[..., None].astype(np.float32)


def _worst_difference(model, compiled) -> float:
    """The largest difference from Keras over the check tiles, at the network's own tile size."""
    size = model.input_shape[1] or 128
    x = check_tiles(max(64, min(int(size), 256)))
    ours = compiled.create_infer_request().infer({0: x})[0]
    return float(np.abs(np.asarray(ours) - np.asarray(model.predict_on_batch(x))).max())
