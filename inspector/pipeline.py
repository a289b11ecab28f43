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

This module is the orchestration; what it moves between threads lives next to
it: `pipeline_data` (configuration, a prepared pair, results), `latest_frames`
(the slot), `source_images` (the check of a source's images), `run_stats`
(counters and latency) and `run_log` (where the records go).
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import queue
import threading
import time
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from inspector.acquisition import EndOfSource, FrameError, FramePair, Source
from inspector.classes import ClassSet
from inspector.errors import InspectorError
from inspector.latest_frames import LatestFrames
from inspector.lost_cameras import LostCameras
from inspector.pipeline_data import CURVE_POLICIES, BadFrame, PipelineConfig, PipelineError, Prepared, Result
from inspector.records import Inspection, Layout
from inspector.run_log import check_out, open_log
from inspector.run_stats import LatencyMeans, RunStats
from inspector.source_images import check_image

# Names other modules import from here, where they have always been imported from.
__all__ = ["CURVE_POLICIES", "BadFrame", "LatestFrames", "Pipeline", "PipelineConfig", "PipelineError", "Result",
           "RunStats"]

log = logging.getLogger("inspector.pipeline")


class Pipeline:
    """Runs a source through the rig, the model and the explainer into a log.

    source: an unopened `Source` (the pipeline opens and closes it). model: the
    classifier (from `inspector.load_model` or a model plugin). rig: needed when the
    source delivers raw camera images. out: a log file (`.h5`) to create (at the
    first record: a run without one leaves no file), a folder to write rotating logs
    into, or None not to log. explainer: a prepared
    explainer (default: `inspector.explain.GradCAM(model)`). on_result and
    on_bad_frame are called on the model's thread for every inspection and every
    skipped frame; on_written(inspection, log file or None, index in it or in the run) on the writer's
    thread, in order, once a record is in the log: what a publisher needs to name what it announces.
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
        on_written: Optional[Callable[[Inspection, Optional[Path], int], None]] = None,
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

            explainer = GradCAM(model, device=device, fill=self.config.fill)
        if getattr(explainer, "fill", "zero") != self.config.fill:
            raise PipelineError(f"the explainer's fill of occluded pixels is not the configured {self.config.fill!r}")
        self.explainer = explainer
        self.size = tuple(model.config.input_size) if hasattr(model, "config") else None
        if self.rig is not None and self.size is not None and (self.rig.grid.height, self.rig.grid.width) != self.size:
            raise PipelineError(
                f"the rig maps onto {self.rig.grid.width}×{self.rig.grid.height} px, "
                f"but the model takes {self.size[1]}×{self.size[0]}"
            )
        self.out = Path(out) if out is not None else None
        if self.out is not None:
            check_out(self.out)
        self.retention = retention
        self.rotate_records = rotate_records
        self.on_result = on_result
        self.on_bad_frame = on_bad_frame
        self.on_written = on_written
        self.classes = ClassSet.of_model(model)

        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._slot = LatestFrames(self.config.slot or self.config.batch)
        self._records: queue.Queue = queue.Queue(self.config.write_queue)
        self._stats = RunStats(per_class={c: 0 for c in model.classes}, ok_class=self.classes.ok)
        self._latency = LatencyMeans()
        self._lost = LostCameras()
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
        c = self.source.counters
        s.source_dropped = c.dropped
        s.timeouts = c.timeouts
        s.reconnects, s.incomplete, s.unpaired = c.reconnects, c.incomplete, c.unpaired
        s.lost = c.lost_cameras()
        self._lost.update(s.lost)
        s.lost_s = self._lost.seconds()
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
            ok_class=self.classes.ok,
            fill=e.fill,
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
        return open_log(self.out, layout, provenance=self.provenance(), retention=self.retention,
                        rotate_records=self.rotate_records)

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
        ok = self.classes.ok_index
        policy = {"all": True, "none": False, "nok": lambda probs: probs.argmax(1) != ok}[cfg.curves]
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
        timings = {"acquire": t0 - it.delivered, "ipm": it.ipm_s, "model": model_s, "explain": explain_s}
        frame = it.frame
        rec = Inspection.from_explanation(
            it.view1, it.view2, e,
            timestamp=float(frame.timestamps[0]) or time.time(),
            cavity_id=int(frame.cavity_id),
            source=self.source.name,
            frame_ids=tuple(int(v) for v in frame.frame_ids),
            timings=timings,
            status="ok" if np.all(np.isfinite(e.curves)) else "no-curves",
            simulated=self.source.simulated,
        )
        for stage, v in timings.items():
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
        images = [check_image(image, f"camera {frame.camera_ids[k]} image", *self._wanted_size(k))
                  for k, image in enumerate((frame.image1, frame.image2))]
        if self.rig is not None:
            images = [self.rig.warp(camera, image) for camera, image in zip(("1", "2"), images)]
        return Prepared(images[0], images[1], frame, 0.0, time.perf_counter() - t0)

    def _wanted_size(self, k: int) -> tuple[Optional[tuple[int, int]], str]:
        """The (H, W) the k-th image of a pair must have, and who needs it. Raw images are checked
        against the rig's calibration here rather than in `warp`, so every bad frame's reason reads alike."""
        if self.rig is None:
            return self.size, "the model takes"
        cam = self.rig.camera(str(k + 1))
        return (cam.image_size[1], cam.image_size[0]), f"the rig calibrated camera {cam.name} at"

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
            # Here too, not only when someone asks for stats: a spell shorter than the status
            # line's period still counts in the summary.
            self._lost.update(self.source.counters.lost_cameras())
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
        sequence = 0  # a record's number in the run, where there is no log to name it
        try:
            while True:
                rec = self._records.get()
                if rec is None:
                    break
                if failed is not None:
                    continue
                if writer is None:
                    self._written(rec, None, sequence)
                    sequence += 1
                    continue
                t0 = time.perf_counter()
                try:
                    where = writer.append(rec)
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
                path, index = where if isinstance(where, tuple) else (writer.path, where)  # rotating: (file, index)
                self._written(rec, Path(path), int(index))
        finally:
            if writer is not None:
                writer.close()

    def _written(self, rec: Inspection, path: Optional[Path], index: int) -> None:
        try:
            if self.on_written is not None:
                self.on_written(rec, path, index)
        except Exception as exc:  # a publisher's failure must not stop the log
            log.error("on_written raised %s: %s", type(exc).__name__, exc)
