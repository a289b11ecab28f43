"""A model's classes and which of them is OK: the one place that decides OK from NOK and a class's colour.

The class names live in the checkpoint (and from there in every log): any names,
any count from two up, one of them the OK class. Everything that shows or counts
a verdict (the operator banner, counters, review filters, audit, study) asks a
`ClassSet` instead of comparing with a name of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

from inspector.errors import InspectorError

DEFAULT_OK_CLASS = "correct"
OK_COLOUR = "#2e7d32"
# NOK classes in turn: red first, then colours far from green and from each other (Okabe–Ito-like).
NOK_COLOURS = ("#c62828", "#ef6c00", "#6a1b9a", "#1565c0", "#ad1457", "#4e342e", "#00838f", "#9e9d24")
MAX_CLASSES = 256  # a log stores the predicted class as one byte


def default_ok_class(classes: Sequence[str]) -> str:
    """The OK class of a model or log that does not name one: `correct` where there is such a class
    (every model and log made before classes became the user's), else the first class."""
    return DEFAULT_OK_CLASS if DEFAULT_OK_CLASS in classes else str(classes[0])


def check_classes(classes: Sequence[str], ok_class: Optional[str], where: str) -> tuple[tuple[str, ...], str]:
    """`(classes, ok_class)` checked: at least two distinct non-empty names (printable, no newline), and an
    OK class among them (the default rule when `ok_class` is None). Refused with an error naming `where`."""
    names = tuple(str(c) for c in classes)
    if len(names) < 2:
        raise InspectorError(f"{where}: a model needs at least two classes, got {len(names)} ({', '.join(names)})")
    if len(names) > MAX_CLASSES:
        raise InspectorError(f"{where}: {len(names)} classes; at most {MAX_CLASSES} are supported")
    bad = [c for c in names if not c.strip() or c != c.strip() or not c.isprintable()]
    if bad:
        raise InspectorError(f"{where}: class name {bad[0]!r} is empty, padded or not printable")
    dup = sorted({c for c in names if names.count(c) > 1})
    if dup:
        raise InspectorError(f"{where}: class {dup[0]!r} is named twice")
    ok = default_ok_class(names) if ok_class is None else str(ok_class)
    if ok not in names:
        raise InspectorError(f"{where}: OK class {ok!r} is not one of the classes ({', '.join(names)})")
    return names, ok


@dataclass(frozen=True)
class ClassSet:
    """Class names in logit order and the one that means OK."""

    names: tuple[str, ...]
    ok: str

    def __post_init__(self) -> None:
        if self.ok not in self.names:
            raise InspectorError(f"OK class {self.ok!r} is not one of the classes ({', '.join(self.names)})")

    @classmethod
    def of(cls, classes: Sequence[str], ok_class: Optional[str] = None) -> "ClassSet":
        names = tuple(str(c) for c in classes)
        return cls(names, default_ok_class(names) if not ok_class else str(ok_class))

    @classmethod
    def of_model(cls, model) -> "ClassSet":
        """A model's classes; its `ok_class` where it has one (every inspector checkpoint does)."""
        return cls.of(model.classes, getattr(model, "ok_class", None))

    @property
    def ok_index(self) -> int:
        return self.names.index(self.ok)

    @property
    def nok(self) -> tuple[str, ...]:
        return tuple(c for c in self.names if c != self.ok)

    def is_ok(self, index: int) -> bool:
        """Whether class number `index` (a prediction, a label) is the OK class."""
        return self.names[int(index)] == self.ok

    def colour(self, name: str) -> str:
        """Green for the OK class; the NOK classes take the NOK colours in their order."""
        if name == self.ok:
            return OK_COLOUR
        return NOK_COLOURS[self.nok.index(name) % len(NOK_COLOURS)]

    def colours(self) -> dict[str, str]:
        return {c: self.colour(c) for c in self.names}
