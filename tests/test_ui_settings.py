"""What the window remembers between launches (ui/settings.py, ui/window_state.py), kept in a settings
file under the test's tmp_path: never the user's."""

import re
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from PySide6 import QtWidgets  # noqa: E402

from ui.app import build_window  # noqa: E402
from ui.settings import ENVIRONMENT, Settings  # noqa: E402
from ui.window_actions import set_log_folder  # noqa: E402
from test_ui_modes import context, settings  # noqa: E402,F401  (the fixtures: one copy for both files)




@pytest.fixture
def open_window(qtbot, context):
    windows = []

    def open_(settings):
        window = build_window(context=context, settings=settings)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        windows.append(window)
        return window

    yield open_
    for window in windows:
        window.operator.shutdown()


def test_the_tests_settings_are_a_file_under_tmp_not_the_users(settings, tmp_path, settings_of_this_test):
    assert Path(settings.file).parent == tmp_path
    # A window built without settings reads INSPECTOR_SETTINGS, which conftest points at a test's file.
    import os

    assert Settings.user().file == os.environ[ENVIRONMENT] == str(settings_of_this_test)


def test_settings_survive_a_restart_of_the_window(open_window, settings, tmp_path):
    window = open_window(settings)
    op = window.operator
    op.chooser.choose("folder")
    op.chooser.set_option("path", str(tmp_path / "pairs"))
    op.chooser.choose("simulator")
    op.chooser.set_option("rate", 3)
    op.chooser.set_option("seed", 7)  # an engineer's option is remembered too
    op.chooser.choose("folder")
    op.overlay.stage.setCurrentIndex(1)
    op.overlay.opacity.setValue(70)
    colormap = next(op.overlay.colormap.itemText(i) for i in range(op.overlay.colormap.count())
                    if op.overlay.colormap.itemText(i) != op.overlay.colormap.currentText())
    op.overlay.colormap.setCurrentText(colormap)
    op.curves.setCurrentText("all")
    assert window.mode_lock.enter_engineer()
    window.resize(1100, 720)
    split = window.review.findChildren(QtWidgets.QSplitter)[0]
    split.setSizes([300, 700])
    sizes = split.sizes()
    window.close()
    assert Path(settings.file).is_file() and Path(settings.file).parent == tmp_path

    again = open_window(Settings.at(settings.file))
    op = again.operator
    assert op.chooser.name == "folder"
    assert op.chooser.options() == {"path": str(tmp_path / "pairs")}
    assert op.chooser.all_options()["simulator"] == {"rate": "3", "seed": "7"}
    assert op.overlay.stage.currentIndex() == 1
    assert op.overlay.opacity.value() == 70 and op.overlay.opacity_text.text() == "70 %"
    assert op.cameras[0].overlay.opacity() == pytest.approx(0.70)  # the views were told, not only the slider
    assert op.overlay.colormap.currentText() == colormap
    assert op.curves.currentText() == "all"
    assert again.mode_lock.engineer and op.curves.isVisible()
    # The offscreen screen is 800×800 and Qt keeps a restored window on its screen (the width is pulled in
    # and then held at the window's minimum): the height, which fits, shows the geometry came back.
    assert again.height() == 720 and settings.data("window/geometry") is not None
    assert again.review.findChildren(QtWidgets.QSplitter)[0].sizes() == sizes


def test_a_fresh_window_records_by_default_to_a_dated_log_in_the_remembered_folder(open_window, settings, tmp_path):
    window = open_window(settings)
    op = window.operator
    assert op.record.isChecked()
    proposed = Path(op.log_path.text())
    assert proposed.parent == tmp_path / "logs"
    assert re.fullmatch(r"inspector-\d{4}-\d\d-\d\dT\d{6}\.h5", proposed.name), proposed.name

    set_log_folder(window, tmp_path / "line-logs")
    assert Path(op.log_path.text()).parent == tmp_path / "line-logs"
    assert op.run_panel.log_target().parent == tmp_path / "line-logs"
    window.close()
    again = open_window(Settings.at(settings.file))
    assert again.operator.log_folder == tmp_path / "line-logs"
    assert Path(again.operator.log_path.text()).parent == tmp_path / "line-logs"


def test_the_proposed_log_is_dated_when_the_run_starts_and_a_typed_name_is_kept(open_window, settings,
                                                                                tmp_path, monkeypatch):
    import datetime as dt

    import ui.run_panel as run_panel

    class Clock(dt.datetime):
        at = dt.datetime(2026, 12, 3, 6, 0, 0)

        @classmethod
        def now(cls, tz=None):
            return cls.at

    monkeypatch.setattr(run_panel._dt, "datetime", Clock)
    panel = open_window(settings).operator.run_panel
    Clock.at = dt.datetime(2026, 12, 3, 14, 30, 5)  # the window stood open for hours before Start
    assert panel.log_target().name == "inspector-2026-12-03T143005.h5"
    assert panel.log_path.text().endswith("inspector-2026-12-03T143005.h5")
    panel.log_path.setText(str(tmp_path / "shift-b.h5"))
    Clock.at = dt.datetime(2026, 12, 3, 15, 0, 0)
    assert panel.log_target() == tmp_path / "shift-b.h5"  # what the user typed is not renamed


def test_remembered_values_that_no_longer_fit_leave_the_defaults(open_window, settings):
    settings.set("source/name", "a-source-since-uninstalled")
    settings.set("source/options", "{not json")
    settings.set("view/stage", "abc")
    settings.set("view/opacity", "9000")
    settings.set("view/colormap", "no-such-map")
    settings.set("run/curves", "sometimes")
    settings.set("window/geometry", "garbage")
    settings.sync()
    window = open_window(settings)
    op = window.operator
    assert op.chooser.name == "simulator"
    assert op.overlay.stage.currentIndex() == 3
    assert op.overlay.opacity.value() == 100  # clamped to the slider's range
    assert op.curves.currentText() == "nok"
    assert (window.width(), window.height()) == (1280, 800)
