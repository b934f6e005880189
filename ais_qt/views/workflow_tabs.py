"""The workflow, in order: Annotate, Models, Export, Pick, Render (added by the main window, which
owns the slice-view layers the Render tab draws from)."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QTabWidget, QVBoxLayout, QWidget

from ais_qt.models.annotation.editing import Editor
from ais_qt.views.display_panel import DisplayPanel
from ais_qt.views.export_tab import ExportTab
from ais_qt.views.feature_panel import FeaturePanel
from ais_qt.views.models_tab import ModelsTab
from ais_qt.views.pick_tab import PickTab

NAVIGATION_HELP = ("<b>Keys</b> (F1 lists all)<br>Wheel, Up/Down, W/S: slice · PageUp/Down: ten · "
                   "Shift+wheel: zoom · middle drag: pan · Home: fit<br>"
                   "Left drag: paint · right drag: erase · [ ]: brush size · E: erase mode · F: fill · "
                   "L: lasso · B: box · Delete: remove box · 1-9, Tab: feature · Ctrl+Z: undo<br>"
                   "I: interpolate from the slice drawn before · A / Shift+A: accept the network's prediction "
                   "in the box / all boxes · Ctrl+T: retrain · D: disagreement<br>"
                   "O: side views (click there, or Ctrl+click here, to move them) · M: ruler (twice) · "
                   "Shift+M: clear rulers")

class WorkflowTabs(QTabWidget):
    def __init__(self, editor: Editor, training, queue, parent=None):
        super().__init__(parent)
        annotate = QWidget()
        self.feature_panel = FeaturePanel(editor)
        self.display_panel = DisplayPanel(editor.session)
        help_label = QLabel(NAVIGATION_HELP)
        help_label.setWordWrap(True)
        layout = QVBoxLayout(annotate)
        layout.addWidget(self.feature_panel)
        layout.addWidget(self.display_panel)
        layout.addWidget(help_label)
        layout.addStretch(1)
        self.addTab(annotate, "Annotate")
        self.models = ModelsTab(editor, training)
        self.addTab(self.models, "Models")
        self.export = ExportTab(editor.session, queue)
        self.addTab(self.export, "Export")
        self.pick = PickTab(editor, queue.sessions.runner, queue, self.export.output_folder)
        self.addTab(self.pick, "Pick")

