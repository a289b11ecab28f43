"""Running an audit: in this process, on a local Dask cluster, or on an existing one.

Dask is imported only here and only when asked for, so the rest of inspector
(and every module a worker re-imports) runs nothing at import time. Each worker
keeps the models it has loaded in a worker plugin, so a model is loaded once
per worker, not once per task; GPU work goes to workers that declare a `GPU`
resource.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Optional

from inspector.audit.per_log import LogCounts, iso_utc, per_log_rows
from inspector.audit.tasks import M_BINS, AuditError, AuditTask, LogInfo, Summary, find_logs, plan, run_task

INSTALL_HINT = "the audit runs on dask.distributed: pip install 'inspector[audit]' (or pass --scheduler none)"


@dataclass
class AuditResult:
    summary: Optional[Summary]
    logs: list[LogInfo]
    mode: str  # "stored" or "recomputed with <model>"
    scheduler: str
    workers: int
    seconds: float
    cancelled: bool = False
    failed_tasks: list = field(default_factory=list)  # (path, start, stop, error)
    per_log: dict = field(default_factory=dict)  # path → LogCounts of its finished ranges

    @property
    def records_per_s(self) -> float:
        n = self.summary.records if self.summary else 0
        return n / self.seconds if self.seconds > 0 else 0.0


def _require_dask():
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise AuditError(INSTALL_HINT) from None


def check_model(model_path: Optional[str]) -> None:
    """Load the model the tasks would load (on the CPU, once) and refuse it here if it cannot be: else
    every task fails alike on its worker (a missing file, a checkpoint refused for the code its pickle
    would run) and the audit reports nothing audited as if that were a finding."""
    if model_path is None:
        return  # the shipped model
    from inspector.model import ModelError, load_model

    if not Path(model_path).is_file():
        raise AuditError(f"{model_path}: no such model file")
    try:
        load_model(model_path, device="cpu")
    except ModelError as exc:
        raise AuditError(str(exc)) from None


def audit(
    paths: Iterable[str],
    *,
    model_path: Optional[str] = None,
    stored: bool = False,
    scheduler: str = "local",
    workers: int = 2,
    threads_per_worker: Optional[int] = None,
    device: str = "cpu",
    chunk: int = 1024,
    include_open: bool = False,
    progress: Optional[Callable[[int, int], None]] = None,
    cancel: Optional[threading.Event] = None,
    client=None,
    explainer: str = "gradcam",
) -> AuditResult:
    """Audit the logs (files, folders, globs). stored: read the logged results instead of re-running
    the model. scheduler: "none" (this process), "local" (a LocalCluster of `workers` processes),
    or the address of an existing scheduler. progress(done_records, total_records) is called as
    tasks finish; setting `cancel` stops the audit: tasks finished are kept, tasks not started are
    dropped, and the result is `cancelled` only if some task was left undone. `client`: an existing
    dask.distributed Client to use as is. explainer: the explainer plugin re-runs use."""
    t0 = time.perf_counter()
    if not stored:
        check_model(model_path)
    logs = find_logs(paths)
    tasks, infos = plan(logs, recompute=not stored, model_path=model_path, device=device, chunk=chunk,
                        include_open=include_open, explainer=explainer)
    if not stored:
        from inspector.explain.explainers import explainer_names

        known = explainer_names()
        if explainer not in known:
            # Every task would fail alike on its worker: say it once, before any starts.
            raise AuditError(f"no explainer plugin named {explainer!r} (installed: {', '.join(known)})")
    total = sum(t.stop - t.start for t in tasks)
    mode = "stored" if stored else f"recomputed with {model_path or 'the shipped model'}"
    if not stored and explainer != "gradcam":
        mode += f" and {explainer}"
    summaries: list[Summary] = []
    failed: list = []
    cancelled = False
    done = 0
    per_log = {i.path: LogCounts(i.path) for i in infos}

    def finished(task: AuditTask, result=None, error: Optional[BaseException] = None) -> None:
        nonlocal done
        counts = per_log.setdefault(task.path, LogCounts(task.path))
        if error is not None:
            failed.append((task.path, task.start, task.stop, f"{type(error).__name__}: {error}"))
            counts.failed.append(f"records {task.start}–{task.stop - 1}: {type(error).__name__}: {error}")
        else:
            counts.add(result)  # before the merge below adds other tasks into the first summary
            summaries.append(result)
        done += task.stop - task.start
        if progress is not None:
            progress(done, total)

    if scheduler == "none" and client is None:
        models: dict = {}
        for task in tasks:
            if cancel is not None and cancel.is_set():
                cancelled = True
                break
            try:
                finished(task, run_task(task, models))
            except AuditError:
                raise
            except Exception as exc:  # one damaged range must not lose the rest
                finished(task, error=exc)
        used_workers = 1
    else:
        cancelled, used_workers = _run_on_dask(
            tasks, scheduler, workers, threads_per_worker, device, finished, cancel, client
        )
    summary = None
    for s in summaries:
        summary = s if summary is None else summary.add(s)
    if summary is not None:
        summary.disagreements.sort(key=lambda d: (d.log, d.record))
    return AuditResult(summary, infos, mode, scheduler if client is None else "client", used_workers,
                       time.perf_counter() - t0, cancelled, failed, per_log)


def _run_on_dask(tasks, scheduler, workers, threads_per_worker, device, finished, cancel, client):
    _require_dask()
    from distributed import Client, LocalCluster, as_completed

    from inspector.audit.worker import PLUGIN_NAME, ModelCache, task_on_worker

    own_cluster = own_client = None
    try:
        if client is None:
            if scheduler == "local":
                torch_threads = threads_per_worker or max(1, (os.cpu_count() or 1) // max(1, workers))
                resources = {"GPU": 1} if device.startswith("cuda") else None
                own_cluster = LocalCluster(
                    n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                    resources=resources, silence_logs=40,
                )
                own_client = client = Client(own_cluster)
            else:
                own_client = client = Client(scheduler, timeout="20s")
                torch_threads = threads_per_worker or 1
        else:
            torch_threads = threads_per_worker or 1
        client.register_plugin(ModelCache(torch_threads), name=PLUGIN_NAME)
        n_workers = len(client.scheduler_info().get("workers", {}))
        options = {"resources": {"GPU": 1}} if device.startswith("cuda") else {}
        futures = {client.submit(task_on_worker, t, pure=False, **options): t for t in tasks}
        cancelled = False
        left = len(futures)
        for future in as_completed(list(futures)):
            task = futures[future]
            left -= 1
            try:  # a finished task is kept even after Cancel, as in this process: its work is done
                finished(task, future.result())
            except AuditError:
                client.cancel(list(futures))
                raise
            except Exception as exc:
                finished(task, error=exc)
            if left and cancel is not None and cancel.is_set():
                client.cancel(list(futures))
                cancelled = True  # only when a task was left undone: else the audit is complete
                break
        return cancelled, n_workers
    except OSError as exc:
        raise AuditError(f"cannot reach the Dask scheduler {scheduler}: {exc}") from None
    finally:
        if own_client is not None:
            own_client.close()
        if own_cluster is not None:
            own_cluster.close()


def result_dict(result: AuditResult) -> dict:
    """Everything the audit found as plain data (summary.json)."""
    s = result.summary
    out = {
        "mode": result.mode,
        "scheduler": result.scheduler,
        "workers": result.workers,
        "seconds": round(result.seconds, 3),
        "records_per_s": round(result.records_per_s, 2),
        "cancelled": result.cancelled,
        "logs": [dataclasses.asdict(i) for i in result.logs],
        "failed_tasks": [dict(zip(("log", "start", "stop", "error"), f)) for f in result.failed_tasks],
        "per_log": per_log_rows(result),
        "models": sorted({i.model_sha256 for i in result.logs if not i.skipped}),
        "rigs": sorted({i.rig_sha256 for i in result.logs if not i.skipped}),
        "explainers": sorted({i.explainer for i in result.logs if not i.skipped}),
        "fills": sorted({i.fill for i in result.logs if not i.skipped}),
    }
    if s is None:
        return out
    out.update({
        "records": s.records,
        "classes": list(s.classes),
        "ok_class": s.ok_class,
        "p": list(s.p),
        "per_class": s.per_class,
        "ok": s.ok_records,
        "nok": s.nok_records,
        "status": s.status,
        "first_time": iso_utc(s.t_first),
        "last_time": iso_utc(s.t_last),
        "m": {c: {"mean": _num(s.mean_m(c)), "with_curves": s.m_n[c],
                  "histogram": {"edges": [float(v) for v in M_BINS], "counts": s.m_hist[c].tolist()}}
              for c in s.classes},
        "influence": {c: s.influence[c] for c in s.classes},
        "influence_shares": {c: {k: _num(v) for k, v in s.influence_shares(c).items()} for c in s.classes},
        "unsure": {c: {"records": s.unsure[c], "share": _num(s.unsure_share(c))} for c in s.classes},
        "mean_curves": {c: {name: [_num(v) for v in row] for name, row in zip(("a1", "a2", "a3"), s.mean_curves(c))}
                        for c in s.classes},
        "labels": {"labelled": s.labelled, "agree": s.label_agree, "accuracy": _num(s.label_accuracy),
                   "confusion": s.label_confusion},
        "recomputed": {"compared": s.compared, "not_rerunnable": s.not_rerunnable,
                       "disagreements": [dataclasses.asdict(d) for d in s.disagreements]},
    })
    return out


def _num(v: float):
    return None if v != v else round(float(v), 6)
