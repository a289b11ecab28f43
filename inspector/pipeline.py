"""The live pipeline: source → IPM → model and explainer → record writer, headless.

Three threads, each owning one resource: the acquisition thread owns the source
and does the IPM (cheap, and it overlaps the model's work); the caller's thread
runs the model and the explainer on batches; the writer thread owns the log.
Between acquisition and the model sits a bounded latest-frames slot: a pair that
arrives while the slot is full pushes out the oldest, which is counted as dropped,
so a slow model never builds an unbounded backlog and always works on the newest
cavities. Between the model and the writer sits a bounded queue that blocks
instead: once inspected, a record is never dropped.

`stop()` only sets an event, so it is safe from a signal handler or another
thread: the batch in flight finishes and is written, pairs still waiting in the
slot are discarded (and counted), and the log is closed valid.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import math
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from inspector.acquisition import EndOfSource, FrameError, FramePair, Source
from inspector.errors import ImageError, InspectorError
from inspector.records import Inspection, Layout, RecordWriter, RotatingWriter

log = logging.getLogger("inspector.pipeline")

CURVE_POLICIES = ("all", "nok", "none")
STAGES = ("wait", "ipm", "model", "explain", "write")  # latency shown per stage


class PipelineError(InspectorError):
    """The pipeline cannot start or had to stop (bad configuration, a failing source or log)."""


@dataclass
class PipelineConfig:
    curves: str = "nok"  # which cavities get the masked-input curves: all, nok (not `correct`), none
    batch: int = 8  # most pairs the model takes at once
    slot: int = 0  # capacity of the latest-frames slot; 0: the batch size
    keep_all: bool = False  # wait for room in the slot instead of dropping (for folders and files)
    max_records: int = 0  # stop after this many inspections (0: no limit)
    max_seconds: float = 0.0  # stop after this long (0: no limit)
    read_timeout: float = 0.2  # seconds a source read may wait (bounds how fast a stop is seen)
    write_queue: int = 64  # inspected records waiting for the writer, at most
    source_error_limit: int = 20  # unexpected source errors in a row before the run gives up
    p: Optional[tuple[float, ...]] = None  # curve grid; None: the explainer's default

    def check(self) -> None:
        if self.curves not in CURVE_POLICIES:
            raise PipelineError(f"curves must be one of {', '.join(CURVE_POLICIES)}, got {self.curves!r}")
        for name in ("batch", "write_queue", "source_error_limit"):
            if getattr(self, name) < 1:
                raise PipelineError(f"{name} must be ≥ 1, got {getattr(self, name)}")
        for name in ("slot", "max_records"):
            if getattr(self, name) < 0:
                raise PipelineError(f"{name} must be ≥ 0, got {getattr(self, name)}")
        if self.max_seconds < 0 or self.read_timeout <= 0:
            raise PipelineError("max_seconds must be ≥ 0 and read_timeout > 0")


@dataclass
class Prepared:
    """A pair ready for the model: both views on the cavity plane, and where it came from."""

    view1: np.ndarray
    view2: np.ndarray
    frame: FramePair
    delivered: float  # time.monotonic() when the source handed it over
    ipm_s: float


@dataclass
class Result:
    """One inspection as the pipeline hands it to callbacks (the GUI, the demo)."""

    inspection: Inspection
    truth: Optional[str]  # the class, where the source knows it
    meta: dict
    latency_s: float  # from the source's delivery to the end of the explanation


@dataclass
class BadFrame:
    reason: str
    cavity_id: int
    frame_ids: tuple[int, int]
    time: float


@dataclass
class RunStats:
    """A snapshot of a run, safe to read from any thread."""

    elapsed_s: float = 0.0
    acquired: int = 0  # pairs the source delivered and the IPM accepted
    inspected: int = 0
    written: int = 0
    per_class: dict = field(default_factory=dict)
    dropped: int = 0  # pushed out of the slot, or discarded at stop
    source_dropped: int = 0  # lost inside the source (a live camera's or the line's own)
    bad_frames: int = 0
    source_errors: int = 0
    timeouts: int = 0
    latency_ms: dict = field(default_factory=dict)  # mean over the last 100 inspections, per stage
    throughput: float = 0.0  # inspections per second over the run
    recent_throughput: float = 0.0  # over the last few seconds
    log_files: tuple = ()
    stopped: str = ""  # why the run ended, once it has
    last_error: str = ""

    def status_line(self) -> str:
        classes = " ".join(f"{k} {v}" for k, v in self.per_class.items())
        lat = " ".join(f"{k} {v:.1f}" for k, v in self.latency_ms.items() if not math.isnan(v))
        return (
            f"{self.elapsed_s:6.1f} s  inspected {self.inspected} ({self.recent_throughput:.1f}/s)  {classes}  "
            f"dropped {self.dropped + self.source_dropped}  bad {self.bad_frames}  errors {self.source_errors}  "
            f"ms: {lat}"
        )


class LatestFrames:
    """A bounded slot that keeps the newest items: putting one into a full slot pushes out the
    oldest (counted), or, with `block`, waits for room."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self._items: collections.deque = collections.deque()
        self._cond = threading.Condition()
        self.dropped = 0
        self.closed = False

    def put(self, item, *, block: bool = False, stop: Optional[threading.Event] = None) -> None:
        with self._cond:
            while block and len(self._items) >= self.capacity and not self.closed:
                if stop is not None and stop.is_set():
                    self.dropped += 1
                    return
                self._cond.wait(0.1)
            if self.closed:  # arrived after the run stopped taking pairs
                self.dropped += 1
                return
            if len(self._items) >= self.capacity:
                self._items.popleft()
                self.dropped += 1
            self._items.append(item)
            self._cond.notify_all()

    def take(self, most: int, timeout: float) -> list:
        """Up to `most` items, oldest first, waiting up to `timeout` for the first."""
        with self._cond:
            if not self._items and not self.closed:
                self._cond.wait(timeout)
            n = min(most, len(self._items))
            out = [self._items.popleft() for _ in range(n)]
            self._cond.notify_all()
            return out

    def close(self) -> int:
        """No more items; returns how many were still waiting (now discarded)."""
        with self._cond:
            self.closed = True
            left = len(self._items)
            self._items.clear()
            self._cond.notify_all()
            return left

    def __len__(self) -> int:
        return len(self._items)


