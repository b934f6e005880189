"""Key D: where the active feature's network and its annotation disagree on the slice on screen.

Magenta: the network marks it, the annotation does not (inside the boxes); cyan: annotated, missed
by the network; white: outside the boxes, where the network is unsure. The status bar says how
much of the boxes disagree.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QRectF, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence

from ais_qt.controllers.tasks import coalescing_timer
from ais_qt.models.learning.disagreement import ANNOTATION_ONLY, NETWORK_ONLY, UNSURE, boxes_mask, disagreement

COLOURS = {NETWORK_ONLY: (230, 50, 220, 200), ANNOTATION_ONLY: (40, 220, 230, 200), UNSURE: (255, 255, 255, 110)}


class DisagreementLayer(QObject):
    message = Signal(str)

    def __init__(self, slice_view, live, session):
        super().__init__(slice_view)
        self.view, self.session = slice_view, session
        self.image = pg.ImageItem()
        self.image.setZValue(12)
        self.image.setVisible(False)
        slice_view.view_box.addItem(self.image)
        self.last: tuple | None = None  # (item, z, predictions) from the live prediction
        self.result = None
        self.action = QAction("Show where network and annotation disagree", slice_view)
        self.action.setCheckable(True)
        self.action.setShortcut(QKeySequence("D"))
        self.action.setShortcutContext(Qt.WidgetWithChildrenShortcut)
        self.action.toggled.connect(self._toggled)
        slice_view.addAction(self.action)
        self.timer = coalescing_timer(self, 40, self.redraw)
        live.ready.connect(self._ready)
        session.history.changed.connect(self._later)
        session.features.active_changed.connect(self._later)

    def _later(self, *_):
        if self.action.isChecked():
            self.timer.start()

    def _toggled(self, shown: bool) -> None:
        self.image.setVisible(shown)
        if shown:
            self.redraw()

    def _ready(self, item, z, predictions) -> None:
        self.last = (item, z, predictions)
        self._later()

    def redraw(self) -> None:
        self.result = None
        item, feature = self.session.current, self.session.features.active
        if not self.action.isChecked() or item is None:
            return
        network = self.session.networks.for_feature(feature.name) if feature is not None else None
        if self.last is None or self.last[0] is not item or self.last[1] != item.z or network is None \
                or feature.name not in self.last[2]:
            self.image.clear()
            self.message.emit("Disagreement: no prediction of this slice by the active feature's network yet")
            return
        probabilities = self.last[2][feature.name]
        self.result = disagreement(probabilities, network.info.threshold, item.annotation.mask(feature.id, item.z),
                                   boxes_mask(item.annotation, item.z))
        rgba = np.zeros((*self.result.codes.shape, 4), np.uint8)
        for code, colour in COLOURS.items():
            rgba[self.result.codes == code] = colour
        self.image.setImage(rgba, autoLevels=False, levels=(0, 255))
        self.image.setRect(QRectF(0, 0, rgba.shape[1], rgba.shape[0]))
        self.message.emit(f"{feature.name}: {self.result.summary()}")
