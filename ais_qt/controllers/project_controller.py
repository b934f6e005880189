"""Project files for the GUI: open, save, save as, autosave, and never losing untitled work.

Autosave runs every ``autosave_seconds`` when there are unsaved edits: the snapshot is taken on the
GUI thread (a copy of the masks), compressing and writing happen in the thread pool. Work that has
no project file yet is autosaved (and saved on close) to a recovery file in the cache folder,
which then appears under File > Open recent.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from ais_qt.controllers.session_controller import SessionController
from ais_qt.models.errors import AisError
from ais_qt.models.project import SUFFIX, load_project, read_project, save_project, snapshot, write_snapshot
from ais_qt.models.paths import user_cache_dir
from ais_qt.models.volumes.tomogram import Tomogram

DEFAULT_AUTOSAVE_SECONDS = 60


def is_project_path(path) -> bool:
    return str(path).lower().endswith(SUFFIX)


class ProjectController(QObject):
    status = Signal(str)
    error = Signal(str)
    state_changed = Signal()  # path or saved/unsaved changed

    def __init__(self, sessions: SessionController, autosave_seconds: float | None = None):
        super().__init__()
        self.sessions = sessions
        self.session = sessions.session
        self.path: Path | None = None
        self.recovery_path: Path | None = None
        self._writing = False
        seconds = autosave_seconds
        if seconds is None:
            seconds = float(sessions.settings.value("autosave_seconds", DEFAULT_AUTOSAVE_SECONDS))
        self.timer = QTimer(self)
        self.timer.setInterval(int(seconds * 1000))
        self.timer.timeout.connect(self.autosave)
        if seconds > 0:
            self.timer.start()
        self.session.history.changed.connect(self.state_changed.emit)

    @property
    def dirty(self) -> bool:
        return self.session.history.dirty

    @property
    def title(self) -> str:
        return self.path.name if self.path else "untitled"

    # ------------------------------------------------------------------ open
    def new(self) -> None:
        self.session.clear()
        self._set_path(None)

    def open(self, path) -> bool:
        """Replace the session by a project; on any problem the session stays as it was."""
        path = Path(path)
        try:
            data = read_project(path)
        except AisError as e:
            self.error.emit(str(e))
            return False
        self.session.clear()
        try:
            problems = load_project(data, self.session, Tomogram.open)
        except AisError as e:
            self.session.clear()
            self._set_path(None)
            self.error.emit(str(e))
            return False
        self._set_path(path)
        self.sessions.remember(path)
        if problems:
            self.error.emit("The project opened, with problems:\n\n" + "\n\n".join(problems))
        self.status.emit(f"Opened project {path.name}")
        return True

    # ------------------------------------------------------------------ save
    def save(self, path=None) -> bool:
        """Save now (on the GUI thread: Ctrl+S and closing must finish before returning)."""
        target = Path(path) if path else self.path
        if target is None:
            return False
        if not target.name.lower().endswith(SUFFIX):
            target = target.with_name(target.name + SUFFIX)
        try:
            save_project(self.session, target)
        except OSError as e:
            self.error.emit(f"{target}: could not be saved ({e.strerror or e}); the previous file is unchanged")
            return False
        if target != self.path:
            self._set_path(target)
            self._drop_recovery()
        self.sessions.remember(target)
        self.status.emit(f"Saved {target.name}")
        return True

    def autosave(self) -> None:
        """Save unsaved edits in the background, to the project or else to a recovery file."""
        if self._writing or not self.dirty or not self._has_content():
            return
        target = self.path or self._recovery_target()
        snap = snapshot(self.session, target)
        history = self.session.history
        token = history.state_token()
        self._writing = True

        def finished(_):
            self._writing = False
            if history.state_token() == token and target == (self.path or self.recovery_path):
                history.mark_saved()
            self.status.emit(f"Autosaved to {target.name}")

        def failed(message):
            self._writing = False
            self.error.emit(f"Autosave failed: {message}")

        self.sessions.runner.start(lambda progress: write_snapshot(snap, target), "Autosave",
                                   finished=finished, failed=failed)

    def save_on_close(self) -> Path | None:
        """Closing: save edits to the project, or to a recovery file; returns where, if anywhere."""
        self.sessions.runner.wait()  # let a running autosave finish first
        if not self.dirty or not self._has_content():
            return None
        if self.path is not None:
            return self.path if self.save() else None
        target = self._recovery_target()
        try:
            save_project(self.session, target)
        except OSError:
            return None
        self.sessions.remember(target)
        return target

    # --------------------------------------------------------------- helpers
    def _has_content(self) -> bool:
        return bool(len(self.session.features) or self.session.items)

    def _recovery_target(self) -> Path:
        if self.recovery_path is None:
            folder = user_cache_dir() / "recovery"
            folder.mkdir(parents=True, exist_ok=True)
            self.recovery_path = folder / f"untitled-{datetime.now():%Y%m%d-%H%M%S}{SUFFIX}"
        return self.recovery_path

    def _drop_recovery(self) -> None:
        if self.recovery_path is not None:
            self.recovery_path.unlink(missing_ok=True)
            self.recovery_path = None

    def _set_path(self, path: Path | None) -> None:
        self.path = path
        self.state_changed.emit()