def _as_uint8(image, name: str) -> np.ndarray:
    """A source's image as H×W×3 uint8, or ImageError saying why it cannot be used."""
    if image is None:
        raise ImageError(f"{name}: missing")
    a = np.asarray(image)
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=2)
    if a.ndim != 3 or a.shape[2] != 3 or a.shape[0] < 2 or a.shape[1] < 2:
        raise ImageError(f"{name}: expected an H×W×3 image, got shape {a.shape}")
    if a.dtype == np.uint8:
        return np.ascontiguousarray(a)
    if a.dtype.kind == "f":
        if not np.all(np.isfinite(a)):
            raise ImageError(f"{name}: contains NaN or infinite values")
        if a.min() < 0.0 or a.max() > 1.0:
            raise ImageError(f"{name}: float pixels must lie in [0, 1], got [{a.min():.3g}, {a.max():.3g}]")
        return np.ascontiguousarray(np.rint(a * 255.0).astype(np.uint8))
    raise ImageError(f"{name}: pixels must be uint8 or float in [0, 1], got {a.dtype}")


class _Latency:
    """Running means over the last `n` values per stage."""

    def __init__(self, n: int = 100):
        self.values = {k: collections.deque(maxlen=n) for k in STAGES}

    def add(self, stage: str, seconds: float) -> None:
        self.values[stage].append(seconds)

    def means_ms(self) -> dict:
        return {k: (1e3 * float(np.mean(v)) if v else float("nan")) for k, v in self.values.items()}


class _LogAtFirstRecord:
    """The one log file of a run, created when its first record is written (as RotatingWriter creates
    each of its files). A run that fails before any pair (a missing folder, an unreadable video) or is
    stopped before one arrives leaves no empty log behind, which would only refuse the retry: a log is
    never overwritten."""

    def __init__(self, path: Path, create: Callable[[], RecordWriter]):
        self.path = path
        self._create = create
        self.writer: Optional[RecordWriter] = None

    @property
    def files(self) -> list[Path]:
        return [self.path] if self.writer is not None else []

    def append(self, rec: Inspection) -> int:
        if self.writer is None:
            self.writer = self._create()
        return self.writer.append(rec)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


