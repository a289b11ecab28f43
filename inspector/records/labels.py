"""Engineer labels: an append-only JSON Lines file beside the log.

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


def labels_path(log: str | Path) -> Path:
    log = Path(log)
    return log.with_name(log.name + ".labels.jsonl")


class LabelStore:
    def __init__(self, log: str | Path):
        self.log = Path(log)
        self.path = labels_path(log)

    def add(self, record: int, verdict: str, comment: str = "", who: Optional[str] = None) -> Label:
        if verdict not in VERDICTS:
            raise RecordsError(f"label {verdict!r} is not one of {', '.join(VERDICTS)}")
        if not isinstance(record, int) or record < 0:
            raise RecordsError(f"record index must be a non-negative integer, got {record!r}")
        label = Label(
            record=record,
            verdict=verdict,
            comment=str(comment),
            who=who or getpass.getuser(),
            when=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
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
