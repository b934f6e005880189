"""Runs engine functions in the QThreadPool and brings their results back to the GUI thread."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, QTimer, Signal

from ais_qt.models.errors import AisError
from ais_qt.models.progress import Cancelled, Progress


class Task(QObject):
    """One background job. Signals arrive in the GUI thread (queued across threads)."""

    progress = Signal(float, str)
    event = Signal(object)  # news from the task, e.g. a training batch's loss
    finished = Signal(object)  # the function's return value
    failed = Signal(str)  # a message for the user
    cancelled = Signal()
    done = Signal()  # after any of the three above

    def __init__(self, fn: Callable[[Progress], Any], name: str = ""):
        super().__init__()
        self.name = name
        self.fn = fn
        self.handle = Progress(self.progress.emit, self.event.emit)
        self.dropped = False  # its callbacks are no longer wanted (TaskRunner.shutdown)

    def cancel(self) -> None:
        self.handle.cancel()


class _Runnable(QRunnable):
    def __init__(self, task: Task):
        super().__init__()
        self.task = task

    def run(self) -> None:
        task = self.task
        try:
            result = task.fn(task.handle)
        except Cancelled:
            task.cancelled.emit()
        except AisError as e:
            task.failed.emit(str(e))
        except Exception as e:  # a bug: still a message, with the details on stderr for a report
            traceback.print_exc()
            task.failed.emit(f"{task.name or 'Task'} failed unexpectedly: {type(e).__name__}: {e}")
        else:
            task.finished.emit(result)
        task.done.emit()


class TaskRunner(QObject):
    """Starts tasks and keeps them alive until they are done."""

    def __init__(self, pool: QThreadPool | None = None):
        super().__init__()
        self.pool = pool or QThreadPool.globalInstance()
        # Worker threads are kept for the whole session rather than ended after 30 idle seconds:
        # TensorFlow keeps state per thread, and threads that ran it are not started and ended again.
        self.pool.setExpiryTimeout(-1)
        self.running: list[Task] = []
        self.closed = False  # after shutdown: tasks asked for later (a timer firing) never run

    def start(self, fn: Callable[[Progress], Any], name: str = "", *, finished=None, failed=None,
              progress=None, cancelled=None, event=None, done=None) -> Task:
        """Run ``fn(progress)`` in the pool; callbacks are connected before it starts, so none is missed."""
        task = Task(fn, name)
        if self.closed:
            task.dropped = True
            return task
        for signal, callback in ((task.finished, finished), (task.failed, failed), (task.progress, progress),
                                 (task.cancelled, cancelled), (task.event, event), (task.done, done)):
            if callback is not None:
                signal.connect(_unless_dropped(task, callback))
        self.running.append(task)
        task.done.connect(lambda: self.running.remove(task))
        self.pool.start(_Runnable(task))
        return task

    def shutdown(self) -> None:
        """Cancel every running task and drop its callbacks: the widgets they would update are
        about to be deleted (the window is closing), so a late result must reach nobody."""
        self.closed = True
        for task in list(self.running):
            task.cancel()
            task.dropped = True  # also for results already queued for delivery, which no disconnect stops

    def wait(self, msecs: int = -1) -> bool:
        """Block until all tasks ended (for the screenshot mode and tests, never in the GUI flow)."""
        return self.pool.waitForDone(msecs)


def _unless_dropped(task: Task, callback):
    def call(*args):
        if not task.dropped:
            callback(*args)
    return call


def coalescing_timer(parent, msecs: int, slot) -> QTimer:
    """A restartable single-shot timer: calling ``start()`` often runs ``slot`` once, ``msecs``
    after the last call (slider drags, bursts of changes within one event-loop pass)."""
    timer = QTimer(parent)
    timer.setSingleShot(True)
    timer.setInterval(msecs)
    timer.timeout.connect(slot)
    return timer
