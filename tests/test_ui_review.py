"""The review view on the offscreen platform: logs written by the real pipeline, labels, exports,
re-runs, a growing log and files that are not logs."""

import csv
import json
import math
import shutil
import threading

import h5py
import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6 import QtCore  # noqa: E402

from inspector.pipeline import Pipeline, PipelineConfig  # noqa: E402
from inspector.records import LabelStore, RecordReader, RecordWriter  # noqa: E402
from plugins.simulator_source import SimulatorSource  # noqa: E402
from records_support import LAYOUT, make_record  # noqa: E402
from review_support import column, shown_review_view  # noqa: E402
from ui.app_context import load_context  # noqa: E402
from waiting import HANG_S  # noqa: E402


@pytest.fixture(scope="module")
def context():
    return load_context("cpu")


@pytest.fixture(scope="module")
def pipeline_log(context, tmp_path_factory):
    """24 real inspections; views kept only for cavities not judged correct (so some records cannot be re-run)."""
    path = tmp_path_factory.mktemp("review") / "line.h5"
    source = SimulatorSource(rate=0, cavities=3, count=24, seed=5, hidden_share=0.3)
    Pipeline(source, context.model, rig=context.rig, out=path, retention="nok-images",
             config=PipelineConfig(curves="nok", keep_all=True, batch=8)).run()
    return path


@pytest.fixture
def log(pipeline_log, tmp_path):
    """A copy per test: labels are written beside the log."""
    copy = tmp_path / "line.h5"
    shutil.copy(pipeline_log, copy)
    return copy


@pytest.fixture
def view(qtbot, context):
    yield from shown_review_view(qtbot, context)




def test_a_log_opens_with_every_row_and_the_first_record_in_detail(view, log):
    assert view.open_log(log)
    with RecordReader(log) as reader:
        n = len(reader)
        first = reader[0]
        classes = reader.layout.classes
    assert view.model.rowCount() == n == 24
    assert view.current_record == 0
    assert classes[first.predicted] in view.detail.header_text
    assert f"{n} records" in view.info.text() and "closed" in view.info.text()
    assert not view.following
    prov = view.detail.provenance_rows
    assert prov["model"] == view.context.model.sha256 and prov["rig"] == view.context.rig.sha256
    assert prov["software"].startswith("inspector ")
    # the log was made with the app's model: its card, under a title that says so
    assert view.detail.card_title == "model card of the model that made this log"
    assert view.detail.card_rows["model sha256"] == view.context.model.sha256


def test_sort_and_filters_use_the_logs_values(view, log):
    view.open_log(log)
    reader = view.reader
    m = reader.scalars(names=("m",))["m"]
    view.sort_by("m", descending=True)
    ms = [float("nan") if t == "—" else float(t.replace("−", "-")) for t in column(view, "m")]  # a real minus
    known = [v for v in ms if not math.isnan(v)]
    assert known == sorted(known, reverse=True) and len(known) == int(np.isfinite(m).sum())
    assert all(math.isnan(v) for v in ms[len(known):])  # no m (no curves): last either way

    view.filters.combos["class"].setCurrentText("missing")
    assert sorted(view.model.order.tolist()) == reader.select(classes=["missing"]).tolist()
    assert set(column(view, "class")) == {"missing"}

    view.filters.reset()
    view.filters.m_min.setText("-0.1")
    view.filters.m_max.setText("0.1")
    view.filters.m_max.editingFinished.emit()
    assert sorted(view.model.order.tolist()) == reader.select(m_range=(-0.1, 0.1)).tolist()
    view.filters.reset()
    assert view.model.rowCount() == len(reader)


def test_keyboard_moves_through_records_and_labels_them(qtbot, view, log):
    view.open_log(log)
    view.table.setFocus()
    qtbot.keyClick(view.table, QtCore.Qt.Key.Key_Down)
    assert view.current_record == view.model.record_at(1)
    qtbot.keyClick(view.table, QtCore.Qt.Key.Key_Down)
    record = view.current_record
    assert record == view.model.record_at(2)
    classes = view.reader.layout.classes
    assert classes[view.reader[record].predicted] in view.detail.header_text

    qtbot.keyClick(view.table, QtCore.Qt.Key.Key_N)
    assert LabelStore(log).current()[record].verdict == "NOK"
    assert column(view, "label")[2] == "NOK"

    view.label_panel.comment.setText("insert seated, glare on camera 1")
    qtbot.mouseClick(view.label_panel.buttons["OK"], QtCore.Qt.MouseButton.LeftButton)
    label = LabelStore(log).current()[record]
    assert (label.verdict, label.comment) == ("OK", "insert seated, glare on camera 1")
    assert column(view, "label")[2] == "OK"

    view.filters.combos["label"].setCurrentText("OK")
    assert view.model.order.tolist() == [record]
    view.filters.combos["label"].setCurrentText("none")
    assert record not in view.model.order.tolist() and view.model.rowCount() == len(view.reader) - 1


