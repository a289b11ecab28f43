"""Offline audit of inspection logs: re-analysis in tasks by file and record range, merged, reported.

`audit(paths, ...)` runs in this process, on a local Dask cluster (the default)
or on an existing one; `write_report(result, folder)` writes report.html, its
figures and summary.json.
"""

from inspector.audit.engine import AuditResult, audit, check_model, result_dict
from inspector.audit.report import write_report
from inspector.audit.tasks import AuditError, AuditTask, Summary, find_logs, plan, run_task

__all__ = [
    "AuditError", "AuditResult", "AuditTask", "Summary", "audit", "check_model", "find_logs", "plan", "result_dict",
    "run_task", "write_report",
]
