"""The `inspector` command line: one module per family of commands, each adding its own sub-parsers.

`options` holds what the commands share; `program` builds the parser (core families
plus the commands other packages contribute through the entry-point group
`inspector.commands`, see `contributions`) and runs `main`.
"""

from inspector.cli.program import build_parser, main

__all__ = ["build_parser", "main"]
