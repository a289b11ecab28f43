"""The one exception family that crosses the library boundary.

The command line turns any `InspectorError` into a one-line message and exit
status 2; anything else is a bug, reported as one line "internal error" (the
traceback with `inspector --debug`).
"""


class InspectorError(Exception):
    """Base of every error the library reports about its inputs."""


class ImageError(InspectorError):
    """An image file or array that cannot be used (unreadable, wrong size or type)."""


class CalibrationError(InspectorError):
    """Calibration could not produce a trustworthy rig (no board found, error too high)."""


class RigError(InspectorError):
    """A rig file that is corrupt, of an unknown version, or lacks what is asked of it."""


class DatasetError(InspectorError):
    """A dataset file that cannot be written or read as asked."""
