"""Edit > Preferences: the architecture plugin folder (and what was skipped in it), autosave."""

from __future__ import annotations

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit,
                               QPlainTextEdit, QPushButton, QSpinBox, QWidget)

from ais_qt.controllers.project_controller import DEFAULT_AUTOSAVE_SECONDS


class PreferencesDialog(QDialog):
    def __init__(self, training, project, parent=None):
        super().__init__(parent)
        self.training, self.project = training, project
        self.setWindowTitle("Preferences")
        self.folder = QLineEdit(str(training.plugin_folder))
        self.folder.setToolTip("Drop architecture files (.py, following the template in the user guide) here")
        browse = QPushButton("Browse…")
        open_button = QPushButton("Open folder")
        self.reload_button = QPushButton("Reload plugins")
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        for w in (self.folder, browse, open_button):
            row.addWidget(w)
        folder_row = QWidget()
        folder_row.setLayout(row)
        self.plugins = QLabel()
        self.plugins.setWordWrap(True)
        self.problems = QPlainTextEdit()
        self.problems.setReadOnly(True)
        self.problems.setMaximumHeight(90)
        self.autosave = QSpinBox()
        self.autosave.setRange(0, 3600)
        self.autosave.setSuffix(" s")
        self.autosave.setSpecialValueText("off")
        self.autosave.setValue(int(float(training.sessions.settings.value("autosave_seconds",
                                                                          DEFAULT_AUTOSAVE_SECONDS))))
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        form = QFormLayout(self)
        form.addRow("Architecture plugins", folder_row)
        form.addRow("", self.reload_button)
        form.addRow("Loaded", self.plugins)
        form.addRow("Skipped", self.problems)
        form.addRow("Autosave every", self.autosave)
        form.addRow(buttons)
        browse.clicked.connect(self._browse)
        open_button.clicked.connect(self._open_folder)
        self.reload_button.clicked.connect(self.apply_folder)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.accepted.connect(self._save)
        self._show_library()
        self.resize(620, self.sizeHint().height())

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Plugin folder", self.folder.text())
        if folder:
            self.folder.setText(folder)
            self.apply_folder()

    def _open_folder(self) -> None:
        folder = self.training.plugin_folder
        folder.mkdir(parents=True, exist_ok=True)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

    def apply_folder(self) -> None:
        self.training.set_plugin_folder(self.folder.text().strip())
        self._show_library()

    def _show_library(self) -> None:
        library = self.training.library
        plugins = [a.title for a in library if not a.builtin]
        self.plugins.setText(", ".join(plugins) if plugins else "no plugins (built-in architectures only)")
        self.problems.setPlainText("\n".join(library.problems) or "nothing")

    def _save(self) -> None:
        settings = self.training.sessions.settings
        settings.setValue("autosave_seconds", self.autosave.value())
        timer = self.project.timer
        timer.stop()
        if self.autosave.value() > 0:
            timer.setInterval(self.autosave.value() * 1000)
            timer.start()
        if self.folder.text().strip() != str(self.training.plugin_folder):
            self.apply_folder()
