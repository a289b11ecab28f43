"""The audit view's rough edges (issue 17): Cancel stops the bar at once and says so, nothing of a previous
run stays, Export waits for a complete audit, an empty state before any log, an empty class drawn as
"no records" on a sane axis, and class colours that are the ClassSet's, as in the review and operator views."""

import threading

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from inspector.audit.engine import AuditResult  # noqa: E402
from inspector.audit.tasks import LogInfo, Summary  # noqa: E402
from inspector.classes import ClassSet  # noqa: E402


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    from inspector.bench.audit import write_bench_logs

    folder = tmp_path_factory.mktemp("audit_edges")
    return write_bench_logs(folder, logs=3, per_log=12)


def _view(qtbot):
    from ui.audit_view import AuditView

    view = AuditView()
    qtbot.addWidget(view)
    view.scheduler.setCurrentIndex(0)  # this process
    view.mode.setCurrentIndex(1)  # stored results: fast
    return view


def _gated(monkeypatch, free=1):
    """run_task that lets the first `free` tasks through and holds every later one until `gate` is set,
    so a test can cancel while a task is in flight."""
    import inspector.audit.engine as engine

    gate, entered, real, calls = threading.Event(), threading.Event(), engine.run_task, []

    def held(task, *args, **kwargs):
        calls.append(task.path)
        if len(calls) > free:
            entered.set()
            gate.wait(30)
        return real(task, *args, **kwargs)

    monkeypatch.setattr(engine, "run_task", held)
    return gate, entered


def test_cancel_freezes_the_bar_says_cancelled_and_keeps_the_finished_part_without_export(qtbot, logs, monkeypatch):
    view = _view(qtbot)
    view.add_logs(logs)
    view.start()
    qtbot.waitUntil(lambda: view.result is not None, timeout=60_000)  # a complete first run
    assert view.export_button.isEnabled()
    gate, entered = _gated(monkeypatch)

    view.start()  # the second run clears the first one's captions, figures and Export at once
    assert view.result is None and not view.export_button.isEnabled()
    assert view.table.rowCount() == 0 and not view.plot_items
    assert view.headline.text() == "Auditing…" and "of" not in view.disagreements_label.text()
    assert entered.wait(30)
    qtbot.waitUntil(lambda: view.progress.value() == 12, timeout=10_000)  # one log of three done

    view.cancel()
    assert view.progress.maximum() == 36 and view.progress.value() == 12  # not busy, not moving
    assert "cancelled" in view.progress.text() and "cancelled" in view.headline.text()
    gate.set()  # the task in flight finishes: its progress must not move the bar
    qtbot.waitUntil(lambda: view.result is not None, timeout=60_000)
    assert view.result.cancelled and view.result.summary.records == 24  # finished ranges are kept…
    assert view.progress.text() == "cancelled: 24 of 36 records kept"
    assert "partial result: 24 of 36 records" in view.headline.text()
    assert view.table.rowCount() == 3 and view.plot_items  # …and shown, marked partial
    assert not view.export_button.isEnabled()  # …but never exported as if it were the audit
    with pytest.raises(ValueError, match="no complete audit"):
        view.export_report("anywhere")
    assert view.run_button.isEnabled() and not view.cancel_button.isEnabled()


def test_cancel_before_any_progress_stops_a_busy_bar(qtbot, logs, monkeypatch):
    gate, entered = _gated(monkeypatch, free=0)
    view = _view(qtbot)
    view.add_logs(logs[:1])
    view.start()
    assert entered.wait(30)
    assert view.progress.maximum() == 0  # busy: Qt animates it
    view.cancel()
    assert view.progress.maximum() > 0 and view.progress.text() == "cancelled"  # stopped
    gate.set()  # the only task was in flight: it finishes, nothing was left undone
    qtbot.waitUntil(lambda: view.result is not None, timeout=60_000)
    assert not view.result.cancelled and view.result.summary.records == 12
    assert "Cancel took effect: the audit is complete" in view.headline.text()
    assert view.progress.text() == "12 of 12 records" and view.export_button.isEnabled()


