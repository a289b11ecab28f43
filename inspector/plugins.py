"""Plugin discovery through entry points, one group per kind, each plugin isolated.

A plugin is an entry point in `inspector.sources`, `inspector.models`,
`inspector.explainers` or `inspector.commands` (commands of the command line);
the built-ins register through the same groups in this project's
pyproject.toml, so a third-party package does exactly what they do. Loading one plugin is wrapped on its own (as npe2's discovery does,
and unlike pluggy's `load_setuptools_entrypoints`): a plugin that fails to
import or to start is kept with its name, distribution and error, and the rest
of the application goes on.
"""

from __future__ import annotations

import importlib.metadata as metadata
import traceback
from dataclasses import dataclass, field
from typing import Any, Iterable, Optional

from inspector.errors import InspectorError

GROUPS = {
    "sources": "inspector.sources",
    "models": "inspector.models",
    "explainers": "inspector.explainers",
    "commands": "inspector.commands",
}

LOADED, IMPORT_FAILED, START_FAILED = "loaded", "failed to import", "failed to start"

PROJECT = "inspector"  # this project's distribution (pyproject.toml's name): its plugins are the built-ins


class PluginError(InspectorError):
    """A plugin that is not installed, failed to import, or failed to start."""


@dataclass
class Plugin:
    """One entry point and what became of it."""

    kind: str  # "sources", "models", "explainers" or "commands"
    name: str
    value: str  # "module:attribute"
    distribution: str  # "name version" of the package that declares it
    project: str = ""  # that package's name alone, "" when unknown: tells the built-ins from the others
    status: str = "not loaded"
    error: str = ""  # one line: exception type and message
    message: str = ""  # the whole error, every line, with the errors it came from (`plugins --verbose`)
    details: str = ""  # the traceback, for `inspector --debug plugins`
    obj: Any = field(default=None, repr=False)
    entry_point: Optional[metadata.EntryPoint] = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return self.status == LOADED

    @property
    def builtin(self) -> bool:
        return self.project == PROJECT

    def fail(self, status: str, exc: BaseException) -> None:
        self.status = status
        # One line in listings and in the errors of `run`; the rest is in `message`.
        lines = str(exc).strip().splitlines() or [""]
        self.error = f"{type(exc).__name__}: {lines[0]}".strip().rstrip(":") + (" …" if len(lines) > 1 else "")
        self.message = _error_chain(exc)
        self.details = "".join(traceback.format_exception(exc))
        self.obj = None


def _error_chain(exc: BaseException) -> str:
    """`exc` and the exceptions it came from, each as `Type: message`, without the frames: what a user
    can act on (a missing library, a bad path), where the traceback is for the plugin's author."""
    parts, seen = [], set()
    te: Optional[traceback.TracebackException] = traceback.TracebackException.from_exception(exc)
    while te is not None and id(te) not in seen:
        seen.add(id(te))
        parts.append("".join(te.format_exception_only()).rstrip())
        te = te.__cause__ or (None if te.__suppress_context__ else te.__context__)
    return "\ncaused by: ".join(parts)


def _distribution_of(ep: metadata.EntryPoint) -> tuple[str, str]:
    """The name of the package that declares `ep` ("" when unknown), and its "name version" ("?")."""
    dist = getattr(ep, "dist", None)
    if dist is None:
        return "", "?"
    name = dist.metadata["Name"]
    return name, f"{name} {dist.version}"


class PluginRegistry:
    """The plugins found in this environment; load each on first use, never raise while discovering."""

    def __init__(self, plugins: Iterable[Plugin]):
        self._plugins: dict[tuple[str, str], Plugin] = {}
        for p in plugins:
            key = (p.kind, p.name)
            if key in self._plugins:  # two distributions claim one name: keep the first, say so
                other = self._plugins[key]
                p.status = "shadowed"
                p.error = f"another plugin named {p.name!r} comes from {other.distribution}"
                self._plugins[(p.kind, f"{p.name} ({p.distribution})")] = p
                continue
            self._plugins[key] = p

    @classmethod
    def discover(cls, extra: Optional[dict[str, list[metadata.EntryPoint]]] = None) -> "PluginRegistry":
        """Every entry point of every group; `extra` adds entry points per kind (tests inject them)."""
        plugins = []
        for kind, group in GROUPS.items():
            found = list(metadata.entry_points(group=group)) + list((extra or {}).get(kind, []))
            for ep in found:
                project, distribution = _distribution_of(ep)
                plugins.append(Plugin(kind, ep.name, ep.value, distribution, project, entry_point=ep))
        return cls(plugins)

    def load(self, kind: str, name: str) -> Plugin:
        """The plugin `name` of `kind`, imported (once); its status says whether that worked."""
        p = self._plugins.get((kind, name))
        if p is None:
            raise PluginError(f"no {kind[:-1]} plugin named {name!r} (installed: {', '.join(self.names(kind)) or 'none'})")
        if p.status == "not loaded":
            try:
                p.obj = p.entry_point.load()
                p.status = LOADED
            except BaseException as exc:  # a broken plugin may raise anything, even SystemExit
                if isinstance(exc, KeyboardInterrupt):
                    raise
                p.fail(IMPORT_FAILED, exc)
        return p

    def load_all(self) -> list[Plugin]:
        """Import every plugin (for `inspector plugins`); failures are recorded, not raised."""
        return [self.load(kind, name) for kind, name in list(self._plugins) if self._plugins[(kind, name)].status != "shadowed"]

    def get(self, kind: str, name: str) -> Any:
        """The loaded object of a plugin, or PluginError saying why it cannot be had."""
        p = self.load(kind, name)
        if not p.ok:
            raise PluginError(f"{kind[:-1]} plugin {name!r} from {p.distribution} {p.status}: {p.error}")
        return p.obj

    def start(self, kind: str, name: str, *args: Any, **kwargs: Any) -> Any:
        """Call the plugin's object (a class or factory) with the arguments; a failure is recorded on
        the plugin and raised as PluginError, unless it is an InspectorError of bad options, which is
        the caller's to fix and passes through unchanged."""
        factory = self.get(kind, name)
        try:
            return factory(*args, **kwargs)
        except InspectorError:
            raise
        except Exception as exc:
            self._plugins[(kind, name)].fail(START_FAILED, exc)
            raise PluginError(f"{kind[:-1]} plugin {name!r} failed to start: {type(exc).__name__}: {exc}") from exc

    def names(self, kind: str) -> list[str]:
        return sorted(n for k, n in self._plugins if k == kind)

    def builtins(self, kind: str) -> list[str]:
        """This project's own plugins of `kind`, in the order its installed metadata lists them."""
        return [n for (k, n), p in self._plugins.items() if k == kind and p.builtin and p.status != "shadowed"]

    def plugins(self, kind: Optional[str] = None) -> list[Plugin]:
        return [p for (k, _), p in sorted(self._plugins.items()) if kind is None or k == kind]

    def failures(self) -> list[Plugin]:
        return [p for p in self.plugins() if p.status in (IMPORT_FAILED, START_FAILED, "shadowed")]


def make_entry_point(name: str, value: str, kind: str) -> metadata.EntryPoint:
    """An entry point built in memory, as a test or an embedding application injects one."""
    return metadata.EntryPoint(name=name, value=value, group=GROUPS[kind])
