"""The task runner: results come back in the GUI thread, and nowhere once the window has closed."""

import threading

from ais_qt.controllers.tasks import TaskRunner
from ais_qt.models.errors import AisError


def test_runner_delivers_results_and_messages(qtbot):
    runner = TaskRunner()
    results, messages = [], []

    def broken(progress):
        raise AisError("x.mrc", "bad file")

    runner.start(lambda progress: 42, finished=results.append)
    runner.start(broken, failed=messages.append)
    qtbot.waitUntil(lambda: not runner.running, timeout=5000)
    assert results == [42] and messages == ["x.mrc: bad file"]


def test_shutdown_cancels_and_drops_late_results(qtbot):
    runner = TaskRunner()
    release, seen = threading.Event(), []

    def work(progress):
        release.wait(5)
        progress.report(1.0)  # a cancelled task stops at its next report
        return "late"

    task = runner.start(work, finished=seen.append, cancelled=lambda: seen.append("cancelled"),
                        done=lambda: seen.append("done"))
    runner.shutdown()
    with qtbot.waitSignal(task.done, timeout=5000):
        release.set()
    assert seen == [] and task.handle.cancelled
    qtbot.waitUntil(lambda: not runner.running)  # the runner still lets go of the task
    runner.start(lambda progress: seen.append("ran"), done=lambda: seen.append("done"))  # e.g. a timer's
    assert runner.wait(5000)
    qtbot.wait(50)
    assert seen == [] and not runner.running
