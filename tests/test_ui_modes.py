"""Operator and engineer modes, the PIN, the keyboard shortcuts, Help and About (ui/modes.py,
ui/shortcuts.py, ui/window_actions.py); settings in a file under tmp_path, never the user's."""

from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from PySide6 import QtCore, QtGui  # noqa: E402

from cli_support import run  # noqa: E402
from inspector.version import __version__  # noqa: E402
from ui import shortcuts  # noqa: E402
from ui.app import build_window  # noqa: E402
from ui.app_context import load_context  # noqa: E402
from ui.settings import Settings  # noqa: E402
from ui.window_actions import show_about  # noqa: E402
from ui.window_state import LOG_FOLDER_KEY  # noqa: E402

Key = QtCore.Qt.Key


@pytest.fixture(scope="module")
def context():
    return load_context("cpu")


@pytest.fixture
def settings(tmp_path):
    s = Settings.at(tmp_path / "settings.ini")
    s.set(LOG_FOLDER_KEY, str(tmp_path / "logs"))  # never ~/inspector-logs from a test
    return s


@pytest.fixture
def window(qtbot, context, settings):
    w = build_window(context=context, settings=settings)
    qtbot.addWidget(w)
    w.show()
    w.activateWindow()
    qtbot.waitExposed(w)
    yield w
    w.operator.shutdown()
    for dialog in w.dialogs.values():
        dialog.close()


def row_shown(chooser, source, option):
    """Whether the option's row shows on its source's page (a page not chosen now is off screen)."""
    edit = chooser.fields[source][option][0]
    page = chooser.pages[chooser.combo.findData(source)]
    return edit.isVisibleTo(page) and page.layout().isRowVisible(edit)


def test_operator_mode_hides_the_engineers_widgets_and_engineer_mode_shows_them(window):
    op = window.operator
    lock = window.mode_lock
    assert not lock.engineer and not window.engineer_action.isChecked()
    chooser = op.chooser
    # Each source declares its engineer options; the operator keeps the essentials.
    for source, essential, engineer in (
            ("simulator", ("rate", "cavities", "count"), ("mix", "seed", "hidden_share", "prerender")),
            ("folder", ("path", "watch"), ("poll", "settle", "cam1"))):
        chooser.choose(source)
        assert all(row_shown(chooser, source, name) for name in essential), source
        assert not any(row_shown(chooser, source, name) for name in engineer), source
    assert not op.explainer.isVisible() and not op.curves.isVisible()
    assert not op.run_panel.layout().labelForField(op.curves).isVisible()
    assert not window.set_pin_action.isEnabled() and not window.clear_pin_action.isEnabled()

    window.engineer_action.trigger()  # no PIN set: straight in
    assert lock.engineer and window.engineer_action.isChecked()
    assert row_shown(chooser, "folder", "poll") and row_shown(chooser, "simulator", "seed")
    assert op.explainer.isVisible() and op.curves.isVisible()
    assert window.set_pin_action.isEnabled()

    window.engineer_action.trigger()
    assert not lock.engineer and not op.curves.isVisible()


def test_the_pin_refuses_a_wrong_pin_and_accepts_the_right_one(window, settings):
    lock = window.mode_lock
    assert lock.enter_engineer()
    lock.set_pin("4711")
    lock.leave_engineer()
    text = Path(settings.file).read_text()
    assert "4711" not in text and "pin_hash" in text  # only a salted hash is kept

    assert not lock.enter_engineer("1234")
    assert not lock.engineer and not window.operator.curves.isVisible()
    answers = iter(["0000", None, "4711"])  # wrong, cancelled, right
    lock.ask_pin = lambda title: next(answers)
    window.engineer_action.trigger()
    assert not lock.engineer and not window.engineer_action.isChecked()
    window.engineer_action.trigger()
    assert not lock.engineer
    window.engineer_action.trigger()
    assert lock.engineer and window.operator.curves.isVisible()

    # A PIN-locked engineer mode is not restored by the next launch.
    window.close()
    assert not type(lock)(Settings.at(settings.file)).engineer
    lock.clear_pin()
    assert lock.enter_engineer("anything")


def test_f5_starts_shift_f5_stops_and_n_steps_through_the_noks(qtbot, window):
    op = window.operator
    op.chooser.choose("simulator")
    for name, value in (("rate", 20), ("mix", "missing=1"), ("prerender", 4), ("count", 0)):
        op.chooser.set_option(name, value)
    op.curves.setCurrentText("none")
    op.record.setChecked(False)
    window.show_view("Review")
    qtbot.keyClick(window, Key.Key_F5)
    assert not op.running  # F5 belongs to the operator view: review has its own keys
    window.show_view("Operator")
    qtbot.keyClick(window, Key.Key_F5)
    assert op.running
    qtbot.waitUntil(lambda: len(op.gallery.frames) >= 2, timeout=45000)
    qtbot.keyClick(window, Key.Key_F5, QtCore.Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: not op.running, timeout=30000)

    frames = list(op.gallery.frames)
    qtbot.keyClick(window, Key.Key_N)
    assert op.gallery.currentRow() == 0 and op.shown is frames[0] and op.back_button.isVisible()
    qtbot.keyClick(window, Key.Key_N)
    assert op.gallery.currentRow() == 1 and op.shown is frames[1]
    op.back_to_live()
    qtbot.keyClick(window, Key.Key_N)
    assert op.gallery.currentRow() == 0  # after Back to live, N starts again at the newest


def test_a_acknowledges_the_noks_waiting_on_the_tiles(qtbot, window):
    from operator_frames import feed, frame

    op = window.operator
    feed(op, [frame(1, "missing", n=1), frame(2, "skewed", n=2)], [frame(1, "correct", n=3)])
    assert op.tiles.waiting == 2  # the later OK of cavity 1 does not acknowledge its NOK
    qtbot.keyClick(window, Key.Key_A)
    assert op.tiles.waiting == 0


def test_f11_toggles_full_screen_and_f1_opens_the_help_from_the_one_table(qtbot, window):
    assert not window.isFullScreen()
    qtbot.keyClick(window, Key.Key_F11)
    qtbot.waitUntil(window.isFullScreen)
    qtbot.keyClick(window, Key.Key_F11)
    qtbot.waitUntil(lambda: not window.isFullScreen())

    qtbot.keyClick(window, Key.Key_F1)
    dialog = window.dialogs["shortcuts"]
    assert dialog.isVisible()
    listed = [dialog.table.item(r, 0).text() for r in range(dialog.table.rowCount())]
    for s in shortcuts.SHORTCUTS:  # every bound key is listed, and every listed one bound
        assert QtGui.QKeySequence(s.keys).toString(QtGui.QKeySequence.SequenceFormat.NativeText) in listed
        assert window.shortcut_actions[s.slot].shortcut() == QtGui.QKeySequence(s.keys)
    dialog.close()
    assert not dialog.isVisible()


def test_about_names_the_version_model_rig_and_log_folder(window, context, tmp_path):
    dialog = show_about(window)
    text = dialog.text.toPlainText()
    assert f"inspector {__version__}" in text
    assert str(context.model.sha256) in text and "model card" in text
    assert context.rig_identity() in text and str(tmp_path / "logs") in text
    dialog.close()


def test_gui_documents_fullscreen():
    r = run("gui", "--fullscreen", "--help")
    assert r.returncode == 0, r.stderr
    assert "--fullscreen" in r.stdout and "F11" in r.stdout
