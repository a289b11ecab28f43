"""`inspector audit`: many logs re-analysed, locally or on Dask, into one report."""

from __future__ import annotations

import argparse
from pathlib import Path

from inspector.cli.options import add_command, add_device, add_model, add_quiet, positive_int
from inspector.errors import InspectorError


def cmd_audit(args: argparse.Namespace) -> int:
    import datetime as _dt

    from tqdm import tqdm

    from inspector.audit import audit, check_model, write_report

    out = args.out or Path(f"audit_{_dt.datetime.now(_dt.timezone.utc).strftime('%Y%m%dT%H%M%S')}")
    if (out / "report.html").exists():
        raise InspectorError(f"{out}: already holds a report; choose another --out")
    if out.exists() and not out.is_dir():
        raise InspectorError(f"{out}: exists and is not a folder")
    if not args.stored:
        check_model(args.model)  # before any work: a model no task can load audits nothing
    bar = tqdm(total=0, unit="rec", desc="audit", disable=args.quiet)

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    try:
        result = audit(
            args.logs, model_path=args.model, stored=args.stored, scheduler=args.scheduler, workers=args.workers,
            threads_per_worker=args.threads_per_worker, device=args.device, chunk=args.chunk,
            include_open=args.include_open, progress=progress, explainer=args.explainer,
        )
    finally:
        bar.close()
    for info in result.logs:
        if info.skipped:
            print(f"skipped {info.path}: {info.skipped}")
    for path, start, stop, error in result.failed_tasks:
        print(f"failed {path} records {start}-{stop - 1}: {error}")
    if result.summary is None:  # the logs named are the input, and none of it could be used
        raise InspectorError(_nothing_audited(result))
    report = write_report(result, out)
    s = result.summary
    print(f"{s.records} records from {sum(1 for i in result.logs if not i.skipped)} logs ({result.mode}) in "
          f"{result.seconds:.1f} s, {result.records_per_s:.0f} records/s on {result.workers} worker(s)")
    print(f"  OK ({s.ok_class}) {s.ok_records}, NOK {s.nok_records}")
    for c in s.classes:
        shares = s.influence_shares(c)
        text = ", ".join(f"{k} {100 * v:.0f}%" for k, v in shares.items() if v == v)
        print(f"  {c:<8} {s.per_class[c]:>7}  mean m {s.mean_m(c):+.3f}  {text}")
    if s.labelled:
        print(f"engineer labels: {s.labelled}, agreeing {100 * s.label_accuracy:.1f}%")
    if not args.stored:
        print(f"re-computed {s.compared}, disagreeing with the stored prediction: {len(s.disagreements)}; "
              f"not re-runnable (views not kept): {s.not_rerunnable}")
    print(f"report: {report}")
    return 0


def _nothing_audited(result) -> str:
    """Why an audit found no record to audit, in one line (the lines above it name each log)."""
    failed = sorted({path for path, *_ in result.failed_tasks})
    skipped = [i for i in result.logs if i.skipped]
    if len(result.logs) == 1 and skipped:
        info = skipped[0]
        why = info.skipped if info.skipped.startswith(info.path) else f"{info.path}: {info.skipped}"
        return f"nothing audited: {why}; no report written"
    if len(result.logs) == 1 and failed:
        return f"nothing audited: every record range of {failed[0]} failed (see above); no report written"
    parts = [f"{len(skipped)} skipped"] * bool(skipped) + [f"{len(failed)} failed"] * bool(failed)
    empty = len(result.logs) - len(skipped) - len(failed)
    parts += [f"{empty} without records"] * bool(empty)
    return f"nothing audited: of {len(result.logs)} log(s), {', '.join(parts)} (see above); no report written"


def add_audit(sub) -> None:
    p = add_command(
        sub, "audit", help="re-analyse many logs (on Dask) and write an HTML report",
        description="Audit inspection logs: split them into tasks by file and record range, re-run the model "
        "on the stored views (or read the stored results with --stored), merge per-class counts, the "
        "distribution of m, influence shares, mean curves, agreement with engineer labels and the "
        "records where stored and re-computed predictions disagree, and write report.html (figures "
        "embedded, no network needed; a per-log table of counts and time ranges) and summary.json. "
        "Runs on a local Dask cluster of --workers processes by default, on an existing cluster with --scheduler tcp://HOST:PORT, or in this "
        "process with --scheduler none. Logs that cannot be read are named with the reason and the "
        "rest is audited; logs still open for writing are skipped unless --include-open.",
    )
    p.add_argument("logs", nargs="+", metavar="LOG_OR_DIR", help="log files, folders of logs, or glob patterns")
    how = p.add_mutually_exclusive_group()
    add_model(how, "checkpoint to re-run the logs with (default: the shipped model)")
    how.add_argument("--stored", action="store_true", help="read the stored results instead of re-running")
    p.add_argument("--scheduler", default="local",
                   help="local (a LocalCluster), none (this process), or a scheduler address tcp://HOST:PORT")
    p.add_argument("--workers", type=positive_int, default=2, help="worker processes of a local cluster")
    p.add_argument("--threads-per-worker", type=positive_int,
                   help="torch threads per worker (default: the cores shared among the workers)")
    p.add_argument("--chunk", type=positive_int, default=1024, help="records per task")
    p.add_argument("--include-open", action="store_true", help="also audit logs still open for writing")
    p.add_argument("--out", type=Path, help="report folder (default: audit_<UTC time>)")
    add_quiet(p)
    add_device(p, "where workers run the model (cuda: tasks go to workers with a GPU resource)", default="cpu",
               choices=("cpu", "cuda"))
    p.add_argument("--explainer", default="gradcam",
                   help="explainer plugin the records are re-analysed with (its maps are the prior of the masks)")
    p.set_defaults(func=cmd_audit)


COMMANDS = {"audit": add_audit}
