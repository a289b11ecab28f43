"""Inspection logs in HDF5: append while inspecting, review while writing, survive a crash."""

from inspector.records.errors import RecordsError
from inspector.records.inspection import Inspection
from inspector.records.reader import RecordReader
from inspector.records.schema import SCHEMA_VERSION, Layout
from inspector.records.writer import RecordWriter

__all__ = ["SCHEMA_VERSION", "Inspection", "Layout", "RecordReader", "RecordWriter", "RecordsError"]
