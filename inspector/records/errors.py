"""Errors of the inspection log."""

from inspector.errors import InspectorError


class RecordsError(InspectorError):
    """A log that cannot be written or read as asked: it names the file and the problem."""
