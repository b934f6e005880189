"""--cluster and the SLURM flags of `ais-qt segment` and `ais-qt pick`, and running their tasks there."""

from __future__ import annotations

import sys
from pathlib import Path

from ais_qt.models.cluster import CLUSTER_HELP, CONFIG, ClusterSpec, Outcome, SlurmSettings
from ais_qt.models.errors import AisError


def add_cluster_arguments(parser) -> None:
    parser.add_argument("--cluster", metavar="WHERE", help=CLUSTER_HELP)
    slurm = parser.add_argument_group("SLURM (with --cluster slurm; each overrides the same key of "
                                      f"{CONFIG})")
    slurm.add_argument("--queue", help="partition")
    slurm.add_argument("--account", help="account to charge")
    slurm.add_argument("--cores", type=int, help="cores per job (one worker per job)")
    slurm.add_argument("--memory", help="memory per job, e.g. 16GB")
    slurm.add_argument("--walltime", help="time limit per job, HH:MM:SS")
    slurm.add_argument("--gpus", type=int, help="GPUs per job")
    slurm.add_argument("--jobs", type=int, help="how many jobs (workers) to start")


def cluster_settings(args) -> tuple[ClusterSpec, SlurmSettings | None]:
    """Parsed before any work, so a wrong --cluster or config file is reported at once (AisError)."""
    spec = ClusterSpec.parse(args.cluster)
    slurm = None
    if spec.kind == "slurm":
        slurm = SlurmSettings.load(CONFIG, queue=args.queue, account=args.account, cores=args.cores,
                                   memory=args.memory, walltime=args.walltime, gpus=args.gpus, jobs=args.jobs)
    return spec, slurm


def exit_status(failed: int) -> int:
    """How many volumes failed (at most 100), so a script or a job scheduler can tell."""
    return min(failed, 100)


def run_on_cluster(command: str, cluster: tuple, function, paths: list[Path], kwargs: dict, done_words: str,
                   bar_class) -> int:
    """Every path as one task on the cluster (``cluster``: what cluster_settings returned), one progress
    bar for the run; prints each result and a summary; returns the exit status."""
    try:
        outcomes = _run(command, *cluster, function, paths, kwargs, bar_class)
    except AisError as e:  # the cluster could not start or be reached
        print(f"{command}: {e}", file=sys.stderr)
        return 2
    failed = sum(o.error is not None for o in outcomes)
    print(f"{len(outcomes) - failed} of {len(paths)} {done_words}, {failed} failed")
    return exit_status(len(paths) - len(outcomes) + failed)


def _run(command: str, spec: ClusterSpec, slurm, function, paths: list[Path], kwargs: dict,
         bar_class) -> list[Outcome]:
    from ais_qt.models.cluster import connect, dashboard, run_tasks

    with connect(spec, slurm) as client:
        link = dashboard(client)
        print(f"{command}: Dask scheduler {client.scheduler.address}" + (f", dashboard {link}" if link else ""),
              flush=True)
        bar = bar_class(f"{len(paths)} volumes")

        def report(done: int, total: int, rate: float, outcome: Outcome) -> None:
            bar(done / total, f"{done}/{total} done, {rate / 1e6:.1f} Mvoxel/s")

        outcomes = run_tasks(client, function, paths, kwargs, report)
        bar.close()
    order = {str(p): i for i, p in enumerate(paths)}
    for outcome in sorted(outcomes, key=lambda o: order[o.path]):
        if outcome.error:
            print(f"{command}: {outcome.error}", file=sys.stderr)
        else:
            result = outcome.result
            print("  " + ("\n  ".join(result) if isinstance(result, list) else str(result)))
    return outcomes
