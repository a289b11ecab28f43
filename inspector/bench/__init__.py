"""Benchmarks behind `inspector bench`: each section measures its own figures in the same run.

Nothing here asserts a speed; the numbers are printed for a person to compare
with the targets in the README.
"""

from __future__ import annotations

from inspector.bench.table import Row, format_table

__all__ = ["SECTIONS", "format_table"]  # what `inspector bench` uses


def _simulator(device=None) -> list[Row]:
    from inspector.bench.simulator import bench_simulator

    return bench_simulator()


def _explain(device=None) -> list[Row]:
    from importlib.util import find_spec

    from inspector.errors import InspectorError
    from inspector.bench.explain import bench_explain

    if find_spec("captum") is None:
        raise InspectorError("the explain benchmark compares against captum: pip install -e '.[bench]'")
    return bench_explain(device)


def _records(device=None) -> list[Row]:
    from inspector.bench.records import bench_records

    return bench_records()


def _pipeline(device=None) -> list[Row]:
    from inspector.bench.pipeline import bench_pipeline

    return bench_pipeline(device)


def _soak(device=None) -> list[Row]:
    from inspector.bench.pipeline import bench_soak

    return bench_soak(device)


def _audit(device=None) -> list[Row]:
    from inspector.bench.audit import bench_audit

    return bench_audit(device)


def _gui(device=None) -> list[Row]:
    from inspector.bench.gui import bench_gui

    return bench_gui(device)


SECTIONS = {
    "simulator": _simulator,
    "explain": _explain,
    "records": _records,
    "pipeline": _pipeline,
    "soak": _soak,
    "audit": _audit,
    "gui": _gui,
}