def test_exports_write_files_that_parse(view, log, tmp_path):
    view.open_log(log)
    view.filters.combos["class"].setCurrentText("skewed")
    record = view.model.record_at(0)
    view.select_record(record)
    png, js, table = tmp_path / "r.png", tmp_path / "r.json", tmp_path / "t.csv"
    assert view.export_record_files(png=png, json_path=js) == record
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    doc = json.loads(js.read_text())
    assert doc["record"] == record and doc["predicted"] == "skewed"
    rows = list(csv.DictReader(table.open())) if view.export_table_csv(table) else []
    assert [int(r["record"]) for r in rows] == view.model.order.tolist()
    assert {r["predicted"] for r in rows} == {"skewed"}


def test_rerun_agrees_with_the_stored_results_and_names_what_it_cannot_rerun(qtbot, view, log):
    view.open_log(log)
    has_images = view.model.cols["has_images"]
    with_images = np.flatnonzero(has_images)[:4].tolist()
    without = np.flatnonzero(~has_images)[:1].tolist()
    assert with_images and without  # retention nok-images: correct cavities kept no views
    with qtbot.waitSignal(view.rerun_finished, timeout=60000) as signal:
        job = view.rerun_selected(with_images + without)
        assert job is not None
    outcomes = {o.record: o for o in signal.args[0]}
    assert job.thread_id is not None and job.thread_id != threading.get_ident()
    for i in with_images:
        o = outcomes[i]
        assert o.rerunnable and not o.differs, o
        assert o.stored_class == o.new_class and abs(o.prob_diff) < 1e-3
    assert not outcomes[without[0]].rerunnable and "not re-runnable" in outcomes[without[0]].note
    assert "all agree" in view.detail.rerun.summary.text()
    assert "1 not re-runnable" in view.detail.rerun.summary.text()
    assert set(column(view, "re-run")) >= {"agrees", "no images"}


def test_a_growing_log_is_followed(qtbot, view, tmp_path):
    path = tmp_path / "growing.h5"
    writer = RecordWriter(path, LAYOUT)
    try:
        for i in range(5):
            writer.append(make_record(i))
        assert view.open_log(path)
        assert view.model.rowCount() == 5 and view.following
        for i in range(5, 9):
            writer.append(make_record(i))
        qtbot.waitUntil(lambda: view.model.rowCount() == 9, timeout=int(HANG_S * 1000))  # bounds a hang only
        assert column(view, "#")[-1] == "8"
    finally:
        writer.close()
    qtbot.waitUntil(lambda: not view.following, timeout=int(HANG_S * 1000))
    assert "closed" in view.info.text()


def test_a_log_whose_writer_died_names_the_command_that_closes_it(qtbot, view, tmp_path):
    from writer_processes import killed_log, start_writer, wait_for_records

    dead = tmp_path / "dead.h5"
    n = killed_log(dead)
    assert view.open_log(dead) and view.model.rowCount() == n
    assert view.writer_note.isVisible() and not view.following and not view.error_strip.active
    assert f"inspector log close {dead}" in view.writer_note.text()
    assert "stopped without closing" in view.info.text()

    # A writer that dies while its log is followed: the note appears, following stops.
    path = tmp_path / "followed.h5"
    proc = start_writer(path, 3, 0, end="time.sleep(600)")
    try:
        wait_for_records(path, 3)
        assert view.open_log(path) and view.following and not view.writer_note.isVisible()
    finally:
        proc.kill()
        proc.wait()
    qtbot.waitUntil(lambda: view.writer_note.isVisible(), timeout=10_000)
    assert not view.following and f"inspector log close {path}" in view.writer_note.text()
    view.close_log()
    assert not view.writer_note.isVisible()


