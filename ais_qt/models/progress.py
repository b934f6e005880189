"""Progress reporting and cancellation for long tasks, without Qt.

Engine functions take a ``Progress`` and call ``report`` now and then; ``report`` raises
``Cancelled`` once someone called ``cancel``, so a task stops at its next report. ``event`` passes
richer news (e.g. a batch's loss) to whoever listens; tasks that must stop cleanly rather than
abruptly (training) check ``cancelled`` themselves.
"""

from __future__ import annotations

from collections.abc import Callable


class Cancelled(Exception):
    """The user cancelled the task."""


class Progress:
    def __init__(self, callback: Callable[[float, str], None] | None = None,
                 on_event: Callable[[object], None] | None = None):
        self._callback = callback
        self._on_event = on_event
        self._cancelled = False

    def report(self, fraction: float, message: str = "") -> None:
        if self._cancelled:
            raise Cancelled()
        if self._callback is not None:
            self._callback(min(max(float(fraction), 0.0), 1.0), message)

    def event(self, payload) -> None:
        if self._on_event is not None:
            self._on_event(payload)

    def cancel(self) -> None:
        self._cancelled = True

    @property
    def cancelled(self) -> bool:
        return self._cancelled
