"""The Export tab's queue: segment many tomograms in the background, one after another.

An error in one tomogram is logged and the queue goes on; Cancel stops the running job (its
half-written outputs are discarded) and the rest of the queue.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from ais_qt.models.segmentation import segment_volume


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

    def start(self, tomograms, networks, folder, graph=None, overwrite: bool = False) -> None:
        if self.running:
            return
        self.jobs = [Path(p) for p in tomograms]
        self.networks, self.folder, self.graph, self.overwrite = list(networks), Path(folder), graph, overwrite
        self.index, self.failures, self.cancelled = 0, 0, False
        self.started = time.perf_counter()
        self.log.emit(f"Segmenting {len(self.jobs)} tomograms with "
                      f"{', '.join(n.info.feature for n in self.networks)} into {self.folder}")
        self.running_changed.emit(True)
        self._next()

    def cancel(self) -> None:
        self.cancelled = True
        if self.task is not None:
            self.task.cancel()

    def _next(self) -> None:
        if self.cancelled or self.index >= len(self.jobs):
            self._finish()
            return
        path = self.jobs[self.index]
        networks, folder, graph, overwrite, library = (self.networks, self.folder, self.graph, self.overwrite,
                                                       self.library_source())
        self.task = self.sessions.runner.start(
            lambda progress: segment_volume(path, networks, folder, graph, overwrite, library=library,
                                            progress=progress),
            f"Segment {path.name}", progress=self._job_progress, finished=self._job_done,
            failed=self._job_failed, cancelled=lambda: self.log.emit(f"{path.name}: cancelled"), done=self._done)

    def _job_progress(self, fraction: float, message: str) -> None:
        self.job_progress.emit(fraction, message)
        done = (self.index + fraction) / len(self.jobs)
        elapsed = time.perf_counter() - self.started
        left = elapsed / done * (1 - done) if done > 0 else 0
        self.overall_progress.emit(done, f"{self.index + 1} of {len(self.jobs)}, {_duration(left)} left")

    def _job_done(self, outputs) -> None:
        self.log.emit(f"{self.jobs[self.index].name}: " + ", ".join(p.name for p in outputs))

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
        self.log.emit(f"{word}: {ok} of {len(self.jobs)} tomograms segmented, {self.failures} failed "
                      f"({_duration(time.perf_counter() - self.started)})")
        self.overall_progress.emit(1.0 if not self.cancelled else self.index / max(len(self.jobs), 1), word)
        self.running_changed.emit(False)


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"
