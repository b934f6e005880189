"""Mixed precision for training: an option, not the default.

CPUs with AVX512_BF16 or AMX instructions (AMD Zen 4 and later, Intel Cooper Lake / Sapphire Rapids
and later) run TensorFlow's bfloat16 convolutions faster than float32: a training tile costs 1.5x
less CPU time (bench/train_throughput.py, UNet M, 2 cores). Training then
computes in bfloat16 with float32 weights (Keras's ``mixed_bfloat16`` policy) in a copy of the
model (trainer.py); the trained weights go back into the architecture's float32 model, so saved
networks, inference and calibration are unchanged.
Not the default: in the membrane learning test (150 batches, tests/test_networks.py) one seed of
three collapsed in bfloat16 (Dice 0.27, 0.82, 0.73 for seeds 0-2; float32 0.72, 0.74); at the
benchmark's 600 batches four trainings kept their float32 Dice (bench/quality.py).
"""

from __future__ import annotations

import functools
import sys

PRECISIONS = ("float32", "mixed_bfloat16")
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


def training_policy(setting: str) -> str | None:
    """The Keras dtype policy to train in for a ``TrainSettings.precision``; None: float32."""
    if setting not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}")
    return None if setting == "float32" else setting