class Pipeline:
    """Runs a source through the rig, the model and the explainer into a log.

    source: an unopened `Source` (the pipeline opens and closes it). model: the
    classifier (from `inspector.load_model` or a model plugin). rig: needed when the
    source delivers raw camera images. out: a log file (`.h5`) to create (at the
    first record: a run without one leaves no file), a folder to write rotating logs
    into, or None not to log. explainer: a prepared
    explainer (default: `inspector.explain.Explainer(model)`). on_result and
    on_bad_frame are called on the model's thread for every inspection and every
    skipped frame.
    """

    def __init__(
        self,
        source: Source,
        model,
        *,
        rig=None,
        out: Optional[str | Path] = None,
        explainer=None,
        config: Optional[PipelineConfig] = None,
        device=None,
        retention: str = "all",
        rotate_records: Optional[int] = None,
        on_result: Optional[Callable[[Result], None]] = None,
        on_bad_frame: Optional[Callable[[BadFrame], None]] = None,
    ):
        self.config = config or PipelineConfig()
        self.config.check()
        self.source = source
        self.model = model
        if source.raw and rig is None:
            raise PipelineError(f"source {source.name} delivers raw camera images: a rig is needed to map them")
        self.rig = rig if source.raw else None
        if explainer is None:
            from inspector.explain import GradCAM

            explainer = GradCAM(model, device=device)
        self.explainer = explainer
        self.size = tuple(model.config.input_size) if hasattr(model, "config") else None
        if self.rig is not None and self.size is not None and (self.rig.grid.height, self.rig.grid.width) != self.size:
            raise PipelineError(
                f"the rig maps onto {self.rig.grid.width}×{self.rig.grid.height} px, "
                f"but the model takes {self.size[1]}×{self.size[0]}"
            )
        self.out = Path(out) if out is not None else None
        if self.out is not None:
            if self.out.suffix in (".h5", ".hdf5"):
                if self.out.exists():
                    raise PipelineError(f"{self.out}: already exists; a log is never overwritten")
                if not self.out.parent.is_dir():
                    raise PipelineError(f"{self.out}: folder {self.out.parent} does not exist")
            elif not self.out.is_dir():
                raise PipelineError(f"{self.out}: neither a .h5 file to create nor an existing folder for logs")
        self.retention = retention
        self.rotate_records = rotate_records
        self.on_result = on_result
        self.on_bad_frame = on_bad_frame
        self.correct = list(model.classes).index("correct") if "correct" in getattr(model, "classes", ()) else -1

        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._slot = LatestFrames(self.config.slot or self.config.batch)
        self._records: queue.Queue = queue.Queue(self.config.write_queue)
        self._stats = RunStats(per_class={c: 0 for c in model.classes})
        self._latency = _Latency()
        self._recent: collections.deque = collections.deque(maxlen=256)  # completion times
        self._source_ended = threading.Event()
        self._writer_failed = threading.Event()
        self._started = 0.0
        self.bad_frames: collections.deque = collections.deque(maxlen=200)  # the latest, with reasons

    # -- control --------------------------------------------------------------------------------
    def stop(self, reason: str = "stopped") -> None:
        """Ask the run to end; safe from signal handlers and other threads."""
        with self._lock:
            if not self._stats.stopped:
                self._stats.stopped = reason
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def stats(self) -> RunStats:
        with self._lock:
            s = dataclasses.replace(self._stats, per_class=dict(self._stats.per_class))
        s.elapsed_s = time.monotonic() - self._started if self._started else 0.0
        s.latency_ms = self._latency.means_ms()
        s.dropped += self._slot.dropped
        s.source_dropped = self.source.counters.dropped
        s.timeouts = self.source.counters.timeouts
        s.throughput = s.inspected / s.elapsed_s if s.elapsed_s > 0 else 0.0
        now = time.monotonic()
        recent = [t for t in list(self._recent) if now - t < 5.0]
        window = min(5.0, s.elapsed_s)
        s.recent_throughput = len(recent) / window if window > 0 else 0.0
        return s

    # -- the run --------------------------------------------------------------------------------
    def layout(self) -> Layout:
        """The log layout of this model, from one explanation of a blank pair (which also warms the
        model up, so the first real batch is not the slow one)."""
        h, w = self.size if self.size else (self.rig.grid.height, self.rig.grid.width)
        blank = np.zeros((h, w, 3), np.uint8)
        e = self.explainer.explain_batch(blank[None], blank[None], p=self.config.p, curves=True)[0]
        return Layout(
            classes=tuple(e.classes),
            view_shape=(h, w, 3),
            stage_shapes=tuple(tuple(m.shape) for m in e.stage_maps[0]),
            p=tuple(float(v) for v in e.p),
        )

    def provenance(self) -> dict:
        return {
            "model_sha256": str(getattr(self.model, "sha256", "")),
            "rig_sha256": self.rig.sha256 if self.rig is not None else "",
            "source": self.source.describe(),
            "curves": self.config.curves,
            # Which explainer drew the maps and ordered the masks: a log's m is only comparable with
            # another made the same way.
            "explainer": str(getattr(self.explainer, "label", "") or getattr(self.explainer, "name", "")
                             or type(self.explainer).__name__),
        }

    def _open_writer(self, layout: Layout):
        if self.out is None:
            return None
        options = {"provenance": self.provenance(), "retention": self.retention}
        if self.out.suffix in (".h5", ".hdf5"):
            return _LogAtFirstRecord(self.out, lambda: RecordWriter(self.out, layout, **options))
        return RotatingWriter(self.out, "inspections", layout, max_records=self.rotate_records, **options)

    def run(self) -> RunStats:
        """Run until the source ends, a limit is reached, or `stop()`; returns the final stats."""
        layout = self.layout()
        writer = self._open_writer(layout)
        try:
            self.source.open()
        except BaseException:
            if writer is not None:
                writer.close()
            raise
        self._started = time.monotonic()
        acquire = threading.Thread(target=self._acquire, name="inspector-acquire", daemon=True)
        write = threading.Thread(target=self._write, args=(writer,), name="inspector-write", daemon=True)
        acquire.start()
        write.start()
        try:
            self._inspect()
        except BaseException as exc:
            self.stop("interrupted" if isinstance(exc, KeyboardInterrupt) else f"error: {exc}")
            raise
        finally:
            self._stop.set()
            discarded = self._slot.close()
            acquire.join(timeout=self.config.read_timeout + 5.0)
            self._records.put(None)  # the writer drains what is queued, then closes the log
            write.join()
            try:
                self.source.close()
            finally:
                with self._lock:
                    self._stats.dropped += discarded
                    if writer is not None:
                        self._stats.log_files = tuple(str(f) for f in writer.files)
        return self.stats()

    def _inspect(self) -> None:
        cfg = self.config
        policy = {"all": True, "none": False, "nok": lambda probs: probs.argmax(1) != self.correct}[cfg.curves]
        if cfg.curves == "nok" and self.correct < 0:
            policy = True  # a model without a `correct` class: every decision is worth its curves
        while not self._stop.is_set():
            if cfg.max_seconds and time.monotonic() - self._started >= cfg.max_seconds:
                self.stop(f"{cfg.max_seconds:g} s elapsed")
                break
            most = cfg.batch
            if cfg.max_records:
                most = min(most, cfg.max_records - self._stats.inspected)
                if most <= 0:
                    self.stop(f"{cfg.max_records} inspections done")
                    break
            items: list[Prepared] = self._slot.take(most, timeout=0.1)
            if not items:
                if self._source_ended.is_set() and not len(self._slot):
                    break
                if self._writer_failed.is_set():
                    break
                continue
            t0 = time.monotonic()
            exps = self.explainer.explain_batch(
                np.stack([it.view1 for it in items]), np.stack([it.view2 for it in items]),
                p=cfg.p, curves=policy, batch=len(items),
            )
            t1 = time.monotonic()
            for it, e in zip(items, exps):
                self._emit(it, e, t0, t1)

    def _emit(self, it: Prepared, e, t0: float, t1: float) -> None:
        model_s = float(e.timings.get("maps_s", 0.0))
        explain_s = float(e.timings.get("curves_s", 0.0))
        wait_s = t0 - it.delivered
        frame = it.frame
        rec = Inspection.from_explanation(
            it.view1, it.view2, e,
            timestamp=float(frame.timestamps[0]) or time.time(),
            cavity_id=int(frame.cavity_id),
            source=self.source.name,
            frame_ids=tuple(int(v) for v in frame.frame_ids),
            timings={"acquire": wait_s, "ipm": it.ipm_s, "model": model_s, "explain": explain_s},
            status="ok" if np.all(np.isfinite(e.curves)) else "no-curves",
            simulated=frame.truth is not None and self.source.name == "simulator",
        )
        for stage, v in (("wait", wait_s), ("ipm", it.ipm_s), ("model", model_s), ("explain", explain_s)):
            self._latency.add(stage, v)
        with self._lock:
            self._stats.inspected += 1
            name = e.classes[e.predicted]
            self._stats.per_class[name] = self._stats.per_class.get(name, 0) + 1
        self._recent.append(time.monotonic())
        self._records.put(rec)  # blocks while the writer is behind: a record is never dropped
        if self.on_result is not None:
            self.on_result(Result(rec, frame.truth, frame.meta, t1 - it.delivered))

    # -- acquisition thread ---------------------------------------------------------------------
    def _prepare(self, frame: FramePair) -> Prepared:
        t0 = time.perf_counter()
        images = []
        for k, image in enumerate((frame.image1, frame.image2)):
            images.append(_as_uint8(image, f"camera {frame.camera_ids[k]} image"))
        if self.rig is not None:
            v1 = self.rig.warp("1", images[0], what=f"camera {frame.camera_ids[0]} image")
            v2 = self.rig.warp("2", images[1], what=f"camera {frame.camera_ids[1]} image")
        else:
            v1, v2 = images
            for k, v in enumerate((v1, v2)):
                if self.size is not None and v.shape[:2] != self.size:
                    raise ImageError(
                        f"camera {frame.camera_ids[k]} view is {v.shape[1]}×{v.shape[0]} px, "
                        f"the model takes {self.size[1]}×{self.size[0]}"
                    )
        return Prepared(v1, v2, frame, 0.0, time.perf_counter() - t0)

    def _bad(self, reason: str, cavity_id: int, frame_ids) -> None:
        bad = BadFrame(reason, int(cavity_id), tuple(int(v) for v in frame_ids), time.time())
        self.bad_frames.append(bad)
        with self._lock:
            self._stats.bad_frames += 1
        log.warning("bad frame skipped (cavity %s, frames %s): %s", cavity_id, frame_ids, reason)
        if self.on_bad_frame is not None:
            self.on_bad_frame(bad)

    def _acquire(self) -> None:
        cfg = self.config
        errors_in_row = 0
        while not self._stop.is_set():
            try:
                frame = self.source.read(cfg.read_timeout)
            except FrameError as exc:
                self._bad(str(exc), exc.cavity_id, exc.frame_ids)
                continue
            except EndOfSource as exc:
                log.info("source ended: %s", exc)
                self._source_ended.set()
                with self._lock:
                    if not self._stats.stopped:
                        self._stats.stopped = f"source ended ({exc})"
                return
            except InspectorError as exc:  # the source cannot go on (its folder vanished, …)
                with self._lock:
                    self._stats.source_errors += 1
                    self._stats.last_error = str(exc)
                self.stop(f"source failed: {exc}")
                return
            except Exception as exc:  # a plugin's bug or its driver's: count, back off, give up at the limit
                errors_in_row += 1
                with self._lock:
                    self._stats.source_errors += 1
                    self._stats.last_error = f"{type(exc).__name__}: {exc}"
                log.error("source %s raised %s: %s", self.source.name, type(exc).__name__, exc)
                if errors_in_row >= cfg.source_error_limit:
                    self.stop(f"source failed {errors_in_row} times in a row: {type(exc).__name__}: {exc}")
                    return
                self._stop.wait(min(2.0, 0.05 * 2 ** errors_in_row))
                continue
            errors_in_row = 0
            if frame is None:
                continue
            delivered = time.monotonic()
            try:
                item = self._prepare(frame)
            except InspectorError as exc:
                self.source.counters.failed += 1
                self._bad(str(exc), frame.cavity_id, frame.frame_ids)
                continue
            item.delivered = delivered
            with self._lock:
                self._stats.acquired += 1
            self._slot.put(item, block=cfg.keep_all, stop=self._stop)

    # -- writer thread --------------------------------------------------------------------------
    def _write(self, writer) -> None:
        failed = None
        try:
            while True:
                rec = self._records.get()
                if rec is None:
                    break
                if writer is None or failed is not None:
                    continue
                t0 = time.perf_counter()
                try:
                    writer.append(rec)
                except Exception as exc:  # disk full, log damaged: stop rather than inspect unlogged
                    failed = f"writing {getattr(writer, 'path', self.out)} failed: {type(exc).__name__}: {exc}"
                    log.error(failed)
                    with self._lock:
                        self._stats.last_error = failed
                    self._writer_failed.set()
                    self.stop(failed)
                    continue
                self._latency.add("write", time.perf_counter() - t0)
                with self._lock:
                    self._stats.written += 1
        finally:
            if writer is not None:
                writer.close()
