"""The Models tab: the session's networks above, training data and training below (scrolls)."""

from __future__ import annotations

from PySide6.QtWidgets import QScrollArea, QVBoxLayout, QWidget

from ais_qt.views.networks_list import NetworksList
from ais_qt.views.training_panel import TrainingPanel


class ModelsTab(QScrollArea):
    def __init__(self, training, parent=None):
        super().__init__(parent)
        self.networks = NetworksList(training)
        self.training_panel = TrainingPanel(training)
        inner = QWidget()
        layout = QVBoxLayout(inner)
        layout.addWidget(self.networks)
        layout.addWidget(self.training_panel)
        layout.addStretch(1)
        self.setWidget(inner)
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.NoFrame)
