"""Undo and redo for every annotation edit: strokes, fills, boxes, imports and feature edits.

Commands are recorded after they were applied; each remembers where it happened (tomogram and
slice) so undoing can show the user the place that changed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from psygnal import Signal

UNDO_LIMIT = 200


@dataclass
class Command:
    text: str  # "Paint Membrane", shown as "Undo Paint Membrane"
    undo: Callable[[], None]
    redo: Callable[[], None]
    where: tuple[Any, int | None] | None = None  # (OpenTomogram, z) the edit touched, if any
    merge_key: Any = None  # consecutive commands with the same key merge into one undo step


class History:
    changed = Signal()

    def __init__(self, limit: int = UNDO_LIMIT):
        self.limit = limit
        self._done: list[Command] = []
        self._undone: list[Command] = []
        self._saved_at: int | None = 0  # len(_done) when last saved; None when that state is gone

    def push(self, command: Command) -> None:
        """Record a command that has just been applied."""
        last = self._done[-1] if self._done else None
        if (command.merge_key is not None and last is not None and last.merge_key == command.merge_key
                and not self._undone and self._saved_at != len(self._done)):
            last.redo = command.redo  # keep the first undo, take the newest redo
            self.changed.emit()
            return
        self._done.append(command)
        self._undone.clear()
        if self._saved_at is not None and self._saved_at > len(self._done) - 1:
            self._saved_at = None  # the saved state was undone and is now unreachable
        if len(self._done) > self.limit:
            del self._done[0]
            self._saved_at = None if self._saved_at in (None, 0) else self._saved_at - 1
        self.changed.emit()

    def undo(self) -> Command | None:
        if not self._done:
            return None
        command = self._done.pop()
        command.undo()
        self._undone.append(command)
        self.changed.emit()
        return command

    def redo(self) -> Command | None:
        if not self._undone:
            return None
        command = self._undone.pop()
        command.redo()
        self._done.append(command)
        self.changed.emit()
        return command

    @property
    def can_undo(self) -> bool:
        return bool(self._done)

    @property
    def can_redo(self) -> bool:
        return bool(self._undone)

    @property
    def undo_text(self) -> str:
        return self._done[-1].text if self._done else ""

    @property
    def redo_text(self) -> str:
        return self._undone[-1].text if self._undone else ""

    def __len__(self) -> int:
        return len(self._done)

    def state_token(self) -> tuple:
        """Identifies the current state, to tell whether anything changed during a background save."""
        return len(self._done), id(self._done[-1]) if self._done else None, len(self._undone)

    def mark_saved(self) -> None:
        self._saved_at = len(self._done)
        self.changed.emit()

    @property
    def dirty(self) -> bool:
        """Whether there are edits since the last save (or since the start)."""
        return self._saved_at != len(self._done)

    def clear(self) -> None:
        self._done.clear()
        self._undone.clear()
        self._saved_at = 0
        self.changed.emit()
