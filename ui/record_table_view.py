"""The review's table widget over a `RecordTableModel`: column widths, row selection and sorting."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from ui.record_table import COLUMNS, RecordTableModel

# The widest text each column shows (its header aside): widths follow the font, so no header or
# value is clipped whatever the platform's font and scale.
WIDEST = {"#": "99999", "time": "00:00:00.000", "cavity": "99", "class": "missing", "P (%)": "100.0",
          "margin": "0.000", "m": "+0.000", "influence": "camera 2", "status": "no-curves", "label": "unsure",
          "true class": "missing", "re-run": "no images"}
RERUN_AFTER = "class"  # where the re-run column appears: beside the class it checks, not past the right edge


def column_width(view: QtWidgets.QTableView, name: str) -> int:
    """Room for the header (with its sort arrow) and the widest value of column `name`."""
    cell = view.fontMetrics().horizontalAdvance(WIDEST[name]) + 12
    header = view.horizontalHeader()
    head = header.fontMetrics().horizontalAdvance(name) + 28  # the sort indicator and the section's margins
    return max(cell, head)


class RecordTableView(QtWidgets.QTableView):
    def __init__(self, model: RecordTableModel, parent=None):
        super().__init__(parent)
        self.setModel(model)
        self.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setAlternatingRowColors(True)
        self.verticalHeader().hide()
        self.verticalHeader().setDefaultSectionSize(22)
        self.setWordWrap(False)
        header = self.horizontalHeader()
        for i, name in enumerate(COLUMNS):
            header.resizeSection(i, column_width(self, name))
        header.setStretchLastSection(True)
        header.setTextElideMode(QtCore.Qt.TextElideMode.ElideRight)
        self.setColumnHidden(COLUMNS.index("re-run"), True)  # shown once there is a re-run to show
        self.setSortingEnabled(True)
        self.sortByColumn(0, QtCore.Qt.SortOrder.AscendingOrder)
        self.setToolTip("↑/↓ move through the records in the shown order; O / N / U, or 1…9 for a class, label the selected ones")

    def fit_classes(self, names) -> None:
        """Widen the class columns to the open log's longest class name (its classes are its own)."""
        header = self.horizontalHeader()
        widest = max((self.fontMetrics().horizontalAdvance(c) + 12 for c in names), default=0)
        for name in ("class", "true class"):
            column = COLUMNS.index(name)
            header.resizeSection(column, max(column_width(self, name), widest))

    def show_rerun_column(self) -> None:
        header = self.horizontalHeader()
        column = COLUMNS.index("re-run")
        header.moveSection(header.visualIndex(column), header.visualIndex(COLUMNS.index(RERUN_AFTER)) + 1)
        self.setColumnHidden(column, False)

    def sort_by(self, column: str, descending: bool = False) -> None:
        order = QtCore.Qt.SortOrder.DescendingOrder if descending else QtCore.Qt.SortOrder.AscendingOrder
        self.sortByColumn(COLUMNS.index(column), order)

    def select_row(self, row: int) -> None:
        index = self.model().index(row, 0)
        self.selectionModel().setCurrentIndex(
            index, QtCore.QItemSelectionModel.SelectionFlag.ClearAndSelect | QtCore.QItemSelectionModel.SelectionFlag.Rows)
        self.scrollTo(index)

    def selected_rows(self) -> list[int]:
        return sorted({i.row() for i in self.selectionModel().selectedRows()})
