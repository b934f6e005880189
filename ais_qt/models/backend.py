"""Keras, imported on first use only (it takes seconds), with TensorFlow as the default backend.

Importing through here keeps start-up fast and TensorFlow's console chatter out of the terminal:
its C++ start-up notices (oneDNN, CUDA probing on machines without a GPU, absl's "before
InitializeLog" banner) are printed before TF_CPP_MIN_LOG_LEVEL takes effect, so the import and the
first device query run with the process's stderr captured, and only lines that are not such
notices are passed on. AIS_QT_VERBOSE=1 (``--verbose`` on the command line) shows everything.
The code itself uses only the Keras 3 API, so KERAS_BACKEND=jax or torch works where installed.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import threading

NOISE = re.compile(r"All log messages before absl::InitializeLog|oneDNN custom operations|cudart_stub\.cc|"
                   r"cuda_platform\.cc|cuda_executor\.cc|Unable to register cu(DNN|FFT|BLAS) factory|"
                   r"computation placer already registered|TF-TRT Warning|This TensorFlow binary is optimized|"
                   r"rebuild TensorFlow with the appropriate compiler flags|cuda_dnn\.cc|cuda_fft\.cc|cuda_blas\.cc")
_lock = threading.Lock()
# Held while TensorFlow builds graphs in a background thread for long: a training's fit and the
# making of a fast engine (which traces the model to convert it and to check it against Keras),
# so the two never trace at once; the engine waits for a training, the live overlay uses Keras.
graph_lock = threading.RLock()
_loaded = None


def verbose() -> bool:
    return os.environ.get("AIS_QT_VERBOSE", "") not in ("", "0")


def keras():
    global _loaded
    if _loaded is not None:
        return _loaded
    with _lock:
        if _loaded is None:
            os.environ.setdefault("KERAS_BACKEND", "tensorflow")
            os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "0" if verbose() else "2")
            _loaded = _import() if verbose() else _quietly(_import)
    return _loaded


def _import():
    import keras as _keras

    if _keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.list_physical_devices()  # the CUDA probe happens here, inside the capture
    return _keras


def _quietly(function):
    """Run ``function`` with file descriptor 2 captured; pass on the lines that are not NOISE."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real stderr (a windowed build): nothing to keep clean
        return function()
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            return function()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            kept = [line for line in captured.read().decode(errors="replace").splitlines()
                    if line.strip() and not NOISE.search(line)]
            if kept:
                print("\n".join(kept), file=sys.stderr, flush=True)


def may_have_gpu() -> bool:
    """``has_gpu()``, without importing TensorFlow where the answer is surely no: a batch worker that
    only runs the fast engine then never loads TensorFlow (600 MiB of memory, seconds of start-up)."""
    if _loaded is None and os.environ.get("KERAS_BACKEND", "tensorflow") == "tensorflow":
        if os.environ.get("CUDA_VISIBLE_DEVICES") in ("", "-1"):
            return False
        if sys.platform.startswith("linux") and not _nvidia_gpus():
            return False
    return has_gpu()


def _nvidia_gpus() -> list[str]:
    """The GPUs the NVIDIA driver lists (Linux); TensorFlow can use no GPU without them."""
    try:
        return os.listdir("/proc/driver/nvidia/gpus")
    except OSError:
        return []


def has_gpu() -> bool:
    """Whether the Keras backend computes on a GPU."""
    backend = keras().backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return bool(tf.config.list_physical_devices("GPU"))
    if backend == "jax":
        import jax

        return jax.default_backend() == "gpu"
    if backend == "torch":
        import torch

        return torch.cuda.is_available()
    return False


def device_description() -> str:
    """Where Keras computes, in the user's words: "GPU 0 (NVIDIA H100 80GB HBM3)" or "the CPU (16 cores)"."""
    backend = keras().backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        if gpus:
            name = tf.config.experimental.get_device_details(gpus[0]).get("device_name", "a GPU")
            return f"GPU 0 ({name})" + (f", one of {len(gpus)}" if len(gpus) > 1 else "")
    elif backend == "jax" and has_gpu():
        import jax

        gpus = jax.devices("gpu")
        return f"GPU 0 ({gpus[0].device_kind})" + (f", one of {len(gpus)}" if len(gpus) > 1 else "")
    elif backend == "torch" and has_gpu():
        import torch

        count = torch.cuda.device_count()
        return f"GPU 0 ({torch.cuda.get_device_name(0)})" + (f", one of {count}" if count > 1 else "")
    return f"the CPU ({os.cpu_count()} cores)"
