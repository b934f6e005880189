"""Editors for an architecture's parameters, made from the types of its defaults."""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QDoubleSpinBox, QFormLayout, QLineEdit, QSpinBox, QWidget


class ParamsForm(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.form = QFormLayout(self)
        self.form.setContentsMargins(0, 0, 0, 0)
        self.editors: dict[str, QWidget] = {}

    def show_params(self, params: dict) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
        self.editors = {}
        for name, default in params.items():
            if isinstance(default, bool):
                editor = QCheckBox()
                editor.setChecked(default)
            elif isinstance(default, int):
                editor = QSpinBox()
                editor.setRange(0, 4096)
                editor.setValue(default)
            elif isinstance(default, float):
                editor = QDoubleSpinBox()
                editor.setRange(0, 1e6)
                editor.setDecimals(4)
                editor.setValue(default)
            else:
                editor = QLineEdit(str(default))
            self.editors[name] = editor
            self.form.addRow(name.replace("_", " "), editor)

    def values(self) -> dict:
        out = {}
        for name, editor in self.editors.items():
            if isinstance(editor, QCheckBox):
                out[name] = editor.isChecked()
            elif isinstance(editor, (QSpinBox, QDoubleSpinBox)):
                out[name] = editor.value()
            else:
                out[name] = editor.text()
        return out
