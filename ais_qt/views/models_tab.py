"""The Models tab: the session's networks, how they interact, training data and training (scrolls)."""

from __future__ import annotations

from PySide6.QtWidgets import QScrollArea, QVBoxLayout, QWidget

from ais_qt.views.interactions_panel import InteractionsPanel
from ais_qt.views.networks_list import NetworksList
from ais_qt.views.training_panel import TrainingPanel


class ModelsTab(QScrollArea):
    def __init__(self, editor, training, parent=None):
        super().__init__(parent)
        self.networks = NetworksList(training)
        self.interactions = InteractionsPanel(editor)
        self.training_panel = TrainingPanel(training)
        inner = QWidget()
        layout = QVBoxLayout(inner)
        layout.addWidget(self.networks)
        layout.addWidget(self.interactions)
        layout.addWidget(self.training_panel)
        layout.addStretch(1)
        self.setWidget(inner)
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.NoFrame)
