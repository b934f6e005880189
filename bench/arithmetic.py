"""How close inference is to this CPU's arithmetic limit, and what that limit allows.

For a network the arithmetic is fixed: its convolutions' multiply-adds per slice. This counts them
(from the network as OpenVINO runs it, at the slice's padded size), times the engine on that slice
in float32 and in bfloat16 (where the CPU has it), and sets both against the CPU's float32 peak as
measured by a large single-precision matrix product (the best case for any engine).
The fastest a float32 engine could possibly be is then ``flops / peak``: a speed target below that
needs fewer operations or narrower numbers, not a better engine.

Two cases, as the speed benchmarks run them:
- live: the default UNet on a 1024 x 1024 slice (one 1056 px tile with its border), as
  bench/live_slice.py;
- volume: Ais's "UNet M" on a 512 x 512 slice (one 544 px tile), as bench/segment.py, and the same
  slice as the original Ais computes it (reflect-padded to a multiple of 32 plus 32 px each side);
- training: UNet M on 64 px tiles, as bench/train_throughput.py compares with Ais (counted, not timed:
  the backward pass taken as twice the forward's arithmetic, the usual estimate).

    python bench/arithmetic.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def multiply_adds(ov_model, size: int) -> int:
    """Multiply-adds of the network's convolutions on one size x size single-channel tile."""
    ov_model.reshape([1, size, size, 1])
    total = 0
    for op in ov_model.get_ordered_ops():
        kind = op.get_type_name()
        if kind == "Convolution":  # weights (out, in, kh, kw); every output pixel costs in*kh*kw per channel
            n, c_out, h, w = op.get_output_shape(0)
            _, c_in, kh, kw = op.get_input_shape(1)
            total += n * h * w * c_out * c_in * kh * kw
        elif kind == "ConvolutionBackpropData":  # transposed: every input pixel spreads in*out*kh*kw
            n, c_in, h, w = op.get_input_shape(0)
            _, c_out, kh, kw = op.get_input_shape(1)
            total += n * h * w * c_in * c_out * kh * kw
        elif kind == "MatMul":  # every output element sums over a's contracted axis
            a = list(op.get_input_shape(0))
            inner = a[-2] if op.get_attributes().get("transpose_a") else a[-1]
            total += int(np.prod(list(op.get_output_shape(0)))) * inner
    return int(total)


def float32_peak(core, repeats: int) -> float:
    """FLOP/s of a 3072^3 single-precision matrix product: the better of numpy's BLAS and OpenVINO's
    own (the best of ``repeats`` each), so no engine's convolutions can be faster than this."""
    import openvino as ov
    import openvino.opset13 as ops

    n = 3072
    a = np.random.default_rng(0).random((n, n), np.float32)
    b = np.random.default_rng(1).random((n, n), np.float32)
    a @ b
    best = min(_seconds(lambda: a @ b) for _ in range(repeats))
    x = ops.parameter([n, n], np.float32)
    product = ov.Model([ops.matmul(x, ops.constant(b), False, False)], [x])
    request = core.compile_model(product, "CPU", {"PERFORMANCE_HINT": "LATENCY",
                                                  "INFERENCE_PRECISION_HINT": "f32"}).create_infer_request()
    request.infer({0: a})
    best = min([best] + [_seconds(lambda: request.infer({0: a})) for _ in range(repeats)])
    return 2 * n ** 3 / best


def _seconds(call) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def engine_seconds(core, ov_model, size: int, precision: str, repeats: int) -> float:
    """Median seconds of one size x size tile through OpenVINO at this precision (LATENCY, as the
    engine compiles it)."""
    ov_model.reshape([1, size, size, 1])
    compiled = core.compile_model(ov_model, "CPU", {"PERFORMANCE_HINT": "LATENCY",
                                                    "INFERENCE_PRECISION_HINT": precision})
    request = compiled.create_infer_request()
    x = np.random.default_rng(0).normal(size=(1, size, size, 1)).astype(np.float32)
    request.infer({0: x})
    return statistics.median(_seconds(lambda: request.infer({0: x})) for _ in range(repeats))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--live-target", type=float, default=0.4, help="seconds wanted for the live slice")
    args = parser.parse_args()
    os.environ.setdefault("AIS_QT_CACHE_DIR", tempfile.mkdtemp())
    sys.modules.setdefault("openvino_telemetry", None)
    import openvino as ov

    from segment import UNET_M, make_network

    from ais_qt.models.formats.ais_models import AIS_PADDING
    from ais_qt.models.learning.architectures import ArchitectureLibrary
    from ais_qt.models.learning.engine import is_reduced

    library = ArchitectureLibrary()
    core = ov.Core()
    default, unet_m = (ov.convert_model(make_network(library, params).model) for params in ({}, UNET_M))
    bf16 = is_reduced(core.compile_model(default, "CPU").get_property("INFERENCE_PRECISION_HINT"))
    peak = float32_peak(core, args.repeats)
    print(f"float32 peak (3072^3 matrix product, numpy or OpenVINO): {peak / 1e9:.0f} GFLOP/s on {os.cpu_count()} cores")
    cases = (("live: default UNet, 1024 px slice", default, 1056),
             ("volume: UNet M, 512 px slice", unet_m, 544),
             ("volume: UNet M, 512 px slice as Ais pads it", unet_m, 512 + (-512) % AIS_PADDING + 2 * AIS_PADDING))
    print("| case | tile | GFLOP per slice | float32 s | GFLOP/s (of peak) | least possible float32 s |"
          + (" bfloat16 s |" if bf16 else ""))
    print("|---|---|---|---|---|---|" + ("---|" if bf16 else ""))
    flops = {}
    for label, model, tile in cases:  # (each case reshapes the model it shares to its tile)
        flops[label] = 2 * multiply_adds(model, tile)
        f32 = engine_seconds(core, model, tile, "f32", args.repeats)
        row = (f"| {label} | {tile} px | {flops[label] / 1e9:.1f} | {f32:.3f} | {flops[label] / f32 / 1e9:.0f} "
               f"({flops[label] / f32 / peak:.0%}) | {flops[label] / peak:.3f} |")
        if bf16:
            row += f" {engine_seconds(core, model, tile, 'bf16', args.repeats):.3f} |"
        print(row)
    training = 3 * 2 * multiply_adds(unet_m, 64)
    print(f"training UNet M on 64 px tiles: about {training / 1e9:.2f} GFLOP per tile (forward and backward, 3x the "
          f"forward's); at the float32 peak at most {peak / training:.0f} tiles/s, "
          f"{peak / training / (os.cpu_count() or 1):.1f} per CPU-second")
    live = flops[cases[0][0]] / args.live_target
    print(f"a live slice in {args.live_target:g} s needs {live / 1e9:.0f} GFLOP/s: {live / peak:.2f}x the float32 peak")


if __name__ == "__main__":
    main()
