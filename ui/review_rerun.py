"""Re-running the review's records with the current model, and showing what changed; the job that
runs them off the GUI thread is `ui.rerun.RerunJob`.

`ReviewRerun` is a mixin of `ui.review_view.ReviewView`: it re-runs records of the view's open log
(`reader`) with an explainer the view's chooser names and the log's fill, prepared once per name and
fill (`_explainers`), keeps the job in `job` and the outcomes in `last_rerun`, and shows them in the
view's table and detail pane.
"""

from __future__ import annotations

from typing import Optional, Sequence

from PySide6 import QtCore

from inspector.errors import InspectorError
from ui.rerun import RerunJob


class ReviewRerun:
    # Slots return None: PySide6 6.12 drops a reference to a bool a Python slot returns.
    def _rerun_clicked(self) -> None:
        self.rerun_selected()

    def _rerun_progress(self, done: int, total: int) -> None:
        self.status_message.emit(f"re-running: {done} of {total}")

    def rerun_selected(self, records: Optional[Sequence[int]] = None) -> Optional[RerunJob]:
        """Re-run the records (default: the selected ones) on a worker thread; returns the job."""
        if self.reader is None or self.context is None or self.job is not None:
            return None
        records = list(records) if records is not None else self.selected_records()
        if not records:
            return None
        name = self.explainer.name if self.explainer is not None else "gradcam"
        key = (name, self.reader.layout.fill)  # re-run with the fill the log was made with, so m compares
        if key not in self._explainers:
            try:
                self._explainers[key] = self.context.new_explainer(*key)
            except InspectorError as exc:
                self.error_strip.show_error(f"cannot re-run: {exc}")
                return None
        job = RerunJob(self.reader.path, records, self._explainers[key], parent=self)
        job.finished.connect(self._rerun_done, QtCore.Qt.ConnectionType.QueuedConnection)
        job.failed.connect(self._rerun_failed, QtCore.Qt.ConnectionType.QueuedConnection)
        job.progressed.connect(self._rerun_progress, QtCore.Qt.ConnectionType.QueuedConnection)
        self.job = job
        self.rerun_button.setEnabled(False)
        self.rerun_button.setText("Re-running…")
        job.start()
        return job

    def _rerun_done(self, outcomes: list) -> None:
        self._end_job()
        self.last_rerun = outcomes
        self.model.set_rerun(outcomes)
        self.table.show_rerun_column()
        model = str(getattr(self.context.model, "sha256", "?"))[:12]
        self.detail.rerun.show_outcomes(outcomes, model)
        self.detail.tabs.setCurrentWidget(self.detail.rerun)
        differ = sum(o.differs for o in outcomes)
        self.status_message.emit(f"re-run of {len(outcomes)} record(s): {differ} differ")
        self.rerun_finished.emit(outcomes)

    def _rerun_failed(self, message: str) -> None:
        self._end_job()
        self.error_strip.show_error(f"re-run failed: {message}")

    def _end_job(self) -> None:
        if self.job is not None:
            self.job.join(1.0)
        self.job = None
        self.rerun_button.setText("Re-run selected")
        self.rerun_button.setEnabled(self.reader is not None)
