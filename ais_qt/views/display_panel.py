"""Contrast, binning and smoothing of the current tomogram's display."""

from __future__ import annotations

from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox,
                               QHBoxLayout, QWidget)

from ais_qt.models.volumes.display import BINNINGS
from ais_qt.models.session import OpenTomogram, Session


def _spin(lo: float, hi: float, step: float, decimals: int, tip: str) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setRange(lo, hi)
    spin.setSingleStep(step)
    spin.setDecimals(decimals)
    spin.setKeyboardTracking(False)
    spin.setToolTip(tip)
    return spin


class DisplayPanel(QGroupBox):
    """Edits the current tomogram's DisplaySettings; redraws itself from them."""

    def __init__(self, session: Session, parent=None):
        super().__init__("Display", parent)
        self.session = session
        self.item: OpenTomogram | None = None

        self.auto = QCheckBox("Automatic contrast from percentiles")
        self.low = _spin(0, 50, 0.1, 2, "Percentile shown black")
        self.high = _spin(50, 100, 0.1, 2, "Percentile shown white")
        self.black = _spin(-1e9, 1e9, 0.1, 4, "Value shown black (typing here switches to manual contrast)")
        self.white = _spin(-1e9, 1e9, 0.1, 4, "Value shown white (typing here switches to manual contrast)")
        self.binning = QComboBox()
        for b in BINNINGS:
            self.binning.addItem(f"{b} x {b}" if b > 1 else "none", b)
        self.binning.setToolTip("Average blocks of pixels for display: faster and less noisy on big slices")
        self.sigma = _spin(0, 20, 0.5, 1, "Gaussian smoothing of the display in (binned) pixels; 0 = off")
        self.sigma.setSpecialValueText("off")

        percentiles = QHBoxLayout()
        percentiles.addWidget(self.low)
        percentiles.addWidget(self.high)
        levels = QHBoxLayout()
        levels.addWidget(self.black)
        levels.addWidget(self.white)
        form = QFormLayout(self)
        form.addRow(self.auto)
        form.addRow("Percentiles", _wrap(percentiles))
        form.addRow("Black / white", _wrap(levels))
        form.addRow("Binning", self.binning)
        form.addRow("Smoothing (σ px)", self.sigma)

        self.auto.toggled.connect(self._auto_toggled)
        self.low.valueChanged.connect(lambda v: self._set("low_percentile", v))
        self.high.valueChanged.connect(lambda v: self._set("high_percentile", v))
        self.black.valueChanged.connect(self._set_manual)
        self.white.valueChanged.connect(self._set_manual)
        self.binning.currentIndexChanged.connect(lambda i: self._set("binning", self.binning.itemData(i)))
        self.sigma.valueChanged.connect(lambda v: self._set("sigma", v))
        session.current_changed.connect(self._attach)
        self._attach(session.current)

    def _attach(self, item: OpenTomogram | None) -> None:
        if self.item is not None:
            self.item.display.events.all.disconnect(self._refresh)
        self.item = item
        self.setEnabled(item is not None)
        if item is not None:
            item.display.events.all.connect(self._refresh)
        self._refresh()

    def _refresh(self, *_):
        if self.item is None:
            return
        d = self.item.display
        widgets = (self.auto, self.low, self.high, self.binning, self.sigma)
        for w in widgets:
            w.blockSignals(True)
        self.auto.setChecked(d.auto_contrast)
        self.low.setValue(d.low_percentile)
        self.high.setValue(d.high_percentile)
        self.binning.setCurrentIndex(max(self.binning.findData(d.binning), 0))
        self.sigma.setValue(d.sigma)
        for w in widgets:
            w.blockSignals(False)
        self.low.setEnabled(d.auto_contrast)
        self.high.setEnabled(d.auto_contrast)
        if not d.auto_contrast:
            self.show_levels(d.black, d.white)

    def show_levels(self, black: float, white: float) -> None:
        """Show the levels on screen (the automatic ones while contrast is automatic)."""
        for spin, value in ((self.black, black), (self.white, white)):
            spin.blockSignals(True)
            spin.setValue(value)
            spin.blockSignals(False)

    def _set(self, name: str, value) -> None:
        if self.item is not None:
            setattr(self.item.display, name, value)

    def _auto_toggled(self, on: bool) -> None:
        if self.item is None:
            return
        if not on:  # start manual contrast from what is on screen now, not from stale numbers
            self.item.display.black = self.black.value()
            self.item.display.white = self.white.value()
        self.item.display.auto_contrast = on

    def _set_manual(self, *_) -> None:
        if self.item is None:
            return
        d = self.item.display
        d.black, d.white = self.black.value(), self.white.value()
        d.auto_contrast = False


def _wrap(layout) -> QWidget:
    widget = QWidget()
    layout.setContentsMargins(0, 0, 0, 0)
    widget.setLayout(layout)
    return widget
