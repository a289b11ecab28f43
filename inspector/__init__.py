"""inspector: dual-camera mold-cavity inspection with explained decisions.

The headless core. It never imports Qt; the desktop application lives in `ui`.
"""

from inspector.errors import InspectorError

__version__ = "0.1.0"

__all__ = ["InspectorError", "__version__"]
