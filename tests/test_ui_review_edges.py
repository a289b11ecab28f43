"""The review view's rough edges (issue 17), each as it was met: a corrupt log opened over a good one,
a ticked time filter on a followed log, "−0.000", clipped re-run column and pane, a figure without
its verdict."""

import dataclasses

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6 import QtCore, QtWidgets  # noqa: E402

from inspector.number_text import MINUS, fixed  # noqa: E402
from inspector.records import RecordReader, RecordWriter  # noqa: E402
from records_support import LAYOUT, make_record  # noqa: E402
from review_support import column, shown_review_view  # noqa: E402
from ui.record_table import COLUMNS  # noqa: E402
from ui.rerun import RerunOutcome  # noqa: E402
from ui.review_view import ReviewView  # noqa: E402

N = 12


def write_log(path, n=N, changes=None):
    """`n` records; `changes`: record → fields that differ from `make_record`'s."""
    with RecordWriter(path, LAYOUT) as w:
        for i in range(n):
            w.append(dataclasses.replace(make_record(i), **(changes or {}).get(i, {})))
    return path


@pytest.fixture
def log(tmp_path):
    return write_log(tmp_path / "line.h5")


@pytest.fixture
def view(qtbot):
    yield from shown_review_view(qtbot, size=(1280, 800))




# -- a log that cannot be read --------------------------------------------------------------------
def test_a_corrupt_log_leaves_the_open_log_open_and_untouched(view, log, tmp_path):
    junk = tmp_path / "corrupt.h5"
    junk.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    assert view.open_log(log)
    view.select_record(3)
    bars, header = list(view.detail.probs.values), view.detail.header_text
    assert not view.open_log(junk)
    assert "corrupt.h5" in view.error_strip.message and "line.h5 stays open" in view.error_strip.message
    assert view.reader is not None and view.reader.path == log and view.model.rowCount() == N
    assert view.current_record == 3 and view.detail.header_text == header and view.detail.probs.values == bars
    assert view.label_panel.isEnabled() and view.export_button.isEnabled()
    assert view.label_selected("NOK", true_class="skewed") == [3]  # still labels the log that is open


def test_without_a_log_nothing_of_the_last_one_stays_on_screen(view, log, tmp_path):
    assert not view.label_panel.isEnabled()  # nothing to label before a log is open
    assert view.open_log(log) and view.detail.probs.values and view.label_panel.isEnabled()
    view.close_log()
    assert view.detail.frame is None and view.detail.probs.values == [] and not view.detail.probs.texts
    assert not view.label_panel.isEnabled() and view.model.rowCount() == 0 and view.info.text() == "No log open"
    junk = tmp_path / "x.h5"
    junk.write_bytes(b"\0" * 100)
    assert not view.open_log(junk) and "x.h5" in view.error_strip.message and view.reader is None


# -- the time filter on a followed log ------------------------------------------------------------
def test_the_time_filters_open_end_follows_a_growing_log(view, tmp_path):
    path = tmp_path / "growing.h5"
    writer = RecordWriter(path, LAYOUT)
    try:
        for i in range(5):
            writer.append(make_record(i))
        assert view.open_log(path) and view.following
        view.filters.time_on.setChecked(True)
        assert view.model.rowCount() == 5
        for i in range(5, 9):
            writer.append(make_record(i))
        assert view.follow() == 4
        assert view.model.rowCount() == 9  # before: the end fixed at open hid every later record
        last = make_record(8).timestamp
        assert view.filters.t_to.dateTime().toSecsSinceEpoch() >= last  # the field shows where the log ends
        assert view.filters.t_to.font().italic()  # and reads as open

        # An end the user sets stays: later records fall outside it.
        view.filters.t_to.setDateTime(QtCore.QDateTime.fromSecsSinceEpoch(int(last)))
        assert view.model.rowCount() == 9 and not view.filters.t_to.font().italic()
        for i in range(9, 12):
            writer.append(make_record(i))
        assert view.follow() == 3
        assert view.model.rowCount() == 9 and view.model.total == 12
        assert view.filters.t_to.dateTime().toSecsSinceEpoch() == int(last)
        view.filters.reset()  # opens the end again
        view.filters.time_on.setChecked(True)
        assert view.model.rowCount() == 12
    finally:
        writer.close()