def test_before_any_log_the_bar_says_what_to_do(qtbot, logs):
    view = _view(qtbot)
    assert view.progress.text() == "add logs to audit" and not view.run_button.isEnabled()
    assert not view.export_button.isEnabled()
    view.add_logs(logs[:2])
    assert view.progress.text() == "ready: 2 logs or folders" and view.run_button.isEnabled()
    assert "records" not in view.progress.text()
    view.logs.takeItem(1)
    view.logs.takeItem(0)
    assert view.progress.text() == "add logs to audit"


def _summary_with_an_empty_class():
    classes, p = ("correct", "missing", "skewed"), (0.0, 0.25, 0.5, 0.75, 1.0)
    s = Summary.empty(classes, p, "correct")
    s.records = s.per_class["correct"] = s.m_n["correct"] = 5
    s.per_class["missing"] = 0
    s.m_hist["correct"][18:23] = 1
    s.m_sum["correct"] = 0.1
    s.curve_sum["correct"] = np.full((3, len(p)), 2.5)
    s.influence["correct"]["equal"] = 5
    return s


def _result(s):
    return AuditResult(s, [LogInfo("a.h5", records=s.records)], "stored", "none", 1, 0.1)


def test_an_empty_class_says_no_records_on_a_sane_axis(qtbot):
    import pyqtgraph as pg

    view = _view(qtbot)
    view.resize(1200, 800)
    view.show_result(_result(_summary_with_an_empty_class()))
    view.show()
    qtbot.waitExposed(view)
    for c in ("missing", "skewed"):
        hist = view.plot_items[f"hist {c}"]
        y0, y1 = hist.viewRange()[1]
        assert (y0, y1) == pytest.approx((0, 1))  # not −400…400
        assert hist.getAxis("left").autoSIPrefixScale == 1.0  # no "×0.001"
        assert "×" not in hist.getAxis("left").labelString()
        texts = [i.toPlainText() for i in hist.items if isinstance(i, pg.TextItem)]
        assert texts == ["no records"]
        assert not hist.listDataItems()  # no bars of nothing
        curves = view.plot_items[f"curves {c}"]
        assert [i.toPlainText() for i in curves.items if isinstance(i, pg.TextItem)] == ["no records"]
        assert curves.viewRange()[0] == pytest.approx((0, 1), abs=0.03)
    shares = view.plot_items["shares"]
    assert [i.toPlainText() for i in shares.items if isinstance(i, pg.TextItem)].count("no records") == 2
    full = view.plot_items["hist correct"]
    assert full.listDataItems() and not [i for i in full.items if isinstance(i, pg.TextItem)]


def test_class_colours_are_the_classsets_in_audit_review_and_operator_views(qtbot, logs):
    import pyqtgraph as pg

    from inspector.records import RecordReader
    from ui.record_table import RecordTableModel
    from ui.run_counters import RunCounters

    view = _view(qtbot)
    view.add_logs(logs)
    view.start()
    qtbot.waitUntil(lambda: view.result is not None, timeout=60_000)
    with RecordReader(logs[0]) as reader:
        class_set = reader.layout.class_set
        review = RecordTableModel()
        review.load(reader, {})
    operator = RunCounters(class_set)
    qtbot.addWidget(operator)
    assert view.result.summary.class_set == class_set
    for row, c in enumerate(class_set.names):
        colour = class_set.colour(c)
        assert view.table.item(row, 0).foreground().color().name() == colour  # audit table
        bars = view.plot_items[f"hist {c}"].listDataItems()
        if bars:  # audit histogram (a class with records)
            assert pg.mkBrush(bars[0].opts["fillBrush"]).color().name() == colour
        assert review.class_colours[row].name() == colour  # review table
        assert colour in operator.values[f"class:{c}"].styleSheet()  # operator counters
    names = list(class_set.names)
    assert ClassSet.of(names, class_set.ok).colours() == class_set.colours()  # one palette, by order and OK


def test_the_view_grabs_to_a_png(qtbot, logs, tmp_path):
    view = _view(qtbot)
    view.resize(1400, 900)
    view.add_logs(logs)
    view.start()
    qtbot.waitUntil(lambda: view.result is not None, timeout=60_000)
    shot = tmp_path / "audit.png"
    assert view.grab().save(str(shot)) and shot.stat().st_size > 10_000
