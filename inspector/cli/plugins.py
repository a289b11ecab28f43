"""`inspector plugins`: every plugin found, what became of it, and the options of each source."""

from __future__ import annotations

import argparse

from inspector.cli.options import add_command


def cmd_plugins(args: argparse.Namespace) -> int:
    from inspector.plugins import PluginRegistry
    from inspector.runner import describe_plugins

    for line in describe_plugins(PluginRegistry.discover(), verbose=args.verbose, debug=args.debug):
        print(line)
    return 0


def add_plugins(sub) -> None:
    p = add_command(
        sub, "plugins", help="list the source, model, explainer and command plugins, with their status and errors",
        description="Discover every plugin through its entry point (groups inspector.sources, "
        "inspector.models, inspector.explainers, inspector.commands), import each on its own, and list them "
        "with their distribution and status. A plugin that fails to import is listed with its error; it never "
        "stops the others. Sources also list their options (for --source-opt).",
    )
    p.add_argument("--verbose", action="store_true",
                   help="show the whole error of each failure, with the errors it came from "
                   "(`inspector --debug plugins` also shows the traceback)")
    p.set_defaults(func=cmd_plugins)


COMMANDS = {"plugins": add_plugins}
