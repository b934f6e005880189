"""Mixed precision for training: bfloat16 where the processor computes it faster.

CPUs with AVX512_BF16 or AMX instructions (AMD Zen 4 and later, Intel Cooper Lake / Sapphire Rapids
and later) run TensorFlow's bfloat16 convolutions faster than float32: a training tile costs 1.6x
less CPU time (bench/train_throughput.py, UNet M, 2 cores). Training then computes in bfloat16 with
float32 weights (Keras's ``mixed_bfloat16`` policy) in a copy of the model (trainer.py); the trained
weights go back into the architecture's float32 model, so saved networks, inference and
calibration are unchanged. The default, ``auto``, does so on such CPUs and trains in float32
elsewhere (GPUs included). The learning tests trained as well in either precision (membrane Dice at
150 batches, seeds 0-3: built-in sample 0.71-0.82 against 0.68-0.83 in float32; the shared scene
0.72-0.93 against 0.71-0.93), and so did bench/quality.py's rows at the full defaults.
"""

from __future__ import annotations

import functools
import sys

PRECISIONS = ("auto", "float32", "mixed_bfloat16")
_BF16_FLAGS = {"avx512_bf16", "amx_bf16"}


@functools.lru_cache(maxsize=1)
def cpu_has_bf16() -> bool:
    """Whether this CPU has bfloat16 arithmetic instructions (Linux: /proc/cpuinfo's flags)."""
    if not sys.platform.startswith("linux"):
        return False  # no portable way to ask; float32 is always correct
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    return bool(_BF16_FLAGS & set(line.split(":", 1)[1].split()))
    except OSError:
        pass
    return False


def training_policy(setting: str, on_gpu: bool) -> str | None:
    """The Keras dtype policy to train in for a ``TrainSettings.precision``; None: float32."""
    if setting not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}")
    if setting == "auto":
        return "mixed_bfloat16" if not on_gpu and cpu_has_bf16() else None
    return None if setting == "float32" else setting