def test_files_that_are_not_logs_show_an_error_state(view, tmp_path, log):
    junk = tmp_path / "x.h5"
    junk.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    assert not view.open_log(junk)
    assert view.error_strip.active and "x.h5" in view.error_strip.message
    assert view.reader is None and view.model.rowCount() == 0

    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["data"] = np.zeros(3)
    assert not view.open_log(other)
    assert "not an inspector inspection log" in view.error_strip.message

    assert view.open_log(log)  # and a good log afterwards clears the state
    assert not view.error_strip.active and view.model.rowCount() == 24


def test_a_100000_record_log_opens_without_reading_images(view, tmp_path, monkeypatch):
    path = tmp_path / "big.h5"
    with RecordWriter(path, LAYOUT) as w:
        w.append(make_record(0))
    n = 100_000
    rng = np.random.default_rng(1)
    with h5py.File(path, "r+") as f:  # grow every field; image chunks stay unwritten (read as zeros)
        for name in LAYOUT.fields():
            f[name].resize(n, axis=0)
        f["predicted"][:] = rng.integers(0, 3, n)
        f["m"][:] = rng.uniform(-0.5, 0.5, n).astype(np.float32)
        f["timestamp"][:] = 1.79e9 + np.arange(n) * 0.1
        f["probs"][:] = rng.dirichlet(np.ones(3), n).astype(np.float32)
        f["committed"][0] = n
    records_read = []
    original = RecordReader.record
    monkeypatch.setattr(RecordReader, "record", lambda self, i: records_read.append(i) or original(self, i))
    # What opens a large log quickly is what it reads, so count that, not seconds (which a loaded
    # machine stretches; `inspector bench --only gui` times the opening): every HDF5 read, by dataset.
    reads = []
    getitem = h5py.Dataset.__getitem__

    def counted(self, args, *more, **options):
        reads.append((self.name.lstrip("/"), args))
        return getitem(self, args, *more, **options)

    monkeypatch.setattr(h5py.Dataset, "__getitem__", counted)
    assert view.open_log(path)
    assert view.model.rowCount() == n and records_read == [0]  # only the selected record's images
    images = {"view1", "view2"} | {f"cam_stage{j + 1}" for j in range(len(LAYOUT.stage_shapes))}
    image_reads = [(name, args) for name, args in reads if name in images]
    assert image_reads and all(_record_index(args) == 0 for _, args in image_reads), image_reads[:5]
    per_field = {}
    for name, args in reads:
        if name not in images and isinstance(_first(args), slice):
            start, stop, _ = _first(args).indices(n)
            per_field[name] = per_field.get(name, 0) + stop - start
    assert per_field and set(per_field.values()) == {n}  # each of the table's columns read once, in chunks
    # Sorting and filtering work on the columns in memory: no column is read again, and images at
    # most for the one record selected afterwards.
    reads.clear()
    view.sort_by("m")
    view.filters.combos["class"].setCurrentText("missing")
    assert not [(name, args) for name, args in reads if isinstance(_first(args), slice)]
    assert len({_record_index(args) for name, args in reads if name in images}) <= 1, reads[:5]
    assert np.all(np.diff(view.model.cols["m"][view.model.order]) >= 0)


def _first(args):
    return args[0] if isinstance(args, tuple) else args


def _record_index(args):
    """The record an h5py selection reads, if it is one record (an integer first index)."""
    first = _first(args)
    return int(first) if isinstance(first, (int, np.integer)) else None


RUN_APP = """
import json, sys
from PySide6 import QtCore
from ui.app import ensure_application, run_app
from ui.main_window import MainWindow

app = ensure_application()
seen = {}

def look_and_quit():
    window = next(w for w in app.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible())
    seen["tab"] = window.tabs.tabText(window.tabs.currentIndex())
    seen["rows"] = window.review.model.rowCount()
    seen["size"] = [window.width(), window.height()]
    window.close()
    app.exit(0)

QtCore.QTimer.singleShot(200, look_and_quit)
code = run_app(view="review", log=sys.argv[1], device="cpu")
print(json.dumps({"code": code, **seen, "bad_view": run_app(view="nope", device="cpu")}))
"""


def test_run_app_opens_the_log_in_review_and_returns_the_loops_exit_code(log):
    """In a process of its own: once a QApplication's exec() has returned, Qt stops delivering
    signals queued from other threads, which would break every later test in this process."""
    import json
    import os
    import subprocess
    import sys

    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    r = subprocess.run([sys.executable, "-c", RUN_APP, str(log)], capture_output=True, text=True, env=env,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    seen = json.loads(r.stdout.strip().splitlines()[-1])
    assert seen == {"code": 0, "tab": "Review", "rows": 24, "size": [1280, 800], "bad_view": 2}
