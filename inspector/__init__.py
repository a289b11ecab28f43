"""inspector: dual-camera mold-cavity inspection with explained decisions.

The headless core. It never imports Qt; the desktop application lives in `ui`.
"""

from inspector.errors import InspectorError
from inspector.version import __version__


def load_model(path=None, device=None):
    """The model in eval mode; no path loads the shipped default (see `inspector.model.load_model`)."""
    from inspector.model.checkpoint import load_model as _load

    return _load(path, device)


__all__ = ["InspectorError", "__version__", "load_model"]
