"""The review's exports: the selected record as a PNG figure and JSON, the shown table as CSV, and the
file dialogs that ask where.

`RecordExports` is a mixin of `ui.review_view.ReviewView`: it exports from the view's open log
(`reader`), its selected record (`current_record`) and its table (`model`), and reports on the view's
error strip and `status_message`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from PySide6 import QtWidgets

from inspector.errors import InspectorError
from inspector.evaluation.record_export import export_record
from inspector.records import RecordsError, export_csv


class RecordExports:
    def export_record_files(self, png=None, json_path=None, record: Optional[int] = None) -> int:
        """Write the record (default: the selected one) as a PNG figure and/or JSON; returns its index."""
        if self.reader is None:
            raise RecordsError("no log is open")
        i = self.current_record if record is None else record
        if i is None:
            raise RecordsError("no record is selected")
        export_record(self.reader, int(i), png=png, json_path=json_path)
        self.status_message.emit(f"exported record {i} to " + ", ".join(str(p) for p in (png, json_path) if p))
        return int(i)

    def export_table_csv(self, path) -> int:
        """The records the table shows, in its order, as CSV; returns the rows written."""
        if self.reader is None:
            raise RecordsError("no log is open")
        n = export_csv(self.reader, path, indices=self.model.order.tolist())
        self.status_message.emit(f"exported {n} rows to {path}")
        return n

    def choose_record_export(self) -> None:
        if self.reader is None or self.current_record is None:
            return
        stem = self.reader.path.with_name(f"{self.reader.path.stem}-record{self.current_record}")
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Export record (PNG; JSON is written beside it)",
                                                        str(stem) + ".png", "PNG figure (*.png)")
        if path:
            png = Path(path).with_suffix(".png")
            self._guarded(self.export_record_files, png=png, json_path=png.with_suffix(".json"))

    def choose_csv_export(self) -> None:
        if self.reader is None:
            return
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Export table as CSV",
                                                        str(self.reader.path.with_suffix(".csv")), "CSV (*.csv)")
        if path:
            self._guarded(self.export_table_csv, path)

    def _guarded(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (InspectorError, OSError, ValueError) as exc:
            self.error_strip.show_error(f"export failed: {exc}")
            return None
