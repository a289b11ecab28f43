"""The `inspector` program: its parser, built from the command families and the contributed commands, and `main`.

Every subcommand reports bad input as one line naming the input and the
problem, with exit status 2. Anything else that goes wrong is a bug: one line
saying so and exit status 1, with its traceback only under `inspector --debug`.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Optional, Sequence

from inspector.version import __version__
from inspector.cli import audit, bench, dataset, explain, grab, line, live, logs, model, opcua, plugins
from inspector.cli.contributions import contributions
from inspector.cli.options import (
    EXIT_BAD_INPUT,
    EXIT_BROKEN_PIPE,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    Formatter,
    Parser,
    add_command,
)
from inspector.errors import InspectorError

FAMILIES = (live, line, grab, model, dataset, explain, audit, plugins, logs, bench, opcua)
# The order `inspector --help` lists them in: the way through the tool, then upkeep. Contributed
# commands not named here follow.
ORDER = ("demo", "simulate", "cameras", "grab", "calibrate", "dataset", "train", "evaluate", "explain", "study", "run", "audit", "gui", "review",
         "opcua", "plugins", "log", "bench")


def build_parser(registry=None) -> argparse.ArgumentParser:
    """The whole command line; `registry` (default: the plugins installed) supplies contributed commands."""
    from inspector.plugins import PluginRegistry

    parser = Parser(
        prog="inspector",
        formatter_class=Formatter,
        description=(
            "Inspect injection-mold cavities with two cameras: inverse perspective mapping onto the "
            "cavity plane, a multi-view fusion network, and explanations of every decision."
        ),
    )
    parser.add_argument("--version", action="version", version=f"inspector {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="print the traceback of any error (for reporting a bug), not just its one line")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    core = {name: add for family in FAMILIES for name, add in family.COMMANDS.items()}
    registry = registry if registry is not None else PluginRegistry.discover()
    contributed, windows = contributions(registry, set(core))
    for name in sorted(set(core) | set(contributed), key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n)):
        if name in core:
            core[name](sub)
        else:
            command = contributed[name]
            p = add_command(sub, name, help=command.help, description=command.description, epilog=command.epilog)
            command.add_arguments(p)
            p.set_defaults(func=command.run)
    for name, window in windows.items():
        sub.choices[name].set_defaults(window=window)
    return parser


def _one_line(exc: BaseException) -> str:
    """An exception as `Type: first line of its message`, for a user who did not ask for a traceback."""
    text = next((row.strip() for row in str(exc).splitlines() if row.strip()), "")
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def main(argv: Optional[Sequence[str]] = None) -> int:
    import traceback

    parser = build_parser()
    args = parser.parse_args(argv)
    # "log close", not just "log": the line names the command the user typed.
    # A family of nested commands (log, dataset, model) keeps its choice in `subcommand`.
    command = " ".join(v for v in (args.command, getattr(args, "subcommand", None)) if v)
    try:
        return int(args.func(args) or 0)
    except InspectorError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"inspector {command}: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(f"inspector {command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader of our output left (`inspector model info default | head`): not an error of
        # ours. Python's own advice: point stdout at devnull so the exit's flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except Exception as exc:  # a bug: a user gets one line; whoever reports it reruns with --debug
        if args.debug:
            traceback.print_exc()
        else:
            print(f"inspector {command}: internal error: {_one_line(exc)} (run with --debug for the traceback)",
                  file=sys.stderr)
        return EXIT_INTERNAL
