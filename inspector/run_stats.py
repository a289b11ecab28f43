"""A run's counters as the pipeline reports them (`RunStats`), the running latency means per stage,
and the stages' names as people read them."""

from __future__ import annotations

import collections
import math
from dataclasses import dataclass, field

import numpy as np

from inspector.records.schema import TIMING_NAMES

# A stage's name as people read it, where that differs from its key (TIMING_NAMES): the status line,
# the summary and the GUI have always called the pair's wait in the slot "wait"; logs on disk call it
# "acquire", so the key keeps that name.
STAGE_LABELS = {"acquire": "wait"}


def stage_label(stage: str) -> str:
    return STAGE_LABELS.get(stage, stage)


@dataclass
class RunStats:
    """A snapshot of a run, safe to read from any thread."""

    elapsed_s: float = 0.0
    acquired: int = 0  # pairs the source delivered and the IPM accepted
    inspected: int = 0
    written: int = 0
    per_class: dict = field(default_factory=dict)  # the model's classes, in its order → inspections predicted as it
    ok_class: str = ""  # which of them is OK ("" before a model is known)
    dropped: int = 0  # pushed out of the slot, or discarded at stop
    source_dropped: int = 0  # lost inside the source (a live camera's or the line's own)
    bad_frames: int = 0
    source_errors: int = 0
    timeouts: int = 0
    reconnects: int = 0  # cameras that came back (the source's count)
    incomplete: int = 0  # frames a camera delivered damaged, never inspected
    unpaired: int = 0  # frames whose partner never came, never inspected
    lost: dict = field(default_factory=dict)  # cameras that do not answer now: name → why
    lost_s: dict = field(default_factory=dict)  # every camera lost in this run → seconds lost in all
    latency_ms: dict = field(default_factory=dict)  # mean over the last 100 inspections, per stage
    throughput: float = 0.0  # inspections per second over the run
    recent_throughput: float = 0.0  # over the last few seconds
    log_files: tuple = ()
    stopped: str = ""  # why the run ended, once it has
    last_error: str = ""

    @property
    def ok_count(self) -> int:
        return self.per_class.get(self.ok_class, 0)

    @property
    def nok_count(self) -> int:
        return sum(v for k, v in self.per_class.items() if k != self.ok_class)

    def latency_parts(self) -> list[str]:
        """"<stage> <ms>" for each stage with a mean, as the status line and the summary print them."""
        return [f"{stage_label(k)} {v:.1f}" for k, v in self.latency_ms.items() if not math.isnan(v)]

    def lost_text(self) -> str:
        """"camera 1 (why); camera 2 (why)" for the cameras lost now, "" while all answer."""
        return "; ".join(f"{name} ({why})" for name, why in sorted(self.lost.items()))

    def status_line(self) -> str:
        # A lost camera goes first: the counters behind it stand still, and would read as a quiet line.
        lost = f"LOST {self.lost_text()}  " if self.lost else ""
        classes = " ".join(f"{k} {v}" for k, v in self.per_class.items())
        lat = " ".join(self.latency_parts())
        return (
            f"{lost}{self.elapsed_s:6.1f} s  inspected {self.inspected} ({self.recent_throughput:.1f}/s)  {classes}  "
            f"dropped {self.dropped + self.source_dropped}  bad {self.bad_frames}  errors {self.source_errors}  "
            f"ms: {lat}"
        )


class LatencyMeans:
    """Running means over the last `n` values per stage."""

    def __init__(self, n: int = 100):
        self.values = {k: collections.deque(maxlen=n) for k in TIMING_NAMES}

    def add(self, stage: str, seconds: float) -> None:
        self.values[stage].append(seconds)

    def means_ms(self) -> dict:
        return {k: (1e3 * float(np.mean(v)) if v else float("nan")) for k, v in self.values.items()}
