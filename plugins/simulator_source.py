"""The simulated line as a live source: shots of cavities on a clock, raw camera images, ground truth.

A real line fires the cameras once per shot whether or not the inspection keeps
up, so the simulator keeps a schedule too: `rate` shots per second, each of
`cavities` cavities, and a read that comes late gets the shot due now, not the
backlog (the ones it skipped are counted as dropped, as a camera would lose
them). `rate=0` hands out pairs as fast as they are asked for. `prerender=N`
renders N pairs once at open and cycles them: the benchmark uses it so that the
simulator's rendering does not compete with the inspection for the CPU.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Optional

from inspector.acquisition import EndOfSource, FramePair, Source, SourceError, sleep_until
from inspector.synth.line import SimulatedLine
from inspector.synth.scene import CLASSES


def parse_mix(text: str) -> Optional[tuple[float, ...]]:
    """"correct=2,missing=1,skewed=1" (or "2,1,1") → proportions in CLASSES order; "" → balanced."""
    if not text:
        return None
    weights = dict.fromkeys(CLASSES, 0.0)
    parts = [p.strip() for p in text.split(",") if p.strip()]
    try:
        if all("=" in p for p in parts):
            for p in parts:
                k, v = p.split("=", 1)
                if k.strip() not in weights:
                    raise SourceError(f"source simulator: mix names {k.strip()!r}, not one of {', '.join(CLASSES)}")
                weights[k.strip()] = float(v)
        elif len(parts) == len(CLASSES):
            weights = dict(zip(CLASSES, map(float, parts)))
        else:
            raise ValueError
    except ValueError:
        raise SourceError(
            f"source simulator: mix {text!r} is not CLASS=WEIGHT,… or {len(CLASSES)} weights"
        ) from None
    values = tuple(weights[c] for c in CLASSES)
    if any(v < 0 for v in values) or sum(values) <= 0:
        raise SourceError(f"source simulator: mix {text!r} needs non-negative weights that sum above 0")
    return values


class SimulatorSource(Source):
    name = "simulator"
    simulated = True
    raw = True

    @dataclass
    class Options:
        rate: float = field(default=5.0, metadata={"help": "shots per second (0: as fast as read)"})
        cavities: int = field(default=2, metadata={"help": "cavities per shot"})
        mix: str = field(default="", metadata={"engineer": True,
            "help": "class mix, e.g. correct=2,missing=1,skewed=1 (default: equal)"})
        hidden_share: float = field(default=0.25, metadata={"engineer": True,
            "help": "share of cavities one camera cannot see"})
        seed: int = field(default=0, metadata={"engineer": True,
            "help": "seed of the cavities (same seed, same cavities)"})
        count: int = field(default=0, metadata={"help": "end after this many pairs (0: never)"})
        prerender: int = field(default=0, metadata={"engineer": True,
            "help": "render this many pairs at open and cycle them"})

    def __init__(self, **options):
        super().__init__(**options)
        o = self.options
        if o.rate < 0:
            raise SourceError(f"source simulator: rate must be ≥ 0, got {o.rate}")
        if o.cavities < 1:
            raise SourceError(f"source simulator: cavities must be ≥ 1, got {o.cavities}")
        if not 0.0 <= o.hidden_share <= 1.0:
            raise SourceError(f"source simulator: hidden_share must be within [0, 1], got {o.hidden_share}")
        if o.seed < 0:
            raise SourceError(f"source simulator: seed must be ≥ 0, got {o.seed}")
        if o.count < 0 or o.prerender < 0:
            raise SourceError("source simulator: count and prerender must be ≥ 0")
        self.class_mix = parse_mix(o.mix)
        self.line: Optional[SimulatedLine] = None
        self._cache: list = []

    def _open(self) -> None:
        self.line = SimulatedLine()
        self._index = 0  # next pair to hand out
        self._start = time.monotonic()
        self._cache = [self._render(i) for i in range(self.options.prerender)]

    def _render(self, index: int):
        o = self.options
        scene = self.line.draw(index, o.seed, hidden_share=o.hidden_share, class_mix=self.class_mix)
        raw1, raw2 = self.line.render_raw(scene)
        return scene, raw1, raw2

    def _read(self, timeout: float) -> Optional[FramePair]:
        o = self.options
        if o.count and self._index >= o.count:
            raise EndOfSource(f"simulator: {o.count} pairs delivered")
        shot, cavity = divmod(self._index, o.cavities)
        if o.rate > 0:
            due = self._start + shot / o.rate
            now = time.monotonic()
            if due > now + timeout:
                sleep_until(now + timeout)
                return None
            late_shots = int((now - self._start) * o.rate) - shot
            if late_shots > 0 and cavity == 0:  # shots fired while nobody read: lost, as on a line
                skipped = late_shots * o.cavities
                if o.count:
                    skipped = min(skipped, o.count - self._index - 1)
                self.counters.dropped += max(0, skipped)
                self._index += max(0, skipped)
                shot, cavity = divmod(self._index, o.cavities)
                due = self._start + shot / o.rate
            sleep_until(due)
        i = self._index
        self._index += 1
        scene, raw1, raw2 = self._cache[i % len(self._cache)] if self._cache else self._render(i)
        t = time.time()
        hidden = next((f"camera {k + 1} {c.hide}" for k, c in enumerate(scene.cameras) if c.hide), "")
        return FramePair(
            image1=raw1,
            image2=raw2,
            cavity_id=cavity + 1,
            frame_ids=(i, i),
            timestamps=(t, t),
            truth=scene.label,
            meta={"evidence": scene.evidence, "hidden": hidden, "index": i},
        )

    def _close(self) -> None:
        self._cache = []
