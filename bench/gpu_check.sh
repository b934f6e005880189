#!/usr/bin/env bash
# On a machine with an NVIDIA GPU: the default network trained and the built-in sample segmented on
# the GPU and on the CPU, tiles/s and voxels/s printed, and the two segmentations compared.
# Installs TensorFlow's CUDA build (ais-qt[gpu]) into .venv when TensorFlow sees no GPU.
#   bench/gpu_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
./dev.sh setup
python=.venv/bin/python
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || { echo "no NVIDIA GPU here" >&2; exit 1; }
if ! "$python" -c 'import sys, tensorflow as tf; sys.exit(not tf.config.list_physical_devices("GPU"))' 2>/dev/null; then
    echo "Installing TensorFlow's CUDA build (ais-qt[gpu])…"
    "$python" -m pip install --quiet -e ".[gpu]"
fi
AIS_QT_CACHE_DIR="${AIS_QT_CACHE_DIR:-$(mktemp -d)}" "$python" bench/gpu_check.py
