"""The review's table widget over a `RecordTableModel`: column widths, row selection and sorting."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from ui.record_table import COLUMNS, RecordTableModel

COLUMN_WIDTHS = {"#": 40, "time": 88, "cavity": 44, "class": 60, "P (%)": 46, "margin": 56, "m": 54,
                 "influence": 66, "status": 66, "label": 44, "true class": 60, "re-run": 60}


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
            header.resizeSection(i, COLUMN_WIDTHS[name])
        header.setStretchLastSection(True)
        self.setColumnHidden(COLUMNS.index("re-run"), True)  # shown once there is a re-run to show
        self.setSortingEnabled(True)
        self.sortByColumn(0, QtCore.Qt.SortOrder.AscendingOrder)
        self.setToolTip("↑/↓ move through the records in the shown order; O / N / U, or 1…9 for a class, label the selected ones")

    def show_rerun_column(self) -> None:
        self.setColumnHidden(COLUMNS.index("re-run"), False)

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
