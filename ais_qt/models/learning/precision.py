"""Mixed precision for training, an option: bfloat16 where the processor computes it faster.

CPUs with AVX512_BF16 or AMX instructions (AMD Zen 4 and later, Intel Cooper Lake / Sapphire Rapids
and later) run TensorFlow's bfloat16 convolutions faster than float32: a training tile costs 1.6x
less CPU time (bench/train_throughput.py, UNet M, 2 cores). Training then computes in bfloat16 with
float32 weights (Keras's ``mixed_bfloat16`` policy) in a copy of the model (trainer.py); the trained
weights go back into the architecture's float32 model, so saved networks, inference and
calibration are unchanged. ``auto`` does so on such CPUs and trains in float32 elsewhere (GPUs
included). Not the default: in bench/quality.py at the full defaults (11 rows, seeds 1 and 2) the
two precisions trained alike within the seeds' spread on ten rows, but the synthetic microtubules
at SNR 0.5 came out at 0.100 and 0.043 (float32 0.107 and 0.055-0.065), just below that row's
intensity floor (0.044); the learning tests trained alike (membrane, seeds 0-3/0-4).
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
