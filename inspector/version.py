"""The software version, written once: pyproject.toml reads it, and every record, dataset, rig and model names it.

A module of its own, not `inspector/__init__.py`, so that the modules that stamp
it on their outputs import nothing else of the package with it.
"""

__version__ = "0.1.0"
