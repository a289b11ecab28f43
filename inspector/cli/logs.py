"""`inspector log`: maintenance of inspection logs (today `log close`, for a log whose writer died)."""

from __future__ import annotations

import argparse
from pathlib import Path

from inspector.cli.options import add_command, add_family


def cmd_log_close(args: argparse.Namespace) -> int:
    from inspector.records.repair import close_log

    print(close_log(args.log, force=args.force).describe())
    return 0


def add_log(sub) -> None:
    log_sub = add_family(
        sub, "log", help="maintenance of inspection logs (close one whose writer died)",
        description="Maintenance of inspection logs. `inspector log close LOG` closes a log whose writer "
        "was killed mid-run, so that every HDF5 tool reads it.",
    )
    p = add_command(
        log_sub, "close", help="close a log whose writer died, so that every HDF5 tool reads it",
        description="A writer killed mid-run leaves its log flagged as open for writing: the committed "
        "records are intact and inspector reads them, but h5dump, h5ls, HDFView and MATLAB refuse the "
        "file. This clears the flags (as `h5clear -s` does), trims every dataset to the committed "
        "records and marks the log closed, in place. It refuses while the writer still runs (the log "
        "names its host, pid and start time), and for a writer on another host unless --force. A log "
        "already closed is left untouched.",
    )
    p.add_argument("log", type=Path, help="the inspection log (.h5)")
    p.add_argument("--force", action="store_true",
                   help="close it even where whether its writer still runs cannot be told (another host, "
                   "a log that does not name its writer); make sure no process writes it")
    p.set_defaults(func=cmd_log_close)


COMMANDS = {"log": add_log}
