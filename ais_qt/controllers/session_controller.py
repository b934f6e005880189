"""Opening and closing tomograms for the GUI: errors become messages, recent files persist."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Signal

from ais_qt.controllers.tasks import TaskRunner
from ais_qt.models.errors import AisError
from ais_qt.models.volumes.sample import ensure_sample
from ais_qt.models.session import OpenTomogram, Session

MAX_RECENT = 10


def app_settings() -> QSettings:
    """The application's persistent settings (per user, per platform's usual place)."""
    return QSettings("Ais-Qt", "Ais-Qt")


class SessionController(QObject):
    status = Signal(str)  # short note for the status bar
    error = Signal(str)  # something the user must read (shown in a message box)
    recent_changed = Signal()

    def __init__(self, session: Session | None = None, settings: QSettings | None = None,
                 runner: TaskRunner | None = None):
        super().__init__()
        self.session = session or Session()
        self.settings = settings if settings is not None else app_settings()
        self.runner = runner or TaskRunner()

    # ------------------------------------------------------------------ opening
    def open_paths(self, paths, make_current: bool = True) -> list[OpenTomogram]:
        """Open each file; one message lists every file that failed and why."""
        opened, problems = [], []
        for path in paths:
            try:
                item = self.session.open(path, make_current)
            except AisError as e:
                problems.append(str(e))
                continue
            opened.append(item)
            self.remember(item.tomogram.path)
            self.status.emit(f"Opened {item.tomogram.name}")
        if problems:
            self.error.emit("\n\n".join(problems))
        return opened

    def open_sample(self, make_current: bool = True) -> None:
        """Open the built-in sample; the first time it is generated in the background (a few seconds)."""
        self.status.emit("Preparing the built-in sample tomogram…")
        self.runner.start(lambda progress: ensure_sample(), "Sample",
                          finished=lambda path: self.open_paths([path], make_current), failed=self.error.emit)

    def close(self, item: OpenTomogram) -> None:
        self.session.remove(item)
        self.status.emit(f"Closed {item.tomogram.name}")

    # ------------------------------------------------------------ recent files
    def recent_files(self) -> list[str]:
        """Most recent first; files that no longer exist are left out."""
        stored = self.settings.value("recent_files", []) or []
        if isinstance(stored, str):  # QSettings returns a lone string for a one-item list
            stored = [stored]
        return [p for p in stored if Path(p).exists()]

    def clear_recent(self) -> None:
        self.settings.setValue("recent_files", [])
        self.settings.sync()
        self.recent_changed.emit()

    def remember(self, path: Path | None) -> None:
        """Put a tomogram or project file first in File > Open recent."""
        if path is None:
            return
        entry = str(Path(path).resolve())
        recent = [entry] + [p for p in self.recent_files() if p != entry]
        self.settings.setValue("recent_files", recent[:MAX_RECENT])
        self.settings.sync()
        self.recent_changed.emit()
