"""Every open tomogram with its shape and voxel size; picking one shows it, the voxel size is editable."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTreeWidget, QTreeWidgetItem

from ais_qt.models.errors import AisError
from ais_qt.models.session import OpenTomogram, Session
from ais_qt.models.volumes.tomogram import shape_text

NAME, SHAPE, VOXEL = range(3)


def voxel_text(item: OpenTomogram) -> str:
    size = item.tomogram.voxel_size
    if size is None:
        return "unknown"
    return f"{size:.4g}" + (" (set)" if item.tomogram.voxel_size_is_override else "")


class TomogramList(QTreeWidget):
    close_requested = Signal(object)  # OpenTomogram
    problem = Signal(str)  # a rejected voxel size, for the status bar

    def __init__(self, session: Session, parent=None):
        super().__init__(parent)
        self.session = session
        self.setHeaderLabels(["Tomogram", "Z × Y × X", "Voxel (Å)"])
        self.setRootIsDecorated(False)
        self.setTextElideMode(Qt.ElideMiddle)
        self.setSelectionMode(QAbstractItemView.SingleSelection)
        self.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.itemDoubleClicked.connect(self.edit_voxel_size)
        self.header().setSectionResizeMode(NAME, QHeaderView.Stretch)
        self.header().setStretchLastSection(False)
        self.setContextMenuPolicy(Qt.ActionsContextMenu)
        close = QAction("Close selected tomogram", self)
        close.setShortcut(QKeySequence.Delete)
        close.setShortcutContext(Qt.WidgetShortcut)
        close.triggered.connect(self._close_selected)
        edit = QAction("Set voxel size…", self)
        edit.setShortcut(QKeySequence("F2"))
        edit.setShortcutContext(Qt.WidgetShortcut)
        edit.triggered.connect(lambda: self.edit_voxel_size())
        self.addActions([edit, close])
        self._rows: dict[int, QTreeWidgetItem] = {}

        session.added.connect(self._add)
        session.removed.connect(self._remove)
        session.current_changed.connect(self._select)
        self.currentItemChanged.connect(self._picked)
        self.itemChanged.connect(self._edited)
        for item in session.items:
            self._add(item)
        self._select(session.current)

    def _add(self, item: OpenTomogram) -> None:
        row = QTreeWidgetItem([item.tomogram.name, shape_text(item.tomogram.shape), voxel_text(item)])
        row.setData(NAME, Qt.UserRole, item)
        row.setFlags(row.flags() | Qt.ItemIsEditable)
        path = item.tomogram.path
        row.setToolTip(NAME, f"{path}\n{item.tomogram.dtype}, {item.tomogram.nbytes / 2**20:,.0f} MiB"
                       if path else item.tomogram.name)
        row.setToolTip(VOXEL, "Double-click to set the voxel size in Å (empty: use the header's)")
        self._rows[id(item)] = row
        self.blockSignals(True)
        self.addTopLevelItem(row)
        self.blockSignals(False)
        item.tomogram.voxel_size_changed.connect(lambda _size, it=item: self._update_voxel(it))
        for column in (SHAPE, VOXEL):
            self.resizeColumnToContents(column)

    def _remove(self, item: OpenTomogram) -> None:
        row = self._rows.pop(id(item), None)
        if row is not None:
            self.blockSignals(True)
            self.takeTopLevelItem(self.indexOfTopLevelItem(row))
            self.blockSignals(False)

    def _select(self, item: OpenTomogram | None) -> None:
        row = self._rows.get(id(item)) if item is not None else None
        self.blockSignals(True)
        self.setCurrentItem(row)
        self.blockSignals(False)

    def _picked(self, row: QTreeWidgetItem | None, _previous=None) -> None:
        if row is not None:
            self.session.current = row.data(NAME, Qt.UserRole)

    def _update_voxel(self, item: OpenTomogram) -> None:
        row = self._rows.get(id(item))
        if row is not None:
            self.blockSignals(True)
            row.setText(VOXEL, voxel_text(item))
            self.blockSignals(False)

    def edit_voxel_size(self, row: QTreeWidgetItem | None = None, column: int = VOXEL) -> None:
        """Only the voxel size column is editable (double-click it, or F2 on a row)."""
        row = row or self.currentItem()
        if row is not None and column == VOXEL:
            self.editItem(row, VOXEL)

    def _edited(self, row: QTreeWidgetItem, column: int) -> None:
        if column != VOXEL:
            return
        item: OpenTomogram = row.data(NAME, Qt.UserRole)
        text = row.text(VOXEL).replace("(set)", "").strip()
        try:
            item.tomogram.voxel_size = float(text) if text and text != "unknown" else None
        except ValueError:
            self.problem.emit(f"{item.tomogram.name}: '{text}' is not a voxel size in Å")
        except AisError as e:
            self.problem.emit(str(e))
        self._update_voxel(item)

    def _close_selected(self) -> None:
        row = self.currentItem()
        if row is not None:
            self.close_requested.emit(row.data(NAME, Qt.UserRole))
