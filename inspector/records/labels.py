"""Engineer labels: an append-only JSON Lines file beside the log.

A label is the engineer's verdict (OK, NOK or unsure) and, where they know it,
the record's true class (any of the model's classes): what `inspector dataset
from-logs` turns into training pairs.

Labels never touch the log itself, so labelling cannot damage an inspection
record, and each line is one complete label: a crash leaves at most one
unfinished last line, which reading skips. The newest label of a record wins;
the older ones stay as its history.
"""

from __future__ import annotations

import datetime as _dt
import getpass
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional

from inspector.records.errors import RecordsError

VERDICTS = ("OK", "NOK", "unsure")


@dataclass(frozen=True)
class Label:
    record: int
    verdict: str
    comment: str
    who: str
    when: str  # ISO 8601, UTC
    true_class: str = ""  # the class the engineer says the record is; "" when not given (older labels)


def labels_path(log: str | Path) -> Path:
    log = Path(log)
    return log.with_name(log.name + ".labels.jsonl")


class LabelStore:
    def __init__(self, log: str | Path):
        self.log = Path(log)
        self.path = labels_path(log)

    def add(self, record: int, verdict: str, comment: str = "", who: Optional[str] = None,
            true_class: str = "") -> Label:
        """Append a label. `true_class`, when given, must agree with the verdict: the caller checks that
        it is one of the log's classes and that OK goes with the OK class (`true_class_error`)."""
        if verdict not in VERDICTS:
            raise RecordsError(f"label {verdict!r} is not one of {', '.join(VERDICTS)}")
        if verdict == "unsure" and true_class:
            raise RecordsError(f"an unsure label names no true class, got {true_class!r}")
        if not isinstance(record, int) or record < 0:
            raise RecordsError(f"record index must be a non-negative integer, got {record!r}")
        label = Label(
            record=record,
            verdict=verdict,
            comment=str(comment),
            who=who or getpass.getuser(),
            when=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            true_class=str(true_class),
        )
        line = json.dumps(asdict(label), ensure_ascii=False) + "\n"
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())
        return label

    def history(self) -> list[Label]:
        """Every label ever given, oldest first (a torn last line is skipped)."""
        if not self.path.exists():
            return []
        out = []
        with open(self.path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                try:
                    out.append(Label(**json.loads(line)))
                except (json.JSONDecodeError, TypeError):
                    if line.endswith("\n"):  # a complete line that is not a label: not ours to ignore
                        raise RecordsError(f"{self.path}: line {n} is not a label") from None
        return out

    def current(self) -> dict[int, Label]:
        """The newest label of each labelled record."""
        return {label.record: label for label in self.history()}


def true_class_error(verdict: str, true_class: str, classes, ok_class: str) -> str:
    """Why `true_class` cannot go with `verdict` for a log of `classes` ("" when it can)."""
    if not true_class:
        return ""
    if true_class not in classes:
        return f"class {true_class!r} is not one of the model's classes ({', '.join(classes)})"
    if verdict == "OK" and true_class != ok_class:
        return f"OK means class {ok_class!r}, not {true_class!r}"
    if verdict == "NOK" and true_class == ok_class:
        return f"NOK cannot be class {ok_class!r}, the OK class"
    if verdict == "unsure":
        return "an unsure label names no true class"
    return ""
