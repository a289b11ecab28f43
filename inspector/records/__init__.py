"""Inspection logs in HDF5: append while inspecting, review while writing, survive a crash."""

from inspector.records.errors import RecordsError
from inspector.records.export import export_csv
from inspector.records.inspection import Inspection
from inspector.records.labels import LabelStore
from inspector.records.reader import RecordReader
from inspector.records.rotation import RotatingWriter
from inspector.records.schema import SCHEMA_VERSION, Layout
from inspector.records.writer import RecordWriter

__all__ = [
    "SCHEMA_VERSION",
    "Inspection",
    "LabelStore",
    "Layout",
    "RecordReader",
    "RecordWriter",
    "RecordsError",
    "RotatingWriter",
    "export_csv",
]