def test_a_set_start_hides_earlier_records(view, log):
    assert view.open_log(log)
    view.filters.time_on.setChecked(True)
    view.filters.t_from.setDateTime(QtCore.QDateTime.fromSecsSinceEpoch(int(make_record(4).timestamp)))
    assert view.model.order.tolist() == list(range(4, N))


# -- numbers ---------------------------------------------------------------------------------------
def test_no_negative_zero():
    for v in (-0.0, -0.0004, -1e-12):
        assert fixed(v, 3, sign=True) == "+0.000" and fixed(v, 3) == "0.000"
        assert fixed(v, 3, sign=True, minus=MINUS) == "+0.000"
    assert fixed(-0.0006, 3, sign=True, minus=MINUS) == MINUS + "0.001"
    assert fixed(float("nan"), 3) == "—" and fixed(12.25, 1) == "12.2"


def test_the_m_column_and_header_show_no_negative_zero(view, tmp_path):
    path = write_log(tmp_path / "zero.h5", 3, {1: {"m": -0.0002, "influence": "equal"}})
    assert view.open_log(path)
    m = column(view, "m")
    assert m[1] == "+0.000" and not any(t.startswith(("-", MINUS)) and t[1:] == "0.000" for t in m)
    view.select_record(1)
    assert "m = +0.000" in view.detail.header_text


# -- geometry --------------------------------------------------------------------------------------
def _outcomes():
    outs = [RerunOutcome(i, True, "skewed", "missing" if i % 2 else "skewed", 0.61, 0.58, -0.0001, 0.02)
            for i in range(5)]
    return outs + [RerunOutcome(5, False, stored_class="skewed",
                                note="images not kept in the log (retention): not re-runnable")]


def _fits(metrics, text, width):
    return metrics.horizontalAdvance(text) <= width


@pytest.mark.parametrize("size", [(1024, 768), (1280, 800)])
def test_the_rerun_column_and_pane_fit(qtbot, view, log, tmp_path, size):
    view.resize(*size)
    assert view.open_log(log)
    outcomes = _outcomes()
    view.model.set_rerun(outcomes)
    view.table.show_rerun_column()
    view.detail.rerun.show_outcomes(outcomes, "abcdef123456")
    view.detail.tabs.setCurrentWidget(view.detail.rerun)
    qtbot.wait(50)
    view.grab().save(str(tmp_path / f"review-{size[0]}x{size[1]}.png"))

    table, header = view.table, view.table.horizontalHeader()
    col = COLUMNS.index("re-run")
    assert header.sectionViewportPosition(col) + header.sectionSize(col) <= table.viewport().width()
    assert "no images" in column(view, "re-run")
    for c, name in enumerate(COLUMNS):  # every header's text fits its column
        if not table.isColumnHidden(c):
            assert _fits(header.fontMetrics(), name, header.sectionSize(c) - 12), name

    pane = view.detail.rerun.table
    ph = pane.horizontalHeader()
    assert sum(ph.sectionSize(c) for c in range(pane.columnCount())) <= pane.viewport().width()
    assert pane.viewport().mapTo(view, QtCore.QPoint(pane.viewport().width(), 0)).x() <= view.width()
    for r in range(pane.rowCount()):  # each cell shows its text, or elides it with the whole text in its tooltip
        for c in range(pane.columnCount()):
            item = pane.item(r, c)
            assert _fits(pane.fontMetrics(), item.text(), ph.sectionSize(c) - 6) or \
                item.toolTip().startswith(item.text() + "\n")
    summary = view.detail.rerun.summary
    assert summary.heightForWidth(summary.width()) <= summary.height()
    bar = view.detail.tabs.tabBar()
    assert bar.geometry().right() <= view.detail.tabs.width()
    for k in range(bar.count()):
        assert bar.tabRect(k).right() <= bar.width() and bar.tabToolTip(k)


