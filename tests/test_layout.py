"""The house rules that the layout must keep true, not just happen to obey.

`inspector` is the library: it imports neither the desktop application (`ui`) nor
a concrete plugin (`plugins`), nor Qt; the GUI commands reach the command line
through the entry-point group `inspector.commands`, so a machine without a working
Qt still runs every headless command and is told why the GUI ones cannot run.
"""

from __future__ import annotations

import argparse
import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from inspector.cli import build_parser
from inspector.cli.contributions import Command, Window
from inspector.errors import InspectorError
from inspector.plugins import Plugin, PluginRegistry, make_entry_point

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = ("ui", "plugins", "PySide6", "pyqtgraph")


def imported_modules(tree: ast.AST) -> list[tuple[int, str]]:
    """Every module an AST imports: import statements (absolute ones; the core has no relative imports)
    and importlib.import_module / __import__ calls with a literal name."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"line {node.lineno}: relative import"
            found.append((node.lineno, node.module or ""))
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                found.append((node.lineno, node.args[0].value))
    return found


def test_the_core_imports_neither_ui_nor_plugins_nor_qt():
    files = sorted((ROOT / "inspector").rglob("*.py"))
    assert len(files) > 40  # the walk found the package, not an empty folder
    offences = []
    for path in files:
        for line, module in imported_modules(ast.parse(path.read_text(), str(path))):
            if module.split(".")[0] in FORBIDDEN:
                offences.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert not offences, "\n".join(offences)


def _room(module: str) -> str | None:
    """The part of the house a module belongs to: a top-level folder outside `inspector`, a package or a
    module directly under `inspector` (as the layout in the README names them); None outside the project."""
    parts = module.split(".")
    if parts[0] in ("ui", "plugins", "calibration"):
        return parts[0]
    if parts[0] != "inspector":
        return None
    if len(parts) == 1:
        return "inspector.__init__"
    return f"inspector.{parts[1]}"


def import_graph() -> dict[str, set[str]]:
    """Room → the rooms its modules import."""
    graph: dict[str, set[str]] = {}
    for folder in ("inspector", "ui", "plugins", "calibration"):
        for path in (ROOT / folder).rglob("*.py"):
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            here = _room(module.removesuffix(".__init__")) if module != "inspector.__init__" else module
            targets = graph.setdefault(here, set())
            for _, name in imported_modules(ast.parse(path.read_text(), str(path))):
                there = _room(name)
                if there is not None and there != here:
                    targets.add(there)
    return graph


def test_the_imports_make_no_circle_and_few_floors():
    import graphlib

    graph = import_graph()
    assert {"ui", "plugins", "inspector.cli", "inspector.explain", "inspector.records"} <= set(graph)
    order = list(graphlib.TopologicalSorter(graph).static_order())  # CycleError names a circle
    floor: dict[str, int] = {}
    for room in order:  # dependencies come first
        floor[room] = 1 + max((floor[t] for t in graph.get(room, ())), default=0)
    assert max(floor.values()) < 13, sorted(floor.items(), key=lambda kv: kv[1])
    assert floor["ui"] > floor["inspector.cli"] > floor["inspector.pipeline"] > floor["inspector.explain"]


def test_the_import_walk_sees_every_kind_of_import():
    # The walk above is only as good as what it recognises: each of these must be caught.
    code = ("import ui.app\nfrom plugins import simulator_source\nfrom PySide6.QtCore import Qt\n"
            "def f():\n    import pyqtgraph as pg\n    importlib.import_module('ui.bench')\n")
    assert [m.split(".")[0] for _, m in imported_modules(ast.parse(code))] == [
        "ui", "plugins", "PySide6", "pyqtgraph", "ui"]


def test_building_the_command_line_imports_no_qt():
    # The GUI commands' module is loaded for every command; it must not pull Qt in with it.
    code = ("import sys\nfrom inspector.cli import build_parser\np = build_parser()\n"
            "assert 'gui' in p._subparsers._group_actions[0].choices\n"
            "bad = [m for m in sys.modules if m.startswith(('PySide6', 'pyqtgraph'))]\nassert not bad, bad\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


# -- a machine where PySide6 cannot be imported -----------------------------------------------------
@pytest.fixture
def without_pyside6(tmp_path):
    """The environment of a process in which `import PySide6` fails, as on a machine with a broken Qt."""
    shadow = tmp_path / "shadow"
    (shadow / "PySide6").mkdir(parents=True)
    (shadow / "PySide6" / "__init__.py").write_text("raise ImportError('PySide6 is made unimportable by this test')\n")
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
    env["PYTHONPATH"] = os.pathsep.join([str(shadow), *filter(None, [env.get("PYTHONPATH")])])
    env["DISPLAY"] = ":97"  # a display is named, so the GUI commands go as far as trying Qt
    return env


def inspector(env, *args, cwd=None):
    return subprocess.run([sys.executable, "-m", "inspector.cli", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=600)


def test_without_pyside6_the_headless_commands_run_and_gui_says_why(without_pyside6, tmp_path):
    env = without_pyside6
    assert subprocess.run([sys.executable, "-c", "import PySide6"], env=env, capture_output=True).returncode != 0

    listed = inspector(env, "--help")
    assert listed.returncode == 0 and "gui" in listed.stdout and "review" in listed.stdout
    sim = inspector(env, "simulate", "--n", "3", "--out", str(tmp_path / "d.h5"), "--quiet")
    assert sim.returncode == 0 and (tmp_path / "d.h5").is_file(), sim.stderr
    assert inspector(env, "plugins").returncode == 0
    log = tmp_path / "demo.h5"
    demo = inspector(env, "demo", "--n", "2", "--rate", "20", "--out", str(log))
    assert demo.returncode == 0, demo.stderr
    assert ("the desktop application cannot start here (ImportError: PySide6 is made unimportable by this test): "
            "running the headless demo") in demo.stderr
    assert "cavities classified as the simulator made them" in demo.stdout and log.is_file()

    gui = inspector(env, "gui")
    assert gui.returncode == 2
    assert gui.stderr.strip() == ("inspector gui: error: the desktop application cannot start here: "
                                  "ImportError: PySide6 is made unimportable by this test")
    review = inspector(env, "review", str(log))
    assert review.returncode == 2 and "PySide6 is made unimportable" in review.stderr
    assert "Traceback" not in gui.stderr + review.stderr + demo.stderr


# -- contributed commands that cannot be loaded --------------------------------------------------------
def _registry(*entries: tuple[str, str]) -> PluginRegistry:
    return PluginRegistry([Plugin("commands", name, value, "testdist 1.0",
                                  entry_point=make_entry_point(name, value, "commands"))
                           for name, value in entries])


def test_a_broken_command_plugin_costs_its_own_commands_only(capsys):
    registry = _registry(("inspect-more", "no_such_module_here:COMMAND"), ("demo", "no_such_module_here:WINDOW"))
    parser = build_parser(registry)
    assert "inspect-more" in parser.format_help()
    args = parser.parse_args(["inspect-more", "--any", "thing"])
    with pytest.raises(InspectorError) as refused:
        args.func(args)
    assert "no_such_module_here" in str(refused.value) and "failed to import" in str(refused.value)
    # The core command `demo` keeps running; only its window cannot start, and says why.
    demo = parser.parse_args(["demo", "--n", "1"])
    assert demo.func.__module__ == "inspector.cli.live"
    assert "no_such_module_here" in demo.window.cannot_start()


def test_contributions_of_the_wrong_kind_are_refused_not_run():
    import ui.commands

    registry = _registry(("gui", "ui.commands:DEMO_WINDOW"), ("demo", "ui.commands:GUI"))
    parser = build_parser(registry)
    gui = parser.parse_args(["gui"])
    assert gui.func is not ui.commands.run_demo_window
    assert "not a Command" in parser._subparsers._group_actions[0].choices["gui"].description
    assert "not a Window" in parser.parse_args(["demo"]).window.cannot_start()


def test_the_desktop_application_contributes_its_commands_through_entry_points():
    from importlib.metadata import entry_points

    found = {ep.name: ep.value for ep in entry_points(group="inspector.commands")}
    assert found == {"gui": "ui.commands:GUI", "review": "ui.commands:REVIEW", "demo": "ui.commands:DEMO_WINDOW",
                     "cameras": "plugins.genicam_commands:CAMERAS"}
    registry = PluginRegistry.discover()
    assert isinstance(registry.get("commands", "gui"), Command)
    assert isinstance(registry.get("commands", "demo"), Window)
    parser = build_parser(registry)
    review = parser.parse_args(["review", "x.h5", "--device", "cpu"])
    assert isinstance(review.log, Path) and review.device == "cpu"
    assert isinstance(parser, argparse.ArgumentParser)
