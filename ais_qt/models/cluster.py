"""Batch segmentation and picking on a Dask cluster: a LocalCluster, a SLURM cluster (dask-jobqueue)
or a running scheduler.

One task per tomogram (all its networks and interactions together, so competition and
colocalisation give exactly the single-machine result). Tasks take paths and plain settings and
return paths: they are safe to run in any worker process and to retry in another one. Outputs are
written atomically (models/atomic.py); a task first removes the half-written files of its own
outputs that a killed earlier attempt left. Each worker process keeps the networks it has loaded,
keyed by file, size and modification time, so a network is loaded once per worker, not per task.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path

from ais_qt.models.errors import AisError
from ais_qt.models.paths import user_cache_dir, user_config_dir
from ais_qt.models.learning.segmentation import safe_name

CONFIG = user_config_dir() / "cluster.toml"
WORKER_MEMORY = 3 * 2**30  # a worker's Python, TensorFlow, one network and its slabs, bytes (measured ~2.2 GiB)
CLUSTER_HELP = ("run on Dask: local[:N] (N worker processes on this computer), slurm (jobs from "
                f"{CONFIG}, flags override it) or tcp://HOST:PORT (a running scheduler)")


@dataclass
class SlurmSettings:
    """What a SLURM job of workers asks for; read from cluster.toml's [slurm] table."""

    queue: str | None = None  # partition
    account: str | None = None
    cores: int = 8  # per job (one worker process per job, threads = cores)
    memory: str = "16GB"  # per job
    walltime: str = "02:00:00"
    gpus: int = 0  # per job (--gres=gpu:N)
    jobs: int = 4  # how many jobs (workers) to start
    extra: list[str] = field(default_factory=list)  # more #SBATCH directives, e.g. "--qos=short"
    prologue: list[str] = field(default_factory=list)  # shell lines before the worker starts (module load …)

    @classmethod
    def load(cls, path: Path = CONFIG, **overrides) -> SlurmSettings:
        values = {}
        if Path(path).exists():
            try:
                values = tomllib.loads(Path(path).read_text()).get("slurm", {})
            except (OSError, tomllib.TOMLDecodeError) as e:
                raise AisError(path, f"is not a valid cluster configuration: {e}") from None
            unknown = set(values) - {f.name for f in fields(cls)}
            if unknown:
                raise AisError(path, f"[slurm] has unknown keys {', '.join(sorted(unknown))}; known: "
                                     + ", ".join(f.name for f in fields(cls)))
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


@dataclass(frozen=True)
class ClusterSpec:
    kind: str  # "local", "slurm", "address" or "gpus"
    workers: int | None = None  # local: worker processes (None: as many as memory and cores allow)
    address: str | None = None
    gpus: tuple[str, ...] = ()  # "gpus": one worker per GPU, by CUDA device number

    @classmethod
    def for_gpus(cls, text: str) -> ClusterSpec:
        ids = tuple(part.strip() for part in text.split(",") if part.strip())
        if not ids or not all(i.isdigit() for i in ids) or len(set(ids)) != len(ids):
            raise AisError(None, f"--gpu {text}: give the GPU numbers, e.g. 0 or 0,1 (nvidia-smi lists them)")
        return cls("gpus", gpus=ids)

    @classmethod
    def parse(cls, text: str) -> ClusterSpec:
        if text == "local" or text.startswith("local:"):
            count = text.partition(":")[2]
            if count and (not count.isdigit() or int(count) < 1):
                raise AisError(None, f"--cluster {text}: the worker count after local: must be a whole number ≥ 1")
            return cls("local", int(count) if count else None)
        if text == "slurm":
            return cls("slurm")
        if "://" in text:
            return cls("address", address=text)
        raise AisError(None, f"--cluster {text}: give local, local:N, slurm or a scheduler address tcp://HOST:PORT")