@pytest.mark.parametrize("size", [(1024, 768), (1280, 800)])
def test_nothing_in_the_review_view_is_clipped(qtbot, view, log, size):
    view.resize(*size)
    assert view.open_log(log)
    qtbot.wait(50)
    assert view.size() == QtCore.QSize(*size)
    for w in view.findChildren(QtWidgets.QWidget):
        if not w.isVisible() or w.window() is not view:
            continue
        if isinstance(w, QtWidgets.QAbstractButton) and w.text():
            assert w.width() >= w.minimumSizeHint().width(), w.text()
        if isinstance(w, QtWidgets.QLabel) and w.text() and not w.wordWrap() and w.sizePolicy().horizontalPolicy() \
                != QtWidgets.QSizePolicy.Policy.Ignored and w.textFormat() != QtCore.Qt.TextFormat.RichText:
            assert w.width() >= w.minimumSizeHint().width(), w.text()
        # Nothing reaches past the view's right or bottom edge.
        corner = w.mapTo(view, QtCore.QPoint(w.width(), w.height()))
        assert corner.x() <= view.width() and corner.y() <= view.height(), type(w).__name__
    grid = view.detail.grid
    assert grid.width() >= grid.ci.minimumWidth() or grid.ci.boundingRect().width() <= grid.viewport().width() + 1


# -- the exported figure ---------------------------------------------------------------------------
def test_the_exported_figure_states_the_verdict(log, tmp_path):
    from inspector.evaluation.record_export import export_record, record_figure

    with RecordReader(log) as reader:
        classes = reader.layout.class_set
        for i in range(N):
            rec = make_record(i)
            texts = [t.get_text() for t in record_figure(reader, i).texts]
            verdict = "OK" if classes.is_ok(rec.predicted) else "NOK"
            name = classes.names[rec.predicted]
            want = f"{verdict} · {name} {100 * rec.probs[rec.predicted]:.1f} % · OK class: {classes.ok}"
            assert want in texts, (want, texts)
        export_record(reader, 0, png=tmp_path / "r0.png")
    assert (tmp_path / "r0.png").read_bytes()[:4] == b"\x89PNG" and not list(tmp_path.glob("*.partial"))


def test_nine_classes_fit_the_label_panel_at_1024(qtbot, tmp_path):
    from inspector.records import Layout

    names = ("good", "short_shot", "flash", "sink_mark", "burn_mark", "weld_line", "warp", "void", "splay")
    layout = Layout(classes=names, view_shape=LAYOUT.view_shape, stage_shapes=LAYOUT.stage_shapes, p=LAYOUT.p,
                    ok_class="good")
    path = tmp_path / "nine.h5"
    with RecordWriter(path, layout) as w:
        rec = make_record(0)
        w.append(dataclasses.replace(rec, probs=np.full(9, 1 / 9, np.float32), predicted=3, target=3))
    v = ReviewView()
    qtbot.addWidget(v)
    v.resize(1024, 768)
    v.show()
    try:
        assert v.open_log(path) and len(v.label_panel.class_buttons) == 9
        qtbot.wait(50)
        assert v.minimumSizeHint().width() <= 1024 and v.width() == 1024
        for button in v.label_panel.class_buttons.values():
            assert button.width() >= button.minimumSizeHint().width(), button.text()
            assert button.mapTo(v, QtCore.QPoint(button.width(), 0)).x() <= v.label_panel.mapTo(
                v, QtCore.QPoint(v.label_panel.width(), 0)).x()
    finally:
        v.shutdown()


# -- how sure the influence is (issue 19) -----------------------------------------------------------
def test_the_detail_shows_an_unsure_verdict_with_its_interval_and_the_fill(view, tmp_path):
    d = np.zeros(11)
    d[7:] = 0.1  # m = +0.036, resting on four grid points: its interval reaches into the equal band
    unsure = np.stack([np.full(11, 0.5), np.full(11, 0.9), 0.9 - d]).astype(np.float32)
    sure = np.stack([np.full(11, 0.5), np.full(11, 0.9), np.full(11, 0.5)]).astype(np.float32)
    log = write_log(tmp_path / "unsure.h5", n=2, changes={
        0: {"curves": unsure, "m": float(np.mean(d)), "influence": "camera 2"},
        1: {"curves": sure, "m": 0.4, "influence": "camera 2"}})
    assert view.open_log(log)
    view.select_record(0)
    header = view.detail.header_text
    assert "m = +0.036 → camera 2 (unsure: m ∈ [" in header and "fill zero" in header
    assert f"{MINUS}0.000" not in header
    view.select_record(1)
    assert "m = +0.400 → camera 2 ·" in view.detail.header_text and "unsure" not in view.detail.header_text
