"""Benchmarks behind `inspector bench`: `SECTIONS`, each section by name, and `format_table`.

Each section measures its own figures in the same run, in a module of its own here;
`table` holds the rows they return. Nothing here asserts a speed; the numbers are
printed for a person to compare with the targets in the README.
"""

from __future__ import annotations

from importlib import import_module
from typing import Callable

from inspector.bench.table import Row, format_table

__all__ = ["SECTIONS", "format_table"]  # what `inspector bench` uses

# The module of each section; its function is bench_<section>(device).
_MODULES = {
    "simulator": "simulator",
    "explain": "explain",
    "records": "records",
    "pipeline": "pipeline",
    "soak": "pipeline",
    "audit": "audit",
    "genicam": "genicam",
    "gui": "gui",
    "opcua": "opcua",
}


def _section(name: str, module: str) -> Callable[..., list[Row]]:
    # Imported when it runs: the sections need torch, captum, Dask, h5py followers or a Qt
    # process, and `--only simulator` needs none of them.
    def run(device=None) -> list[Row]:
        return getattr(import_module(f"{__name__}.{module}"), f"bench_{name}")(device)

    return run


SECTIONS = {name: _section(name, module) for name, module in _MODULES.items()}
