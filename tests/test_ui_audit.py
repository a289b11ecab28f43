"""The audit view: run an audit off the GUI thread, show its figures, cancel, export, bad logs."""

import os
import threading

import pytest

pytest.importorskip("pytestqt")


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    from inspector.bench.audit import write_bench_logs

    folder = tmp_path_factory.mktemp("audit_logs")
    write_bench_logs(folder, logs=2, per_log=12)
    (folder / "damaged.h5").write_bytes(os.urandom(2048))
    return folder


def _view(qtbot):
    from ui.audit_view import AuditView

    view = AuditView()
    qtbot.addWidget(view)
    view.scheduler.setCurrentIndex(0)  # this process: the Dask path is tested in test_audit.py
    return view


def test_audit_runs_off_the_gui_thread_and_shows_its_figures(qtbot, logs, tmp_path, monkeypatch):
    import inspector.audit.engine as engine

    threads = []
    real = engine.run_task

    def spy(task, *args, **kwargs):
        threads.append(threading.get_ident())
        return real(task, *args, **kwargs)

    monkeypatch.setattr(engine, "run_task", spy)
    view = _view(qtbot)
    view.add_logs([logs])
    view.mode.setCurrentIndex(1)  # stored results
    view.start()
    assert not view.run_button.isEnabled()
    qtbot.waitUntil(lambda: view.result is not None, timeout=120_000)
    assert threads and threading.get_ident() not in threads
    assert view.result.summary.records == 24
    assert view.table.rowCount() == 3 and view.table.item(0, 1).text() != ""
    assert view.table.horizontalHeaderItem(8).text() == "unsure"  # the share of unsure verdicts per class
    s = view.result.summary
    assert [view.table.item(r, 8).text() for r in range(3)] == [s.unsure_text(c) for c in s.classes]
    assert len(view.plots.ci.items) == 7  # 3 histograms, 3 mean-curve plots, the influence bars
    assert "damaged.h5" in view.errors.message  # the bad log is named, the rest audited
    assert "24 records" in view.headline.text()
    report = view.export_report(tmp_path / "report")
    assert report.exists() and (tmp_path / "report" / "summary.json").exists()
    assert view.run_button.isEnabled() and not view.cancel_button.isEnabled()


def test_re_running_lists_no_disagreement_and_cancel_stops(qtbot, logs):
    view = _view(qtbot)
    view.add_logs([logs / "bench_0.h5"])
    view.start()
    qtbot.waitUntil(lambda: view.result is not None, timeout=120_000)
    assert view.result.summary.compared == 12 and view.disagreements.rowCount() == 0
    assert "0 of 12 re-run" in view.disagreements_label.text()

    view.result = None
    view.add_logs([logs])
    view.start()
    view.cancel()
    qtbot.waitUntil(lambda: view.result is not None or view.errors.active, timeout=120_000)
    assert view.result is not None and view.result.cancelled
    assert "cancelled" in view.headline.text()


def test_nothing_chosen_or_nothing_readable_is_a_visible_error(qtbot, tmp_path):
    view = _view(qtbot)
    view.start()
    assert "No logs chosen" in view.errors.message
    view.add_logs([tmp_path / "nowhere"])
    view.start()
    qtbot.waitUntil(lambda: view.run_button.isEnabled() and view.errors.active, timeout=60_000)
    assert "nowhere: no such log file or folder" in view.errors.message
