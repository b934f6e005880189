"""Batch work on Dask (models/cluster.py, --cluster): real LocalClusters, a killed worker, a killed
command, the SLURM job script and configuration."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import mrcfile
import numpy as np
import pytest

from ais_qt.models.cluster import (ClusterSpec, SlurmSettings, local_layout, pick_task, run_tasks, segment_task,
                                   slurm_cluster)
from ais_qt.models.errors import AisError
from ais_qt.models.particles.picking import PickSettings
from tests.conftest import write_mrc

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """Two small networks (one feature each) and four tomograms."""
    from ais_qt.models.learning.architectures import ArchitectureLibrary
    from ais_qt.models.learning.interactions import Interaction, InteractionGraph
    from ais_qt.models.learning.training import TrainSettings, train
    from tests.test_networks import tiny_set

    folder = tmp_path_factory.mktemp("cluster")
    library = ArchitectureLibrary()
    membrane = train(tiny_set(), TrainSettings(architecture="eman2", epochs=1, batch_size=8), library)
    protein = train(tiny_set(), TrainSettings(architecture="eman2", epochs=1, batch_size=8, seed=3), library)
    protein.info.feature = "Protein"
    models = [str(membrane.save(folder / "m.aisnet")), str(protein.save(folder / "p.aisnet"))]
    graph = InteractionGraph()
    graph.roles = {"Membrane": {"emit": True, "absorb": True}, "Protein": {"emit": True, "absorb": True}}
    graph.add(Interaction("Protein", "Membrane", "avoid", 0.5, 2.0))  # outputs depend on both networks
    graph.save(folder / "graph.json")
    rng = np.random.default_rng(0)
    tomograms = []
    for i in range(4):
        data = rng.normal(size=(24, 96, 112)).astype(np.float32)
        data[:, 40:56, :] += 2.5  # something for the networks to see
        tomograms.append(str(write_mrc(folder / f"tomo_{i}.mrc", data)))
    return folder, models, str(folder / "graph.json"), tomograms


def _volumes(folder: Path) -> dict[str, np.ndarray]:
    out = {}
    for path in sorted(folder.glob("*.mrc")):
        with mrcfile.open(path) as mrc:
            out[path.name] = mrc.data.copy()
    return out


def test_cluster_addresses_layouts_and_slurm_configuration(tmp_path):
    assert ClusterSpec.parse("local") == ClusterSpec("local")
    assert ClusterSpec.parse("local:3") == ClusterSpec("local", 3)
    assert ClusterSpec.parse("tcp://10.0.0.5:8786") == ClusterSpec("address", address="tcp://10.0.0.5:8786")
    assert ClusterSpec.parse("slurm").kind == "slurm"
    for bad in ("local:0", "local:x", "pbs"):
        with pytest.raises(AisError, match="--cluster"):
            ClusterSpec.parse(bad)
    # N workers x threads = the cores; by default as many workers as the memory holds networks.
    assert local_layout(2, cores=8, memory=64 * 2**30) == (2, 4)
    assert local_layout(None, cores=8, memory=7 * 2**30) == (2, 4)
    assert local_layout(None, cores=2, memory=64 * 2**30) == (2, 1)
    assert local_layout(None, cores=4, memory=2**30) == (1, 4)

    config = tmp_path / "cluster.toml"
    config.write_text('[slurm]\nqueue = "gpu"\naccount = "lab"\ncores = 16\nmemory = "64GB"\ngpus = 1\n'
                      'jobs = 3\nextra = ["--qos=short"]\nprologue = ["module load cuda"]\n')
    settings = SlurmSettings.load(config, jobs=5, walltime="00:30:00", queue=None)
    assert (settings.queue, settings.cores, settings.jobs, settings.walltime) == ("gpu", 16, 5, "00:30:00")
    cluster = slurm_cluster(settings)
    try:
        script = cluster.job_script()
    finally:
        cluster.close()
    for line in ("#SBATCH -p gpu", "#SBATCH -A lab", "#SBATCH --cpus-per-task=16", "#SBATCH -t 00:30:00",
                 "#SBATCH --gres=gpu:1", "#SBATCH --qos=short", "module load cuda", "export TF_NUM_INTRAOP_THREADS=16"):
        assert line in script, (line, script)
    assert "#SBATCH -J ais-qt" in script and "--nthreads 16" in script and "slurm-logs" in script
    config.write_text('[slurm]\nqueu = "gpu"\n')
    with pytest.raises(AisError, match="unknown keys queu"):
        SlurmSettings.load(config)
    config.write_text("[slurm\n")
    with pytest.raises(AisError, match="not a valid cluster configuration"):
        SlurmSettings.load(config)


def test_a_local_cluster_gives_the_single_process_outputs_voxel_for_voxel(inputs, tmp_path):
    from distributed import Client, LocalCluster

    from ais_qt.models.learning.architectures import ArchitectureLibrary
    from ais_qt.models.learning.interactions import InteractionGraph
    from ais_qt.models.learning.network import Network
    from ais_qt.models.formats.particle_io import pick_to_file
    from ais_qt.models.learning.segmentation import segment_volume

    folder, models, graph, tomograms = inputs
    library = ArchitectureLibrary()
    networks = [Network.load(m, library) for m in models]
    settings = PickSettings(threshold=100, min_volume=20, volume_unit="voxels", min_spacing_nm=5)
    for tomogram in tomograms:  # the reference: this process, one tomogram after another
        segment_volume(tomogram, networks, tmp_path / "here", InteractionGraph.load(graph), library=library)
    for path in sorted((tmp_path / "here").glob("*__Membrane.mrc")):
        pick_to_file(path, tmp_path / "here_picks", settings, "star")

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        seen = []
        outcomes = run_tasks(client, segment_task, tomograms + [str(folder / "missing.mrc")],
                             dict(models=models, folder=str(tmp_path / "there"), interactions=graph),
                             lambda done, total, rate, outcome: seen.append((done, total)))
        picked = run_tasks(client, pick_task, sorted(str(p) for p in (tmp_path / "there").glob("*__Membrane.mrc")),
                           dict(folder=str(tmp_path / "there_picks"), settings=settings))
        loads = client.run(lambda: len(__import__("ais_qt.models.cluster", fromlist=["_networks"])._networks))
    assert seen == [(i, 5) for i in range(1, 6)]
    errors = [o.error for o in outcomes if o.error]
    assert len(errors) == 1 and "missing.mrc" in errors[0]  # a bad tomogram is an answer; the rest went on
    assert all(not o.error for o in picked)
    here, there = _volumes(tmp_path / "here"), _volumes(tmp_path / "there")
    assert sorted(here) == sorted(there) and len(here) == 8
    for name in here:
        np.testing.assert_array_equal(here[name], there[name], err_msg=name)
    import starfile

    stars = sorted((tmp_path / "here_picks").iterdir())
    assert len(stars) == 4
    for star in stars:  # the same table (the files' comment lines hold the time they were written)
        assert starfile.read(star).equals(starfile.read(tmp_path / "there_picks" / star.name))
    # Each worker loaded each network at most once, however many tomograms it segmented.
    assert all(count <= 2 for count in loads.values()) and sum(loads.values()) >= 2


def written_once(tomogram: str, log: str, **kwargs) -> list[str]:
    """segment_task, noting each output it actually wrote (not one it found finished)."""
    outputs = [Path(kwargs["folder"]) / f"{Path(tomogram).stem}__{name}.mrc" for name in ("Membrane", "Protein")]
    before = {p: p.exists() for p in outputs}
    result = segment_task(tomogram, **kwargs)
    with open(log, "a") as f:
        f.writelines(f"{p}\n" for p in outputs if not before[p])
    return result


def test_a_worker_killed_mid_run_has_its_tomogram_done_elsewhere_once_and_whole(inputs, tmp_path):
    from distributed import Client, LocalCluster

    folder, models, graph, _ = inputs
    rng = np.random.default_rng(1)
    tomograms = [str(write_mrc(tmp_path / f"big_{i}.mrc", rng.normal(size=(96, 160, 160)).astype(np.float32)))
                 for i in range(4)]
    out, log = tmp_path / "out", tmp_path / "written.log"
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        pids = client.run(os.getpid)
        result = {}
        runner = threading.Thread(target=lambda: result.setdefault("outcomes", run_tasks(
            client, written_once, tomograms, dict(log=str(log), models=models, folder=str(out), interactions=graph))))
        runner.start()
        deadline, killed = time.monotonic() + 120, None
        while killed is None and time.monotonic() < deadline:
            busy = [worker for worker, keys in client.processing().items() if keys]
            if list(out.glob(".*.partial.mrc")) and busy:  # a worker is half-way through writing
                killed = pids[busy[0]]
                os.kill(killed, signal.SIGKILL)
            time.sleep(0.05)
        runner.join(300)
    assert killed is not None and not runner.is_alive()
    assert all(o.error is None for o in result["outcomes"]), [o.error for o in result["outcomes"]]
    written = log.read_text().split()
    assert sorted(written) == sorted(set(written)) and len(written) == 8  # every output, each once
    assert not list(out.glob(".*partial*"))
    for path in out.glob("*.mrc"):  # whole: a complete header whose statistics are those of the data
        with mrcfile.open(path) as mrc:
            assert mrc.data.shape == (96, 160, 160) and mrc.header.dmax == mrc.data.max()


def test_a_killed_command_leaves_a_partial_file_that_the_next_run_removes(inputs, tmp_path):
    folder, models, _, _ = inputs
    tomogram = write_mrc(tmp_path / "slow.mrc", np.random.default_rng(2).normal(size=(160, 192, 192)).astype(np.float32))
    out = tmp_path / "out"
    command = [sys.executable, "-m", "ais_qt.cli", "segment", "--model", models[0], str(tomogram), "--out", str(out)]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not list(out.glob(".*.partial.mrc")) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    process.kill()  # SIGKILL: no clean-up runs
    process.wait()
    assert list(out.glob(".*.partial.mrc")) and not (out / "slow__Membrane.mrc").exists()
    again = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert not list(out.glob(".*partial*")) and (out / "slow__Membrane.mrc").exists()


def test_the_command_line_runs_on_a_local_cluster_and_counts_failures_in_its_exit_status(inputs, tmp_path):
    folder, models, graph, tomograms = inputs
    bad = tmp_path / "bad.mrc"
    bad.write_bytes(b"\0" * 300)
    result = subprocess.run([sys.executable, "-m", "ais_qt.cli", "segment", "--model", models[0], "--model",
                             models[1], "--interactions", graph, *tomograms[:2], str(bad), "--out",
                             str(tmp_path / "out"), "--cluster", "local:2"],
                            cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stderr  # one tomogram failed
    assert "Dask scheduler tcp://" in result.stdout and "2 of 3 tomograms segmented, 1 failed" in result.stdout
    assert "bad.mrc: is not an MRC file" in result.stderr and "Traceback" not in result.stderr
    assert len(list((tmp_path / "out").glob("*.mrc"))) == 4
    picked = subprocess.run([sys.executable, "-m", "ais_qt.cli", "pick", str(tmp_path / "out" / "*__Membrane.mrc"),
                             "--min-volume", "20voxels", "--out", str(tmp_path / "picks"), "--cluster", "local:1"],
                            cwd=REPO, capture_output=True, text=True, timeout=300)
    assert picked.returncode == 0, picked.stderr
    assert "2 of 2 volumes picked" in picked.stdout
    wrong = subprocess.run([sys.executable, "-m", "ais_qt.cli", "pick", "x.mrc", "--out", str(tmp_path),
                            "--cluster", "local:0"], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert wrong.returncode == 2 and "worker count" in wrong.stderr


def _slurm_node_idle() -> bool:
    try:
        states = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return False
    return any(state in states for state in ("idle", "mix"))


@pytest.mark.skipif(not _slurm_node_idle(), reason="no SLURM node here (.ci/slurm-single-node.sh starts one as root)")
def test_segment_and_pick_through_a_real_slurm(inputs, tmp_path):
    folder, models, graph, tomograms = inputs
    environment = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / "config"))
    config = tmp_path / "config" / "ais-qt" / "cluster.toml"
    config.parent.mkdir(parents=True)
    config.write_text('[slurm]\ncores = 1\nmemory = "3GB"\nwalltime = "00:10:00"\njobs = 1\n')
    result = subprocess.run([sys.executable, "-m", "ais_qt.cli", "segment", "--model", models[0], *tomograms[:3],
                             "--out", str(tmp_path / "out"), "--cluster", "slurm", "--jobs", "2"],
                            cwd=REPO, env=environment, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 of 3 tomograms segmented, 0 failed" in result.stdout
    assert len(list((tmp_path / "out").glob("*__Membrane.mrc"))) == 3
    picked = subprocess.run([sys.executable, "-m", "ais_qt.cli", "pick", str(tmp_path / "out" / "*.mrc"),
                             "--min-volume", "20voxels", "--out", str(tmp_path / "picks"), "--cluster", "slurm"],
                            cwd=REPO, env=environment, capture_output=True, text=True, timeout=600)
    assert picked.returncode == 0 and "3 of 3 volumes picked" in picked.stdout, picked.stderr
    queue = subprocess.run(["squeue", "-h", "-n", "ais-qt", "-t", "PD,R"], capture_output=True, text=True, timeout=10).stdout
    assert not queue.strip()  # the run's jobs end with it


def test_one_worker_per_gpu_each_seeing_only_its_own(inputs, tmp_path):
    """`ais-qt segment --gpu 3,5`: two workers, CUDA_VISIBLE_DEVICES 3 and 5 (no GPU here, so they
    compute on the CPU: what is tested is the layout and the outputs)."""
    from ais_qt.models.cluster import connect

    folder, models, graph, tomograms = inputs
    for bad in ("", "0,0", "a", "1;2"):
        with pytest.raises(AisError, match="--gpu"):
            ClusterSpec.for_gpus(bad)
    with connect(ClusterSpec.for_gpus("3,5")) as client:
        seen = client.run(lambda: (os.environ.get("CUDA_VISIBLE_DEVICES"), os.environ.get("AIS_QT_ENGINE")))
        outcomes = run_tasks(client, segment_task, tomograms[:2], dict(models=models, folder=str(tmp_path / "out")))
    assert sorted(seen.values()) == [("3", "keras"), ("5", "keras")]
    assert all(o.error is None for o in outcomes) and len(list((tmp_path / "out").glob("*.mrc"))) == 4
    alone = subprocess.run([sys.executable, "-m", "ais_qt.cli", "segment", "--model", models[0], tomograms[0], "--out",
                            str(tmp_path / "cli"), "--gpu", "0"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert alone.returncode == 0 and "1 of 1 tomograms segmented" in alone.stdout, alone.stderr
    assert " - INFO - " not in alone.stderr  # Dask's chatter stays out of the command's output
    both = subprocess.run([sys.executable, "-m", "ais_qt.cli", "segment", "--model", models[0], tomograms[0], "--out",
                           str(tmp_path), "--gpu", "0", "--cluster", "local"], cwd=REPO, capture_output=True,
                          text=True, timeout=60)
    assert both.returncode == 2 and "choose one" in both.stderr
