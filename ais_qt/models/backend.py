"""Keras, imported on first use only (it takes seconds), with TensorFlow as the default backend.

Importing through here keeps start-up fast and TensorFlow's console chatter down; the code itself
uses only the Keras 3 API, so KERAS_BACKEND=jax or torch works where those are installed.
"""

from __future__ import annotations

import os


def keras():
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # errors only
    import keras as _keras

    return _keras
