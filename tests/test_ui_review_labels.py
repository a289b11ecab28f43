"""Labelling in the review view: true classes through the panel and keys, refused classes, and the
records ordered by the model's uncertainty (margin) for labelling the most informative first."""

import dataclasses
import json

import h5py
import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6 import QtCore  # noqa: E402

from inspector.records import LabelStore, Layout, RecordWriter  # noqa: E402
from inspector.records.labels import labels_path  # noqa: E402
from records_support import LAYOUT, make_record  # noqa: E402
from review_support import column, shown_review_view  # noqa: E402
from ui.record_table import COLUMNS  # noqa: E402

N = 40


@pytest.fixture
def log(tmp_path):
    """40 records over correct / missing / skewed, each with its own random probabilities."""
    path = tmp_path / "line.h5"
    with RecordWriter(path, LAYOUT) as w:
        for i in range(N):
            w.append(make_record(i))
    return path


@pytest.fixture
def view(qtbot):
    yield from shown_review_view(qtbot)




def _stored(log):
    return {i: (label.verdict, label.true_class) for i, label in LabelStore(log).current().items()}


def _probs(log):
    with h5py.File(log, "r") as f:
        return f["probs"][:N]


def _numpy_margin(probs):
    top = np.sort(probs, axis=1)
    return top[:, -1] - top[:, -2]


def _click(qtbot, button):
    qtbot.mouseClick(button, QtCore.Qt.MouseButton.LeftButton)


def test_the_panel_gives_a_true_class_and_its_verdict(qtbot, view, log):
    view.open_log(log)
    panel = view.label_panel
    assert list(panel.class_buttons) == ["correct", "missing", "skewed"]
    view.select_record(3)
    panel.comment.setText("insert tilted")
    _click(qtbot, panel.class_buttons["skewed"])
    label = LabelStore(log).current()[3]
    assert (label.verdict, label.true_class, label.comment) == ("NOK", "skewed", "insert tilted")
    row = view.model.row_of(3)
    assert (column(view, "label")[row], column(view, "true class")[row]) == ("NOK", "skewed")
    assert panel.current.text() == "now: NOK · skewed"
    assert "NOK · skewed" in view.detail.header_text

    _click(qtbot, panel.class_buttons["correct"])  # the OK class: verdict OK
    assert _stored(log)[3] == ("OK", "correct")
    _click(qtbot, panel.buttons["NOK"])  # NOK without a class is allowed
    assert _stored(log)[3] == ("NOK", "")
    assert panel.current.text() == "now: NOK" and column(view, "true class")[row] == ""
    _click(qtbot, panel.buttons["OK"])  # OK means the OK class
    assert _stored(log)[3] == ("OK", "correct")
    _click(qtbot, panel.buttons["unsure"])
    assert _stored(log)[3] == ("unsure", "")
    assert len(LabelStore(log).history()) == 5


def test_keys_one_to_nine_give_the_kth_class(qtbot, view, log):
    view.open_log(log)
    view.table.setFocus()
    view.select_record(5)
    qtbot.keyClick(view.table, QtCore.Qt.Key.Key_2)
    assert _stored(log)[5] == ("NOK", "missing")
    qtbot.keyClick(view.table, QtCore.Qt.Key.Key_1)
    assert _stored(log)[5] == ("OK", "correct")
    qtbot.keyClick(view.table, QtCore.Qt.Key.Key_3)
    assert _stored(log)[5] == ("NOK", "skewed")
    qtbot.keyClick(view.table, QtCore.Qt.Key.Key_9)  # the log has three classes: nothing happens
    qtbot.keyClick(view.table, QtCore.Qt.Key.Key_N)
    assert _stored(log)[5] == ("NOK", "")
    qtbot.keyClick(view.table, QtCore.Qt.Key.Key_O)
    assert _stored(log)[5] == ("OK", "correct")
    assert len(LabelStore(log).history()) == 5 and not view.error_strip.active
    # Typing a digit into the comment writes the digit, not a label.
    view.label_panel.comment.setFocus()
    qtbot.keyClick(view.label_panel.comment, QtCore.Qt.Key.Key_2)
    assert view.label_panel.comment.text() == "2" and len(LabelStore(log).history()) == 5


@pytest.mark.parametrize("verdict, true_class, why", [
    ("NOK", "warped", "'warped' is not one of the model's classes"),
    ("OK", "skewed", "OK means class 'correct'"),
    ("NOK", "correct", "NOK cannot be class 'correct'"),
    ("unsure", "missing", "unsure label names no true class"),
])
def test_a_label_the_log_cannot_take_is_refused_and_nothing_written(view, log, verdict, true_class, why):
    view.open_log(log)
    view.select_record(2)
    assert view.label_selected(verdict, "by hand", true_class) == []
    assert view.error_strip.active and why in view.error_strip.message
    assert not labels_path(log).exists()
    assert view.model.label_of(2) == "" and view.model.true_class_of(2) == ""
    assert view.label_selected("NOK", "", "missing") == [2]  # a good label afterwards: saved, strip cleared
    assert not view.error_strip.active and _stored(log) == {2: ("NOK", "missing")}


