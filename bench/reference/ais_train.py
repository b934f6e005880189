"""Time the original Ais's own training on a set of tiles (bench/train_throughput.py's Ais column).

Run with Ais's interpreter:
    python ais_train.py TILES.npz ARCHITECTURE EPOCHS
TILES.npz holds `x` (N, S, S) images and `y` (N, S, S) labels (0/1). They are written as Ais's
.scnt training set with its own `write_training_set` and trained with `ais train`'s function
(batch 32, learning rate 1e-3, 1 copy, so an epoch is N // 32 batches). Prints one JSON line with
the seconds `train_model` took, less the 10 s it sleeps after training, and its CPU seconds; the caller runs two epoch
counts and divides the difference, which cancels start-up and graph tracing.
"""

import json
import os
import sys
import tempfile
import time

os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")  # this comparison is about the CPU


def main(tiles_path, architecture, epochs):
    import importlib.metadata

    import numpy as np
    import Ais.core.cli_fn as cli
    from Ais.core.se_scnt import make_id, write_training_set

    tiles = np.load(tiles_path)
    samples = [{"hash": make_id("bench", "F", i, 0, 0), "inputs": {"x_main": x[None].astype(np.float32)},
                "label": y.astype(np.float32), "source": {"aisTomogramName": "bench", "aisBoxCoordinateZ": i,
                                                          "aisBoxCoordinateY": 0, "aisBoxCoordinateX": 0,
                                                          "aisFeatureName": "F"}}
               for i, (x, y) in enumerate(zip(tiles["x"], tiles["y"]))]
    with tempfile.TemporaryDirectory() as folder:
        scnt = os.path.join(folder, "F.scnt")
        write_training_set(scnt, samples, 10.0, ["F"])
        started, cpu = time.perf_counter(), time.process_time()
        cli.train_model(scnt, folder, architecture=architecture, epochs=int(epochs), batch_size=32, copies=1,
                        gpus="", rate=1e-3, name="F")
        seconds = time.perf_counter() - started - 10.0  # train_model sleeps 10 s after training
        cpu = time.process_time() - cpu  # every thread's CPU time (the sleep costs none)
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu, "epochs": int(epochs), "batches_per_epoch": len(samples) // 32,
                      "version": importlib.metadata.version("ais-cryoet")}))


if __name__ == "__main__":
    main(*sys.argv[1:4])
