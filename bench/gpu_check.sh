#!/usr/bin/env bash
# On a machine with an NVIDIA GPU: the default network trained and the built-in sample segmented on
# the GPU and on the CPU, tiles/s and voxels/s printed, and the two segmentations compared.
#   bench/gpu_check.sh [--keep FOLDER]
# Sets up .venv and installs TensorFlow's CUDA build (ais-qt[gpu]) when TensorFlow sees no GPU.
# AIS_QT_PYTHON=python3 uses that Python as it is instead (a machine with no package index whose
# Python has JAX or PyTorch for the GPU: give KERAS_BACKEND=jax or torch).
set -euo pipefail
cd "$(dirname "$0")/.."
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || { echo "no NVIDIA GPU here" >&2; exit 1; }
sees_gpu='import sys; from ais_qt.models.backend import has_gpu; sys.exit(not has_gpu())'
if [ -n "${AIS_QT_PYTHON:-}" ]; then
    python=$AIS_QT_PYTHON
    "$python" -c "$sees_gpu" || { echo "Keras (${KERAS_BACKEND:-tensorflow}) sees no GPU in $python" >&2; exit 1; }
else
    ./dev.sh setup
    python=.venv/bin/python
    if ! "$python" -c "$sees_gpu" 2>/dev/null; then
        echo "Installing TensorFlow's CUDA build (ais-qt[gpu])…"
        "$python" -m pip install --quiet -e ".[gpu]"
    fi
fi
AIS_QT_CACHE_DIR="${AIS_QT_CACHE_DIR:-$(mktemp -d)}" "$python" bench/gpu_check.py "$@"
