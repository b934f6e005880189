"""Batch segmentation on Dask: voxels/s of a tomogram set in this process versus a LocalCluster with
1 and 2 workers (one run, the same network and volumes), and the per-task overheads measured apart:
an empty task's round trip through the scheduler, a worker's first load of the network, and the
start of the cluster itself. With these, a run on more nodes can be estimated as
    seconds ≈ cluster start + (tomograms / workers) x (seconds per tomogram + task overhead)
plus one network load per worker.

The network is the default UNet, untrained (speed does not depend on the weights).

    python bench/cluster.py [--count 4] [--shape 32,512,512]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from segment import make_network, write_volume  # noqa: E402

from ais_qt.models.learning.architectures import ArchitectureLibrary  # noqa: E402
from ais_qt.models.cluster import cached_network, local_layout, run_tasks, segment_task, thread_env  # noqa: E402
from ais_qt.models.learning.segmentation import segment_volume  # noqa: E402


def _load_seconds(model: str) -> float:
    started = time.perf_counter()
    cached_network(model)
    return time.perf_counter() - started


def _nothing() -> None:
    return None


def on_cluster(workers: int, tomograms: list[str], model: str, out: Path) -> dict:
    from distributed import Client, LocalCluster

    n, threads = local_layout(workers)
    started = time.perf_counter()
    with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, env=thread_env(threads),
                      dashboard_address=None) as cluster, Client(cluster) as client:
        client.wait_for_workers(n)
        start_seconds = time.perf_counter() - started
        round_trips = []
        for _ in range(20):
            t = time.perf_counter()
            client.submit(_nothing, pure=False).result()
            round_trips.append(time.perf_counter() - t)
        loads = client.run(_load_seconds, model)  # the first load on each worker (then cached)
        t = time.perf_counter()
        outcomes = run_tasks(client, segment_task, tomograms, dict(models=[model], folder=str(out)))
        seconds = time.perf_counter() - t
    assert all(o.error is None for o in outcomes), [o.error for o in outcomes]
    return {"seconds": seconds, "start": start_seconds, "task": statistics.median(round_trips),
            "load": statistics.median(loads.values())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=4, help="tomograms in the set")
    parser.add_argument("--shape", default="32,512,512")
    args = parser.parse_args()
    shape = tuple(int(n) for n in args.shape.split(","))
    voxels = args.count * shape[0] * shape[1] * shape[2]
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        library = ArchitectureLibrary()
        model = str(make_network(library, {}).save(folder / "unet.aisnet"))
        tomograms = []
        for i in range(args.count):
            write_volume(folder / f"tomo_{i}.mrc", shape)
            tomograms.append(str(folder / f"tomo_{i}.mrc"))
        network = cached_network(model)
        started = time.perf_counter()
        for tomogram in tomograms:
            segment_volume(tomogram, [network], folder / "here", library=library)
        here = time.perf_counter() - started
        rows = [("this process (the default queue)", here, None)]
        for workers in (1, 2):
            result = on_cluster(workers, tomograms, model, folder / f"cluster{workers}")
            rows.append((f"LocalCluster, {workers} worker{'s' * (workers > 1)}", result["seconds"], result))
    print(f"{args.count} tomograms of {shape[0]}x{shape[1]}x{shape[2]}, the default UNet (untrained), "
          f"{local_layout(None)[0] * local_layout(None)[1]} cores")
    print("| where | seconds | Mvoxel/s | vs this process |")
    print("|---|---|---|---|")
    for name, seconds, _ in rows:
        print(f"| {name} | {seconds:.1f} | {voxels / seconds / 1e6:.2f} | {here / seconds:.2f}x |")
    print("\nPer-task overheads (medians):")
    for name, _, result in rows[1:]:
        print(f"- {name}: cluster start {result['start']:.1f} s, empty task round trip "
              f"{result['task'] * 1000:.1f} ms, first network load per worker {result['load']:.2f} s")


if __name__ == "__main__":
    main()
