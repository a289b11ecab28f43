"""The source form's camera finder: shown for a source that lists devices, filling cam1 and cam2 on request."""

import textwrap

import pytest

pytest.importorskip("pytestqt")

from inspector.plugins import PluginRegistry, make_entry_point  # noqa: E402
from ui.source_form import SourceChooser  # noqa: E402

CAMERA_PLUGIN = textwrap.dedent(
    """
    from dataclasses import dataclass, field

    from inspector.acquisition import Source


    class Cameras(Source):
        name = "cams"
        searches = 0

        @dataclass
        class Options:
            cam1: str = field(default="", metadata={"help": "camera 1"})
            cam2: str = field(default="", metadata={"help": "camera 2"})

        @classmethod
        def devices(cls):
            cls.searches += 1
            return [{"id": "CAM1", "label": "Aravis Fake (CAM1, 127.0.0.1)"},
                    {"id": "CAM2", "label": "Aravis Fake (CAM2, 127.0.0.2)"}]


    class Broken(Cameras):
        name = "broken-cams"

        @classmethod
        def devices(cls):
            raise RuntimeError("the network is unplugged")
    """
)


@pytest.fixture
def chooser(qtbot, tmp_path, monkeypatch):
    (tmp_path / "camera_ui_plugin.py").write_text(CAMERA_PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = PluginRegistry.discover(extra={"sources": [
        make_entry_point("cams", "camera_ui_plugin:Cameras", "sources"),
        make_entry_point("broken-cams", "camera_ui_plugin:Broken", "sources"),
    ]})
    widget = SourceChooser(registry)
    qtbot.addWidget(widget)
    return widget


def test_a_source_that_lists_cameras_offers_them_on_request(chooser):
    import camera_ui_plugin

    assert "cams" in chooser.finders and "simulator" not in chooser.finders and "folder" not in chooser.finders
    finder = chooser.finders["cams"]
    assert camera_ui_plugin.Cameras.searches == 0  # nothing is searched until asked
    chooser.choose("cams")
    finder.find_button.click()
    assert [finder.list.item(i).text() for i in range(finder.list.count())] == [
        "Aravis Fake (CAM1, 127.0.0.1)", "Aravis Fake (CAM2, 127.0.0.2)"]
    assert not finder.cam_buttons[0].isEnabled()  # nothing selected yet
    finder.list.setCurrentRow(1)
    finder.cam_buttons[0].click()
    finder.list.setCurrentRow(0)
    finder.cam_buttons[1].click()
    assert chooser.options() == {"cam1": "CAM2", "cam2": "CAM1"}


def test_a_failing_search_says_why_instead_of_crashing(chooser):
    chooser.choose("broken-cams")
    finder = chooser.finders["broken-cams"]
    finder.find_button.click()
    assert finder.list.count() == 0 and "the network is unplugged" in finder.status.text()
