"""Display frames made by hand, for feeding the operator view a known sequence without a model."""

from __future__ import annotations

import numpy as np

from ui.display_frame import DisplayFrame
from ui.live_run import Taken

CLASSES = ("correct", "missing", "skewed")
SIZE = 32


def frame(cavity: int, cls: str, *, t: float = 1.79e9, n: int = 0, m: float = -0.79,
          classes=CLASSES) -> DisplayFrame:
    """Cavity `cavity` judged `cls` with P = 0.9, curves computed (m, camera 1) for NOKs."""
    k = classes.index(cls)
    probs = np.full(len(classes), 0.1 / (len(classes) - 1), np.float32)
    probs[k] = 0.9
    rng = np.random.default_rng(n)
    view = rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)
    ok = cls == "correct"
    p = np.linspace(0.0, 1.0, 11)
    curves = np.full((3, 11), np.nan, np.float32) if ok else np.stack([1 - p, 1 - p ** 2, np.ones(11)]).astype(np.float32)
    return DisplayFrame(view1=view, view2=view.copy(), heat=rng.integers(0, 256, (2, 4, SIZE, SIZE), dtype=np.uint8),
                        probs=probs, classes=tuple(classes), predicted=k, target=k, p=p, curves=curves,
                        m=float("nan") if ok else m, influence="" if ok else "camera 1", cavity_id=cavity,
                        frame_ids=(n, n), timestamp=t + n)


class FakeFeed:
    """Stands in for a `LiveRun`: `take()` hands out what `deliver` queued, as the worker would."""

    display_error = None

    def __init__(self):
        self.taken = Taken()

    def deliver(self, *frames: DisplayFrame) -> None:
        for f in frames:
            self.taken.latest = f
            self.taken.by_cavity[f.cavity_id] = f
            if not f.is_ok:
                self.taken.noks.append(f)
                self.taken.nok_counts[f.cavity_id] = self.taken.nok_counts.get(f.cavity_id, 0) + 1

    def take(self) -> Taken:
        taken, self.taken = self.taken, Taken()
        return taken


def feed(view, *batches) -> FakeFeed:
    """Deliver each batch of frames and draw it through the view's own draw path."""
    fake = FakeFeed()
    view._feed = fake
    for batch in batches:
        fake.deliver(*batch)
        view._draw_latest()
    return fake
