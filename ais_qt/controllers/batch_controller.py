"""The background queue of the Export and Pick tabs: one file after another (segment or pick), on
this computer or, for segmentation, as tasks on a Dask scheduler (models/cluster.py).

An error in one file is logged and the queue goes on; Cancel stops the running job (its
half-written outputs are discarded) and the rest of the queue. One queue runs at a time.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from ais_qt.models.errors import AisError
from ais_qt.models.formats.particle_io import pick_to_file
from ais_qt.models.learning.segmentation import segment_volume
from ais_qt.models.volumes.volume_writer import DEFAULT_DTYPE


class BatchQueue(QObject):
    job_progress = Signal(float, str)
    overall_progress = Signal(float, str)  # fraction, "3 of 10, 2 min left"
    log = Signal(str)
    running_changed = Signal(bool)

    def __init__(self, sessions, library_source):
        super().__init__()
        self.sessions = sessions
        self.library_source = library_source
        self.jobs: list[Path] = []
        self.index = 0
        self.task = None
        self.cancelled = False
        self.started = 0.0
        self.failures = 0

    @property
    def running(self) -> bool:
        return self.task is not None

    def segment(self, tomograms, networks, folder, graph=None, overwrite: bool = False,
                dtype: str = DEFAULT_DTYPE, scheduler: str | None = None, gpus: str | None = None,
                orientations: int = 1) -> None:
        """Segment on this computer, one tomogram after another; or one task per tomogram on the Dask
        scheduler at ``scheduler``, or on this computer's GPUs (``gpus``: "0,1", one worker each).
        ``orientations``: each slice averaged over that many (inference.ORIENTATIONS)."""
        networks, library = list(networks), self.library_source()
        if scheduler or gpus:
            from ais_qt.models.cluster import ClusterSpec

            try:
                spec = ClusterSpec.for_gpus(gpus) if gpus else ClusterSpec.parse(scheduler)
            except AisError as e:
                self.log.emit(str(e).replace("--gpu ", "GPUs "))
                return
            self.run_on_cluster(spec, tomograms, networks, folder, graph, overwrite, dtype, orientations)
            return

        def work(path, progress):
            outputs = segment_volume(path, networks, folder, graph, overwrite, library=library, progress=progress,
                                     dtype=dtype, orientations=orientations)
            return ", ".join(p.name for p in outputs)

        self.run(tomograms, work, "Segment", "tomograms segmented",
                 f"Segmenting {len(tomograms)} tomograms with {', '.join(n.info.feature for n in networks)} "
                 f"into {folder}")

    def pick(self, segmentations, settings, folder, fmt: str, overwrite: bool = False) -> None:
        def work(path, progress):
            target, count = pick_to_file(path, folder, settings, fmt, overwrite, progress)
            return f"{target.name}: " + ("exists, skipped" if count is None else f"{count} particles")

        self.run(segmentations, work, "Pick", "volumes picked", f"Picking {len(segmentations)} volumes into {folder}")

    def run(self, paths, work, verb: str, done_word: str, announcement: str) -> None:
        """Run ``work(path, progress) -> log line`` for every path in the thread pool, one at a time."""
        if self.running:
            return
        self.jobs = [Path(p) for p in paths]
        self.work, self.verb, self.done_word = work, verb, done_word
        self.index, self.failures, self.cancelled = 0, 0, False
        self.started = time.perf_counter()
        self.log.emit(announcement)
        self.running_changed.emit(True)
        self._next()

    def run_on_cluster(self, spec, tomograms, networks, folder, graph, overwrite: bool, dtype: str,
                       orientations: int = 1) -> None:
        """All tomograms as tasks on a Dask cluster (models/cluster.py ClusterSpec: a scheduler's
        address, or this computer's GPUs): the networks and graph are saved where the workers can
        read them (the output folder), progress is tomograms done."""
        if self.running:
            return
        from ais_qt.models.cluster import connect, run_tasks, segment_task, shared_inputs

        where = (f"the Dask scheduler {spec.address}" if spec.kind == "address"
                 else f"this computer's GPU {','.join(spec.gpus)}")
        total = len(tomograms)
        self.jobs, self.index, self.failures, self.cancelled = [Path(p) for p in tomograms], 0, 0, False
        self.verb, self.done_word, self.started = "Segment", "tomograms segmented", time.perf_counter()

        def work(progress):
            models, interactions = shared_inputs(networks, graph, folder)
            progress.report(0.0, f"starting on {where}")
            with connect(spec) as client:
                progress.event(f"Connected to {where}")

                def report(done, _total, rate, outcome):
                    progress.event(outcome)
                    progress.report(done / total, f"{done} of {total} done, {rate / 1e6:.1f} Mvoxel/s")

                run_tasks(client, segment_task, tomograms, dict(models=models, folder=str(folder),
                                                               interactions=interactions, overwrite=overwrite,
                                                               dtype=dtype, orientations=orientations), report,
                          lambda: progress.cancelled)

        self.log.emit(f"Segmenting {total} tomograms with {', '.join(n.info.feature for n in networks)} into "
                      f"{folder} on {where}")
        self.running_changed.emit(True)
        self.task = self.sessions.runner.start(
            work, f"Segment on {where}", progress=self._cluster_progress, event=self._cluster_event,
            failed=self._job_failed, cancelled=lambda: self.log.emit("cancelled"), done=self._cluster_done)

    def _cluster_progress(self, fraction: float, message: str) -> None:
        self.job_progress.emit(fraction, message)
        elapsed = time.perf_counter() - self.started
        left = elapsed / fraction * (1 - fraction) if fraction > 0 else 0
        self.overall_progress.emit(fraction, f"{message}, {_duration(left)} left")

    def _cluster_event(self, news) -> None:
        if isinstance(news, str):
            self.log.emit(news)
            return
        self.index += 1
        if news.error:
            self.failures += 1
            self.log.emit(f"FAILED {news.error}")
        else:
            self.log.emit(f"{Path(news.path).name}: {', '.join(Path(p).name for p in news.result)}")

    def _cluster_done(self) -> None:
        self.task = None
        self._finish()

    def cancel(self) -> None:
        self.cancelled = True
        if self.task is not None:
            self.task.cancel()

    def _next(self) -> None:
        if self.cancelled or self.index >= len(self.jobs):
            self._finish()
            return
        path, work = self.jobs[self.index], self.work
        self.task = self.sessions.runner.start(
            lambda progress: work(path, progress),
            f"{self.verb} {path.name}", progress=self._job_progress, finished=self._job_done,
            failed=self._job_failed, cancelled=lambda: self.log.emit(f"{path.name}: cancelled"), done=self._done)

    def _job_progress(self, fraction: float, message: str) -> None:
        self.job_progress.emit(fraction, message)
        done = (self.index + fraction) / len(self.jobs)
        elapsed = time.perf_counter() - self.started
        left = elapsed / done * (1 - done) if done > 0 else 0
        self.overall_progress.emit(done, f"{self.index + 1} of {len(self.jobs)}, {_duration(left)} left")

    def _job_done(self, line: str) -> None:
        self.log.emit(f"{self.jobs[self.index].name}: {line}")

    def _job_failed(self, message: str) -> None:
        self.failures += 1
        self.log.emit(f"FAILED {message}")

    def _done(self) -> None:
        self.task = None
        self.index += 1
        self._next()

    def _finish(self) -> None:
        ok = min(self.index, len(self.jobs)) - self.failures
        word = "Cancelled" if self.cancelled else "Finished"
        self.log.emit(f"{word}: {ok} of {len(self.jobs)} {self.done_word}, {self.failures} failed "
                      f"({_duration(time.perf_counter() - self.started)})")
        self.overall_progress.emit(1.0 if not self.cancelled else self.index / max(len(self.jobs), 1), word)
        self.running_changed.emit(False)


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"
