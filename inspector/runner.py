"""From command-line choices to a running pipeline: plugins, model, rig and a status line (Ctrl-C
and SIGTERM: `inspector.signals`).

Shared by `inspector run` and the headless demo, so both run the same engine the
GUI drives.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Optional, TextIO

from inspector.acquisition import Source, option_help
from inspector.errors import InspectorError
from inspector.plugins import GROUPS, PluginRegistry


def open_source(registry: PluginRegistry, name: str, options: dict) -> Source:
    """The source plugin `name` started with `options` (strings from the command line)."""
    source = registry.start("sources", name, **options)
    if not isinstance(source, Source):
        raise InspectorError(f"source plugin {name!r} did not give a Source (got {type(source).__name__})")
    return source


def load_model_choice(registry: PluginRegistry, choice: Optional[str], device) -> object:
    """`--model`: a checkpoint path, or the name of a model plugin (default: the shipped model)."""
    from inspector.model.checkpoint import load_model

    if choice is None:
        return load_model(device=device)
    path = Path(choice)
    if path.suffix == ".pt" or path.exists() or "/" in choice:
        return load_model(path, device=device)
    return registry.start("models", choice, device=device)


def load_rig_choice(path: Optional[str]):
    from calibration import Rig, load_default_rig

    return load_default_rig() if path is None else Rig.load(path)


class StatusPrinter:
    """Prints the pipeline's status line every `every` seconds on its own thread: over itself on a
    terminal, as new lines otherwise (logs, pipes)."""

    def __init__(self, pipeline, stream: TextIO = sys.stderr, every: Optional[float] = None):
        self.pipeline = pipeline
        self.stream = stream
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.every = every if every is not None else (0.5 if self.tty else 5.0)
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="inspector-status", daemon=True)
        self._width = 0

    def _loop(self) -> None:
        while not self._done.wait(self.every):
            self.print_line()

    def print_line(self) -> None:
        line = self.pipeline.stats().status_line()
        if self.tty:
            pad = max(0, self._width - len(line))
            self.stream.write("\r" + line + " " * pad)
            self._width = len(line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def message(self, text: str) -> None:
        """A line above the status line (a bad frame, a warning)."""
        if self.tty and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self._width = 0
        self.stream.write(text + "\n")
        self.stream.flush()

    def __enter__(self) -> "StatusPrinter":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._thread.join()
        if self.tty and self._width:
            self.stream.write("\n")
            self.stream.flush()


def format_summary(stats, source: Source, out: Optional[Path] = None) -> list[str]:
    """The lines printed when a run ends; `out` is where the log was asked for."""
    c = source.counters
    lines = [
        f"stopped: {stats.stopped or 'done'}",
        f"inspected {stats.inspected} in {stats.elapsed_s:.1f} s ({stats.throughput:.1f} pairs/s); "
        + (f"OK ({stats.ok_class}) {stats.ok_count}, NOK {stats.nok_count}: " if stats.ok_class else "")
        + ", ".join(f"{k} {v}" for k, v in stats.per_class.items()),
        f"dropped {stats.dropped} in the pipeline, {c.dropped} in the source; bad frames {stats.bad_frames}; "
        f"source errors {stats.source_errors}; read timeouts {c.timeouts}; reconnects {c.reconnects}",
        "latency per pair (ms): " + ", ".join(stats.latency_parts()),
    ]
    if stats.incomplete or stats.unpaired:
        lines.append(f"camera frames not inspected: {stats.incomplete} incomplete (damaged on the way), "
                     f"{stats.unpaired} unpaired (their partner never came)")
    lines += lost_lines(stats)
    if stats.log_files:
        lines.append(f"written {stats.written} records to {', '.join(stats.log_files)}")
    elif out is not None:
        lines.append(f"no record, so no log created at {out}")
    else:
        lines.append("not logged (no --out)")
    if stats.last_error:
        lines.append(f"last error: {stats.last_error}")
    return lines


def lost_lines(stats) -> list[str]:
    """One line per camera the run lost: still lost at the end (and why), or back, with the time away."""
    lines = []
    for name, seconds in sorted(stats.lost_s.items()):
        if name in stats.lost:
            lines.append(f"{name} LOST at the end: {stats.lost[name]} (lost {seconds:.1f} s in all)")
        else:
            lines.append(f"{name} was lost for {seconds:.1f} s in all, and came back")
    for name in sorted(set(stats.lost) - set(stats.lost_s)):  # stats from a source the pipeline never watched
        lines.append(f"{name} LOST at the end: {stats.lost[name]}")
    return lines


def describe_plugins(registry: PluginRegistry, verbose: bool = False, debug: bool = False) -> list[str]:
    """`inspector plugins`: every plugin with its status, distribution and error; source options.
    verbose: a failure's whole error with its causes; debug: its traceback as well."""
    registry.load_all()
    lines = []
    for kind in GROUPS:
        plugins = registry.plugins(kind)
        lines.append(f"{kind}:")
        if not plugins:
            lines.append("  (none installed)")
        for p in plugins:
            lines.append(f"  {p.name:<14} {p.status:<17} {p.distribution:<22} {p.value}")
            if p.error:
                lines.append(f"  {'':<14} error: {p.error}")
            if verbose and p.message and p.message != p.error:
                lines += ["    " + t for t in p.message.rstrip().splitlines()]
            if debug and p.details:
                lines += ["    " + t for t in p.details.rstrip().splitlines()]
            if kind == "sources" and p.ok and isinstance(p.obj, type) and issubclass(p.obj, Source):
                for name, default, text in option_help(p.obj):
                    lines.append(f"  {'':<14}   {name + '=' + default:<22} {text}")
    return lines