def test_a_hand_edited_labels_file_with_a_foreign_class_is_refused_on_opening(view, log):
    store = LabelStore(log)
    store.add(1, "NOK", true_class="missing")
    store.add(2, "NOK", true_class="skewed")
    lines = labels_path(log).read_text().splitlines()
    edited = json.loads(lines[-1])
    edited.update(true_class="warped", when="2030-01-01T00:00:00+00:00")
    labels_path(log).write_text("\n".join(lines + [json.dumps(edited)]) + "\n")
    before = labels_path(log).read_bytes()
    assert view.open_log(log)
    message = view.error_strip.message
    assert "record 2" in message and "'warped'" in message
    assert view.model.true_class_of(1) == "missing"
    assert view.model.true_class_of(2) == "skewed"  # the record keeps its previous label
    assert labels_path(log).read_bytes() == before


def test_the_margin_column_is_the_difference_of_the_two_most_likely_classes(view, log):
    view.open_log(log)
    expected = _numpy_margin(_probs(log))
    np.testing.assert_allclose(view.model.cols["margin"], expected, atol=1e-7)
    shown = column(view, "margin")
    assert [float(t) for t in shown] == pytest.approx([float(f"{m:.3f}") for m in expected], abs=1e-9)


def test_most_uncertain_first_orders_by_ascending_margin_and_starts_at_the_top(qtbot, view, log):
    view.open_log(log)
    margin = _numpy_margin(_probs(log))
    view.uncertain_first.setChecked(True)
    assert view.model.order.tolist() == np.argsort(margin, kind="stable").tolist()
    assert view.current_record == int(np.argmin(margin))
    header = view.table.horizontalHeader()
    assert header.sortIndicatorSection() == COLUMNS.index("margin")

    view.sort_by("m")  # another order: the switch follows the table
    assert not view.uncertain_first.isChecked()
    x = header.sectionViewportPosition(COLUMNS.index("margin")) + 10
    qtbot.mouseClick(header.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=QtCore.QPoint(x, 5))
    assert view.uncertain_first.isChecked()  # a click on the margin header: ascending, the switch is on again
    assert view.model.order.tolist() == np.argsort(margin, kind="stable").tolist()
    qtbot.mouseClick(header.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=QtCore.QPoint(x, 5))
    assert not view.uncertain_first.isChecked()  # descending: most certain first
    view.uncertain_first.setChecked(True)
    view.uncertain_first.setChecked(False)
    assert view.model.order.tolist() == list(range(N))


def test_filters_and_the_uncertainty_order_work_together(view, log):
    view.open_log(log)
    margin = _numpy_margin(_probs(log))
    predicted = view.model.cols["predicted"]
    view.uncertain_first.setChecked(True)
    view.filters.combos["class"].setCurrentText("missing")
    missing = np.flatnonzero(predicted == 1)
    assert len(missing) >= 5
    assert view.model.order.tolist() == missing[np.argsort(margin[missing], kind="stable")].tolist()
    assert set(column(view, "class")) == {"missing"}
    shown = [float(t) for t in column(view, "margin")]
    assert shown == sorted(shown)
    view.filters.reset()  # the order stays
    assert view.model.order.tolist() == np.argsort(margin, kind="stable").tolist()


def test_down_moves_to_the_next_most_uncertain_record_while_labelling(qtbot, view, log):
    LabelStore(log).add(int(np.argsort(_numpy_margin(_probs(log)))[1]), "OK")  # labelled before: filtered out
    view.open_log(log)
    view.filters.combos["label"].setCurrentText("none")
    view.uncertain_first.setChecked(True)
    order = view.model.order.tolist()
    margin = view.model.cols["margin"]
    assert len(order) == N - 1 and np.all(np.diff(margin[order]) >= 0)
    view.table.setFocus()
    visited = [view.current_record]
    for key in (QtCore.Qt.Key.Key_3, QtCore.Qt.Key.Key_2, QtCore.Qt.Key.Key_1):
        qtbot.keyClick(view.table, key)  # label, then on to the next most uncertain
        qtbot.keyClick(view.table, QtCore.Qt.Key.Key_Down)
        visited.append(view.current_record)
    assert visited == order[:4]
    stored = _stored(log)
    assert [stored[r] for r in order[:3]] == [("NOK", "skewed"), ("NOK", "missing"), ("OK", "correct")]


def test_a_log_with_more_classes_than_keys_offers_them_in_a_list(qtbot, view, tmp_path):
    classes = tuple(f"defect{k}" for k in range(11)) + ("good",)
    layout = Layout(classes=classes, view_shape=LAYOUT.view_shape, stage_shapes=LAYOUT.stage_shapes, p=LAYOUT.p,
                    ok_class="good")
    path = tmp_path / "many.h5"
    rng = np.random.default_rng(3)
    with RecordWriter(path, layout) as w:
        for i in range(6):
            probs = rng.dirichlet(np.ones(len(classes))).astype(np.float32)
            w.append(dataclasses.replace(make_record(i), probs=probs, predicted=int(probs.argmax()),
                                         target=int(probs.argmax())))
    view.open_log(path)
    panel = view.label_panel
    assert panel.class_list is not None and not panel.class_buttons
    view.select_record(4)
    panel.class_list.activated.emit(classes.index("good") + 1)
    assert _stored(path)[4] == ("OK", "good")
    panel.class_list.activated.emit(11)
    assert _stored(path)[4] == ("NOK", "defect10")
    view.table.setFocus()
    qtbot.keyClick(view.table, QtCore.Qt.Key.Key_9)
    assert _stored(path)[4] == ("NOK", "defect8")
    np.testing.assert_allclose(view.model.cols["margin"], _numpy_margin(view.reader.scalars(names=("probs",))["probs"]))
