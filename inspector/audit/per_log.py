"""What the audit found in each log on its own: records, OK/NOK by the log's own OK class, per-class counts,
the first and last record time, and why a log or a range of it was not audited.

The merged `Summary` answers "what did the line do"; this answers "which log says so", the question an
auditor asks when one shift looks different. Counts come from each task's summary before the merge
(merging adds into the first summary in place), so they need no second pass over the logs.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field

from inspector.classes import ClassSet


@dataclass
class LogCounts:
    """One log's counts over its audited ranges (a failed range adds to `failed`, not to the counts)."""

    path: str
    classes: tuple[str, ...] = ()
    ok_class: str = ""
    records: int = 0
    per_class: dict = field(default_factory=dict)
    t_first: float = float("nan")
    t_last: float = float("nan")
    failed: list = field(default_factory=list)  # "records a–b: reason"

    def add(self, summary) -> None:
        if not self.classes:
            self.classes, self.ok_class = tuple(summary.classes), summary.ok_class
            self.per_class = dict.fromkeys(self.classes, 0)
        self.records += summary.records
        for c, n in summary.per_class.items():
            self.per_class[c] = self.per_class.get(c, 0) + n
        if summary.t_first == summary.t_first:
            self.t_first = summary.t_first if self.t_first != self.t_first else min(self.t_first, summary.t_first)
        if summary.t_last == summary.t_last:
            self.t_last = summary.t_last if self.t_last != self.t_last else max(self.t_last, summary.t_last)

    @property
    def ok(self) -> int:
        """Records predicted as this log's OK class."""
        if not self.classes:
            return 0
        return self.per_class.get(ClassSet.of(self.classes, self.ok_class or None).ok, 0)

    @property
    def nok(self) -> int:
        return self.records - self.ok


def iso_utc(t: float) -> str:
    """Epoch seconds as ISO 8601 in UTC ("2026-03-02T06:00:01.250Z"); "" for NaN (no records)."""
    if t != t:
        return ""
    moment = _dt.datetime.fromtimestamp(t, tz=_dt.timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def per_log_rows(result) -> list[dict]:
    """A row per log in the order given: plain data for summary.json and the report's table.
    `status` is "audited", "partly audited" (some ranges failed), "skipped" or "not reached" (cancelled
    before any of its ranges finished); `reason` says why where it is not "audited"."""
    rows = []
    for info in result.logs:
        counts = result.per_log.get(info.path) or LogCounts(info.path)
        if info.skipped:
            status, reason = "skipped", info.skipped
        elif counts.failed:
            status, reason = "partly audited" if counts.records else "failed", "; ".join(counts.failed)
        elif counts.records < info.records and result.cancelled:
            status, reason = "not reached" if not counts.records else "partly audited", "the audit was cancelled"
        else:
            status, reason = "audited", ""
        rows.append({
            "log": info.path, "records_in_log": info.records, "records": counts.records,
            "ok_class": counts.ok_class, "ok": counts.ok, "nok": counts.nok, "per_class": dict(counts.per_class),
            "first_time": iso_utc(counts.t_first), "last_time": iso_utc(counts.t_last),
            "status": status, "reason": reason,
        })
    return rows
