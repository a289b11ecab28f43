"""Commands that other packages add to `inspector` through the entry-point group `inspector.commands`.

The desktop application contributes `gui`, `review` and the window of `demo` this
way, so the core never imports Qt: an entry point's name is the command's, and its
object is a `Command` (a command of its own) or a `Window` (the windowed form of a
core command). They are discovered and isolated like every other plugin: one
that fails to import costs its own commands only, which then say why they cannot
run instead of vanishing from `inspector --help`.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from typing import Callable, Optional

from inspector.errors import InspectorError


@dataclass(frozen=True)
class Command:
    """A command of its own: `inspector NAME`, with its help, its options and what it runs."""

    help: str
    description: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]
    epilog: Optional[str] = None


@dataclass(frozen=True)
class Window:
    """The windowed form of a core command (`demo`): run where a display is found and `cannot_start()`,
    which says why no window can open here, returns ""; otherwise the command runs headless."""

    cannot_start: Callable[[], str]
    run: Callable[[argparse.Namespace], int]


def has_display() -> bool:
    """Whether a window can be shown: a desktop on Windows and macOS; X11 or Wayland on Linux, unless Qt
    is told to draw offscreen."""
    if os.environ.get("QT_QPA_PLATFORM", "") in ("offscreen", "minimal"):
        return False
    if sys.platform.startswith(("win", "darwin")):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _unavailable(name: str, why: str) -> Command:
    """What stands for a contributed command whose plugin cannot be loaded: listed, and saying why."""

    def refuse(args: argparse.Namespace) -> int:
        raise InspectorError(f"this command cannot run here: {why} (`inspector plugins --verbose` says more)")

    def swallow(p: argparse.ArgumentParser) -> None:
        # Whatever options the real command would take, the answer is why it cannot run, not
        # "unrecognized arguments": its parser takes every argument and leaves none over.
        p.parse_known_args = lambda args=None, namespace=None: (argparse.Namespace(func=refuse), [])

    return Command(help=f"(cannot run here: {why})", description=f"`inspector {name}` cannot run here: {why}.",
                   add_arguments=swallow, run=refuse)


def contributions(registry, core: set[str]) -> tuple[dict[str, Command], dict[str, Window]]:
    """The commands and windows that `registry`'s plugins contribute, by command name. A plugin that fails
    to load becomes, under the name of a core command, a window that cannot start and says why, and
    under any other name a command that says why it cannot run."""
    commands: dict[str, Command] = {}
    windows: dict[str, Window] = {}
    for plugin in registry.plugins("commands"):
        if plugin.status == "shadowed":
            continue
        registry.load("commands", plugin.name)
        wanted = Window if plugin.name in core else Command
        obj = plugin.obj if plugin.ok else None
        why = f"{plugin.value} from {plugin.distribution} {plugin.status}: {plugin.error}"
        if obj is not None and not isinstance(obj, wanted):
            why = f"{plugin.value} from {plugin.distribution} is a {type(obj).__name__}, not a {wanted.__name__}"
            obj = None
        if plugin.name in core:
            windows[plugin.name] = obj or Window(cannot_start=lambda why=why: why, run=_never)
        else:
            commands[plugin.name] = obj or _unavailable(plugin.name, why)
    return commands, windows


def _never(args: argparse.Namespace) -> int:
    raise AssertionError("a window that cannot start was run")
