"""The operator's tiles: one per cavity, each changed only by its own cavity's results; a NOK waits
until acknowledged; the details below follow the selected cavity or the newest, labelled with it."""

import pytest

pytest.importorskip("pytestqt")

from operator_frames import feed, frame  # noqa: E402
from ui.app_context import load_context  # noqa: E402
from ui.operator_view import OperatorView  # noqa: E402
from ui.cavity_tiles import PENDING_BORDER  # noqa: E402
from ui.palette import NOK_COLOUR, OK_COLOUR, PENDING_COLOUR  # noqa: E402

MARK = f"border: {PENDING_BORDER}px solid {PENDING_COLOUR}"  # the amber outline of a NOK waiting


@pytest.fixture(scope="module")
def context():
    return load_context("cpu")


@pytest.fixture
def view(qtbot, context, tmp_path):
    v = OperatorView(context, log_folder=tmp_path)
    qtbot.addWidget(v)
    v.resize(1280, 760)
    v.show()
    return v


def test_two_cavities_get_two_tiles_that_change_only_with_their_own_results(view):
    f = feed(view, [frame(2, "correct", n=1)], [frame(1, "missing", n=2)])
    assert view.tiles.cavity_ids() == [1, 2] and not view.tiles.placeholder.isVisible()
    # In the shot's order on screen, whichever came first.
    one, two = view.tiles.tile(1), view.tiles.tile(2)
    assert view.tiles.row.indexOf(one) < view.tiles.row.indexOf(two)
    assert (one.state, two.state) == ("NOK", "OK")
    assert one.verdict.text() == "NOK" and one.detail.full_text() == "missing 90.0 %"
    assert f"background: {NOK_COLOUR}" in one.styleSheet() and f"background: {OK_COLOUR}" in two.styleSheet()
    # A run of cavity 2's results leaves cavity 1's tile as it was, and the other way round.
    seen_one = []
    for n, cls in enumerate(("skewed", "correct", "missing"), start=3):
        f.deliver(frame(2, cls, n=n))
        view._draw_latest()
        seen_one.append((one.state, one.frame.frame_ids[0]))
        assert two.state == ("OK" if cls == "correct" else "NOK") and two.frame.frame_ids[0] == n
    assert seen_one == [("NOK", 2)] * 3
    f.deliver(frame(1, "correct", n=9))
    view._draw_latest()
    assert one.state == "OK" and two.state == "NOK" and two.frame.frame_ids[0] == 5
    assert "cavity 1 · " in one.when.full_text()


def test_a_nok_waits_until_acknowledged_and_the_counter_says_how_many(view, qtbot):
    waiting = []
    view.tiles.waiting_changed.connect(waiting.append)
    f = feed(view, [frame(1, "missing", n=1), frame(2, "correct", n=2)])
    one, two = view.tiles.tile(1), view.tiles.tile(2)
    assert view.tiles.waiting == 1 and one.pending == 1 and one.badge.isVisibleTo(one)
    assert MARK in one.styleSheet() and MARK not in two.styleSheet()
    # The latest verdict shows (OK), the NOK before it still waits, marked and counted.
    f.deliver(frame(1, "correct", n=3))
    view._draw_latest()
    assert one.state == "OK" and one.pending == 1 and MARK in one.styleSheet()
    # Two NOKs of a cavity between two draws: the tile shows the newest, both wait.
    f.deliver(frame(2, "skewed", n=4), frame(2, "missing", n=5))
    view._draw_latest()
    assert two.pending == 2 and view.tiles.waiting == 3
    assert view.tiles.waiting_label.full_text() == "3 NOK to acknowledge" and view.tiles.ack_button.isEnabled()
    # A click on a tile acknowledges its cavity only, and shows it below.
    qtbot.mouseClick(one, __import__("PySide6").QtCore.Qt.MouseButton.LeftButton)
    assert one.pending == 0 and two.pending == 2 and view.tiles.waiting == 2
    assert MARK not in one.styleSheet() and not one.badge.isVisibleTo(one)
    assert view.tiles.selected == 1 and view.shown.cavity_id == 1
    assert view.acknowledge_all() == 2 and view.tiles.waiting == 0 and waiting[-1] == 0
    assert view.tiles.waiting_label.full_text() == "no NOK waiting" and not view.tiles.ack_button.isEnabled()
    assert two.state == "NOK"  # acknowledging changes no verdict


def test_the_details_follow_the_selected_cavity_or_the_newest_and_say_which(view):
    f = feed(view, [frame(1, "missing", n=1)], [frame(2, "skewed", n=2, m=0.31)])
    # Nothing selected: the newest, labelled with its cavity, curves and engineer's line from the same frame.
    assert view.shown.cavity_id == 2 and "cavity 2 (newest)" in view.shown_label.full_text()
    assert view.curves_plot.plotted() == 3
    assert view.tiles.engineer.full_text() == "cavity 2: decision rests on camera 1, m = +0.31"
    view.tiles.select(1)
    assert view.shown.cavity_id == 1 and "cavity 1 (selected)" in view.shown_label.full_text()
    assert view.tiles.engineer.full_text() == "cavity 1: decision rests on camera 1, m = −0.79"
    assert view.tiles.tile(1).selected and not view.tiles.tile(2).selected
    f.deliver(frame(2, "missing", n=3))  # the other cavity's result moves its tile, not the details
    view._draw_latest()
    assert view.shown.cavity_id == 1 and view.tiles.tile(2).frame.frame_ids[0] == 3
    f.deliver(frame(1, "correct", n=4))
    view._draw_latest()
    assert view.shown.cavity_id == 1 and view.shown.frame_ids[0] == 4
    assert "m — (curves not computed" in view.tiles.engineer.full_text()


def test_the_engineer_line_hides(view):
    feed(view, [frame(1, "missing", n=1)])
    assert view.tiles.engineer.isVisibleTo(view)
    view.tiles.set_engineer_line_visible(False)
    assert not view.tiles.engineer.isVisibleTo(view)
    view.tiles.set_engineer_line_visible(True)
    assert view.tiles.engineer.isVisibleTo(view)


def test_a_lost_camera_turns_every_tile_red_and_back_to_waiting(view):
    feed(view, [frame(1, "correct", n=1), frame(2, "correct", n=2)])
    view._show_lost({"camera 2": "gige 10.0.0.2 does not answer"})
    assert view.run_state.state == "lost" and view.run_state.text() == "LOST · camera 2"
    assert all(t.state == "lost" for t in view.tiles.tiles.values())
    view._show_lost({})
    assert all(t.state == "idle" for t in view.tiles.tiles.values())
    assert "camera 2 back" in view.tiles.tile(1).detail.full_text()


def test_the_state_strip_says_waiting_for_the_first_cavity_then_running_then_waiting_for_the_trigger(view):
    import time
    from types import SimpleNamespace

    live = SimpleNamespace(pipeline=SimpleNamespace(source=SimpleNamespace(describe=lambda: "line 1")))
    view._drawn_this_run = 0
    view._show_running(live)
    assert view.run_state.state == "waiting" and "waiting for the first cavity" in view.run_state.detail.full_text()
    feed(view, [frame(1, "correct", n=1), frame(2, "correct", n=2)])
    view._show_running(live)
    assert view.run_state.state == "running" and "2 cavities per shot" in view.run_state.detail.full_text()
    view._last_result = time.monotonic() - 10  # the press stopped: no shot for 10 s
    view._show_running(live)
    assert view.run_state.state == "waiting" and "waiting for the trigger" in view.run_state.detail.full_text()
