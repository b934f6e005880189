"""Errors the user sees: one message that names the file and the problem."""

from __future__ import annotations

from pathlib import Path


class AisError(Exception):
    """Base for errors caused by the user's input rather than by a bug.

    Views show ``str(error)`` in a message box or the status bar, never a traceback.
    """

    def __init__(self, path: str | Path | None, problem: str):
        self.path = Path(path) if path is not None else None
        self.problem = problem
        super().__init__(f"{self.path}: {problem}" if self.path is not None else problem)


class TomogramError(AisError):
    """A volume file that cannot be opened or used."""