def local_layout(workers: int | None = None, cores: int | None = None, memory: int | None = None) -> tuple[int, int]:
    """(worker processes, threads each): N x threads = the cores; by default as many workers as the
    memory holds one network each (and no more than the cores)."""
    import psutil

    cores = cores or os.cpu_count() or 1
    memory = memory if memory is not None else psutil.virtual_memory().available
    n = workers or max(1, min(cores, memory // WORKER_MEMORY))
    return n, max(1, cores // n)


def thread_env(threads: int) -> dict[str, str]:
    """Environment that keeps a worker's numerical libraries to its share of the cores."""
    return {name: str(threads) for name in ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "MKL_NUM_THREADS",
                                            "OPENBLAS_NUM_THREADS")} | {"TF_NUM_INTEROP_THREADS": "1"}


def gpu_cluster(gpus: tuple[str, ...]):
    """One worker process per GPU, each seeing only its own (CUDA_VISIBLE_DEVICES), as the original
    Ais runs one process per GPU; Keras predicts there (the CPU engine is for CPUs)."""
    from distributed import Nanny, Scheduler, SpecCluster

    threads = max(1, (os.cpu_count() or 1) // len(gpus))
    # Warnings and errors only, as a LocalCluster gives: Dask's INFO lines (workers registering,
    # closing) would bury the command's own output.
    quiet = logging.WARNING
    workers = {f"gpu{gpu}": {"cls": Nanny, "options": {
        "nthreads": 1, "silence_logs": quiet,
        "env": thread_env(threads) | {"CUDA_VISIBLE_DEVICES": gpu, "AIS_QT_ENGINE": "keras"}}}
        for gpu in gpus}
    scheduler = {"cls": Scheduler, "options": {"dashboard_address": ":0" if _has_dashboard() else None}}
    return SpecCluster(workers=workers, scheduler=scheduler, name="ais-qt-gpus", silence_logs=quiet)


def slurm_cluster(settings: SlurmSettings):
    from dask_jobqueue import SLURMCluster

    extra = list(settings.extra) + ([f"--gres=gpu:{settings.gpus}"] if settings.gpus else [])
    env = [f"export {k}={v}" for k, v in thread_env(settings.cores).items()]
    # Job logs go to the cache folder, not into whatever folder the command was started from.
    logs = user_cache_dir() / "slurm-logs"
    return SLURMCluster(queue=settings.queue, account=settings.account, cores=settings.cores, processes=1,
                        memory=settings.memory, walltime=settings.walltime, job_extra_directives=extra,
                        job_script_prologue=env + list(settings.prologue), job_name="ais-qt",
                        log_directory=str(logs))


@contextlib.contextmanager
def connect(spec: ClusterSpec, slurm: SlurmSettings | None = None) -> Iterator:
    """A dask.distributed Client on the cluster ``spec`` names, closed (and its cluster stopped) after."""
    from distributed import Client, LocalCluster

    cluster = None
    try:
        if spec.kind == "local":
            n, threads = local_layout(spec.workers)
            cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, env=thread_env(threads),
                                   dashboard_address=":0" if _has_dashboard() else None)
            client = Client(cluster)
        elif spec.kind == "gpus":
            cluster = gpu_cluster(spec.gpus)
            client = Client(cluster)
        elif spec.kind == "slurm":
            settings = slurm or SlurmSettings.load()
            cluster = slurm_cluster(settings)
            cluster.scale(jobs=settings.jobs)
            client = Client(cluster)
        else:
            client = Client(spec.address, timeout="20s")
    except OSError as e:  # an address nobody answers, a port taken, sbatch missing
        if cluster is not None:
            cluster.close()
        raise AisError(None, f"cannot start or reach the Dask cluster ({spec.address or spec.kind}): {e}") from None
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _has_dashboard() -> bool:
    try:
        import bokeh  # noqa: F401  (distributed serves its dashboard only with bokeh installed)
    except ImportError:
        return False
    return True


def dashboard(client) -> str | None:
    return client.dashboard_link if _has_dashboard() else None


# --- tasks: run in worker processes ---------------------------------------------------------------

_networks: dict[tuple, object] = {}


def cached_network(path: str | os.PathLike, plugins: str | None = None):
    """The network at ``path``, loaded once per process (reloaded when the file changes)."""
    from ais_qt.models.learning.architectures import ArchitectureLibrary
    from ais_qt.models.learning.network import Network

    stat = Path(path).stat()
    key = (str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns, str(plugins))
    if key not in _networks:
        _networks[key] = Network.load(path, ArchitectureLibrary(Path(plugins) if plugins else None))
    return _networks[key]


def segment_task(tomogram: str, models: list[str], folder: str, interactions: str | None = None,
                 overwrite: bool = False, roi: str | None = None, tile: int | None = None,
                 dtype: str | None = None, voxel_size: float | None = None, plugins: str | None = None,
                 orientations: int = 1) -> list[str]:
    """Segment one tomogram with every network (paths in, output paths out)."""
    from ais_qt.models.learning.architectures import ArchitectureLibrary
    from ais_qt.models.learning.inference import DEFAULT_TILE
    from ais_qt.models.learning.interactions import InteractionGraph
    from ais_qt.models.learning.segmentation import segment_volume
    from ais_qt.models.volumes.volume_writer import DEFAULT_DTYPE

    networks = [cached_network(m, plugins) for m in models]
    graph = InteractionGraph.load(interactions) if interactions else None
    library = ArchitectureLibrary(Path(plugins) if plugins else None)
    outputs = segment_volume(tomogram, networks, folder, graph, overwrite, roi, tile or DEFAULT_TILE, library,
                             dtype=dtype or DEFAULT_DTYPE, voxel_size=voxel_size, orientations=orientations)
    return [str(p) for p in outputs]


def pick_task(segmentation: str, folder: str, settings, fmt: str = "star", overwrite: bool = False,
              voxel_size: float | None = None) -> str:
    """Pick one segmented volume; returns its coordinate file."""
    from ais_qt.models.formats.particle_io import pick_to_file

    target, count = pick_to_file(segmentation, folder, settings, fmt, overwrite, voxel_size=voxel_size)
    return f"{target}: " + ("exists, skipped" if count is None else f"{count} particles")


def shared_inputs(networks, graph, folder: str | os.PathLike) -> tuple[list[str], str | None]:
    """The app's networks (and interaction graph) as files a cluster's workers can load: saved in
    ``folder``/.ais-qt (the output folder, which workers must see anyway). The networks keep their
    own paths."""
    inputs = Path(folder) / ".ais-qt"
    inputs.mkdir(parents=True, exist_ok=True)
    models = []
    for network in networks:
        own = network.path
        try:
            models.append(str(network.save(inputs / f"{safe_name(network.info.feature)}.aisnet")))
        finally:
            network.path = own
    interactions = str(graph.save(inputs / "interactions.json")) if graph is not None else None
    return models, interactions


# --- running a set of tasks -----------------------------------------------------------------------

@dataclass
class Outcome:
    path: str
    result: object = None
    error: str | None = None


def run_tasks(client, function: Callable, paths: list, kwargs: dict,
              report: Callable[[int, int, float, Outcome], None] | None = None,
              cancelled: Callable[[], bool] = lambda: False) -> list[Outcome]:
    """``function(path, **kwargs)`` for every path on the cluster, one task each; a task that fails
    is reported with its reason and the rest go on. A worker that dies has its tasks run again
    elsewhere by the scheduler (its half-written outputs are removed by the next attempt).
    ``report(done, total, voxels per second, outcome)`` after each task."""
    sizes = {str(p): _voxels(p) for p in paths}
    futures = {client.submit(guarded, function, str(p), kwargs, key=f"ais-qt-{function.__name__}-{i}-{Path(p).name}",
                             pure=False): str(p) for i, p in enumerate(paths)}
    outcomes, voxels, started = [], 0, time.perf_counter()
    pending = list(futures)
    while pending:
        if cancelled():  # checked while tasks run, not only when one ends
            client.cancel(pending)
            break
        finished = [f for f in pending if f.done()]
        if not finished:
            time.sleep(0.2)
            continue
        for future in finished:
            pending.remove(future)
            path = futures[future]
            try:
                outcome = Outcome(path, *future.result())
            except Exception as e:  # a worker's own failure (killed too often, lost): named, not raised
                outcome = Outcome(path, error=f"{Path(path).name}: {type(e).__name__}: {e}")
            outcomes.append(outcome)
            voxels += sizes[path]
            if report:
                report(len(outcomes), len(futures), voxels / max(time.perf_counter() - started, 1e-9), outcome)
    return outcomes


def guarded(function: Callable, path: str, kwargs: dict) -> tuple:
    """(result, None) or (None, the message of the bad input): a bad file is an answer, not a task
    failure for the scheduler to log with a traceback (or to retry)."""
    try:
        return function(path, **kwargs), None
    except AisError as e:
        return None, str(e)


def _voxels(path) -> int:
    """The voxel count from an MRC header (for voxels per second), 0 if it cannot be read."""
    import mrcfile

    try:
        with mrcfile.open(path, permissive=True, header_only=True) as mrc:
            return int(mrc.header.nx) * int(mrc.header.ny) * int(mrc.header.nz)
    except (OSError, ValueError):
        return 0
