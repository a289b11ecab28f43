"""What every command of `inspector` shares: the parser's manners, exit codes, value types and common options.

Each option that several commands take (`--device`, `--model`, `--source-opt`,
`--overwrite`, `--quiet`) is defined here once, so its spelling, choices and checks cannot drift
apart between commands; a command only says what the option means to it.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from inspector.errors import InspectorError

EXIT_INTERNAL = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a process Ctrl-C ended
EXIT_TERMINATED = 143  # 128 + SIGTERM
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: what a shell reports for a writer whose reader left

DEVICES = ("auto", "cpu", "cuda")


class Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    pass


class Parser(argparse.ArgumentParser):
    """argparse, but a refused command line is one line like every other bad input (argparse's own
    usage block buried the reason under the synopsis); `--help` still shows the usage."""

    def error(self, message: str):
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (`{self.prog} --help` says more)\n")


def add_command(sub, name: str, *, help: str, description: str, epilog: str | None = None):
    """A subcommand's parser, formatted like every other (defaults shown, descriptions as written)."""
    return sub.add_parser(name, help=help, description=description, epilog=epilog, formatter_class=Formatter)


def add_family(sub, name: str, *, help: str, description: str):
    """A command of commands (`log close`, `dataset import`, …): its own subcommands' parsers. The choice is
    kept in `subcommand`, which `program.main` reads to name `inspector NAME SUBCOMMAND` in errors."""
    p = add_command(sub, name, help=help, description=description)
    return p.add_subparsers(dest="subcommand", metavar=f"{name.upper()}_COMMAND", required=True)


# -- values -------------------------------------------------------------------------------------
def grid_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
        if w <= 0 or h <= 0:
            raise ValueError
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT in pixels, e.g. 128x128, got {text!r}") from None
    return w, h


def _number(text: str, convert, ok, expected: str):
    """`text` converted, or argparse's one-line refusal saying what was expected."""
    try:
        v = convert(text)
    except ValueError:
        v = None
    if v is None or not ok(v):
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
    return v


def share(text: str) -> float:
    return _number(text, float, lambda v: 0.0 <= v <= 1.0, "a number in [0, 1]")


def positive_int(text: str) -> int:
    return _number(text, int, lambda v: v > 0, "a positive integer")


def count(text: str) -> int:
    return _number(text, int, lambda v: v >= 0, "a count, an integer ≥ 0")


def seed(text: str) -> int:
    # numpy's generators take no negative seed; refused here rather than deep in a run
    return _number(text, int, lambda v: v >= 0, "a seed, an integer ≥ 0")


def positive_float(text: str) -> float:
    return _number(text, float, lambda v: math.isfinite(v) and v > 0, "a positive number")


# -- options several commands take ------------------------------------------------------------------
def add_device(p, help: str, *, default: str = "auto", choices=DEVICES) -> None:
    p.add_argument("--device", default=default, choices=list(choices), help=help)


def add_model(p, help: str = "checkpoint (default: the shipped model)") -> None:
    p.add_argument("--model", help=help)


def add_source_options(p) -> None:
    """`--source-opt KEY=VALUE`, repeatable: the options of the source plugin `--source` names."""
    p.add_argument("--source-opt", action="append", default=[], metavar="KEY=VALUE",
                   help="an option of the source (repeat for several)")


def add_overwrite(p, help: str) -> None:
    p.add_argument("--overwrite", action="store_true", help=help)


def add_fill(p) -> None:
    """`--fill`: what the occluded pixels of the masked-input curves become (`inspector.explain.fills`)."""
    from inspector.fill_names import DEFAULT_FILL, FILLS

    p.add_argument("--fill", default=DEFAULT_FILL, choices=list(FILLS),
                   help="what the occluded pixels of the curves become: zero (black, Tilgner et al.'s method), "
                   "road (Rong et al.'s noisy linear imputation from the neighbours) or mean (the model's "
                   "normalisation mean); every record and explanation says which")


def add_quiet(p) -> None:
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def refuse_to_replace(out: Path, overwrite: bool) -> None:
    """An output that records refer to by sha256 (rig, model) is only replaced when asked."""
    from inspector.files import check_output_file

    if out.is_file() and not overwrite:
        raise InspectorError(f"{out}: already exists; records name it by its sha256, so pass --overwrite "
                             "only if nothing refers to the old one")
    check_output_file(out, overwrite=True)  # a folder, or a folder that does not exist


def add_opcua(p) -> None:
    """The line server's options (issue 18): where to serve, its security, and the commissioning wait."""
    p.add_argument("--opcua", metavar="opc.tcp://HOST:PORT",
                   help="publish every result over OPC UA at this address (needs `pip install -e '.[opcua]'`)")
    p.add_argument("--opcua-security", default="sign-and-encrypt", choices=["sign-and-encrypt", "none"],
                   help="none: no encryption and anonymous clients (read only), allowed on a loopback address only")
    p.add_argument("--opcua-allow-insecure-remote", action="store_true",
                   help="allow --opcua-security none on an address other machines reach (a trusted line network only)")
    p.add_argument("--opcua-wait-for-subscriber", type=positive_float, metavar="SECONDS",
                   help="for commissioning: hold the first inspection until an OPC UA client has subscribed, "
                   "and the server's close at the end until the clients left (to read the final counts), "
                   "SECONDS at most each")
    p.add_argument("--opcua-client-backlog", type=positive_int, metavar="N",
                   help="results one OPC UA client may fall behind by before it loses its oldest (counted per "
                   "client and reported at the end; never the log's); bounds what a client that stopped "
                   "reading costs in memory (default 10000: about 2.5 minutes at 65 pairs/s)")
