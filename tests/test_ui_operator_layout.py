"""The operator screen's layout holds from 1024×768 to 1920×1080: every label's text fits, every button
keeps its minimum size, the window never resizes itself (also after Stop and a source change), and in
full screen at 1080 p the verdict's capitals are at least 1/12 of the height. Each size is grabbed to
a PNG (in $INSPECTOR_SCREENSHOTS when set) with the function docs/make_screenshots.py uses."""

import os
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from operator_frames import feed, frame  # noqa: E402
from ui.app import build_window  # noqa: E402
from ui.app_context import load_context  # noqa: E402
from ui.window_grab import grab_at, layout_problems, settle  # noqa: E402

SIZES = ((1024, 768), (1280, 800), (1920, 1080))


@pytest.fixture(scope="module")
def context():
    return load_context("cpu")


@pytest.fixture
def window(qtbot, context, tmp_path):
    w = build_window(context=context, log_folder=str(tmp_path / "logs"))
    qtbot.addWidget(w)
    yield w
    w.operator.shutdown()


def _shots(tmp_path) -> Path:
    return Path(os.environ.get("INSPECTOR_SCREENSHOTS") or tmp_path)


def test_the_operator_screen_holds_at_three_sizes_with_two_cavities_shown(window, tmp_path):
    op = window.operator
    feed(op, [frame(1, "missing", n=1), frame(2, "correct", n=2)], [frame(2, "skewed", n=3, m=0.42)])
    stats = type("S", (), dict(inspected=1234, per_class={"correct": 1000, "missing": 200, "skewed": 34},
                               recent_throughput=123.4, latency_ms={"acquire": 12.0, "model": 95.0, "explain": 40.0},
                               dropped=12, source_dropped=3, bad_frames=2, source_errors=1, reconnects=1, lost={},
                               elapsed_s=3600.0))()
    op.counters.show_stats(stats)
    for width, height in SIZES:
        path = _shots(tmp_path) / f"operator-{width}x{height}.png"
        pixmap = grab_at(window, width, height, path)
        assert (pixmap.width(), pixmap.height()) == (width, height) and path.stat().st_size > 10_000
        assert layout_problems(window, (width, height)) == []
        tiles = [op.tiles.tile(1), op.tiles.tile(2)]
        assert all(t.width() > 150 and t.verdict.text() in ("OK", "NOK") for t in tiles)
        if height == 1080:  # full screen on a 22" 1080 p panel: read at 2 m
            assert min(t.cap_height() for t in tiles) >= height / 12
        # The whole plot is inside its widget: it once ran past the edge and stopped at p = 0.8.
        plot = op.curves_plot
        assert plot.plot.sceneBoundingRect().right() <= plot.viewport().width() + 1, (width, height)
    # Up to 4K and back: the tiles' share of a 2160 px window must not hold the window that tall after.
    grab_at(window, 3840, 2160)
    assert layout_problems(window, (3840, 2160)) == []
    grab_at(window, 1280, 800)
    assert layout_problems(window, (1280, 800)) == []


def test_the_window_keeps_its_size_after_a_run_stops_and_the_source_changes(window, qtbot, tmp_path):
    op = window.operator
    grab_at(window, 1024, 768)
    op.chooser.choose("simulator")
    for name, value in (("rate", 10), ("cavities", 2), ("prerender", 4)):
        op.chooser.set_option(name, value)
    op.record.setChecked(True)
    log = tmp_path / "run.h5"
    op.log_path.setText(str(log))
    assert op.start()
    assert window.note.full_text() == f"recording to {log}" and op.run_state.state in ("starting", "waiting")
    qtbot.waitUntil(lambda: len(op.tiles.tiles) == 2, timeout=45000)
    qtbot.waitUntil(lambda: op.run_state.state == "running", timeout=5000)
    assert op.run_state.log == str(log) and "REC run.h5" in op.run_state.recording.full_text()
    op.stop()
    qtbot.waitUntil(lambda: not op.running, timeout=30000)
    settle()
    assert op.summary.isVisible() and op.run_state.state == "stopped"
    assert window.note.full_text() == ""  # no stale "recording to …" once nothing records
    assert layout_problems(window, (1024, 768)) == []
    grab_at(window, 1024, 768, _shots(tmp_path) / "operator-1024x768-stopped.png")
    for name in ("folder", "video", "simulator"):
        op.chooser.choose(name)
        settle()
        assert layout_problems(window, (1024, 768)) == [], name
    op.record.setChecked(False)
    assert op.start()
    assert window.note.full_text() == "not recording"
    op.stop()
    qtbot.waitUntil(lambda: not op.running, timeout=30000)
