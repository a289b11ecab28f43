"""The line server from the application: an engineer-mode setting, remembered, that makes each run of the
operator view publish its verdicts over OPC UA (a real asyncua client reads them); a port in use refuses
the start before any source opens. 127.0.0.1 only."""

import asyncio
import socket

import pytest

pytest.importorskip("pytestqt")
pytest.importorskip("asyncua")

from asyncua import Client  # noqa: E402

from inspector.opcua.address_space import NAMESPACE  # noqa: E402
from test_opcua_line import free_port  # noqa: E402
from test_ui_modes import LOG_FOLDER_KEY, context, settings, window  # noqa: E402,F401  (fixtures)
from ui.line_server import LineServerSetting  # noqa: E402
from ui.settings import Settings  # noqa: E402
from ui.window_actions import set_line_server  # noqa: E402
from waiting import HANG_S  # noqa: E402


async def results_published(url, at_least):
    """ResultCount, read by a real client once it reaches `at_least` (bounded)."""
    client = Client(url, timeout=10)
    await client.connect()
    try:
        idx = await client.get_namespace_index(NAMESPACE)
        count = await client.nodes.objects.get_child([f"{idx}:Inspector", f"{idx}:ResultCount"])
        loop = asyncio.get_running_loop()
        deadline = loop.time() + HANG_S
        while (n := await count.read_value()) < at_least:
            assert loop.time() < deadline, f"only {n} results published"
            await asyncio.sleep(0.1)
        return n
    finally:
        await client.disconnect()


def _simulate(op):
    op.chooser.choose("simulator")
    for name, value in (("rate", 20), ("prerender", 4), ("count", 0)):
        op.chooser.set_option(name, value)
    op.curves.setCurrentText("none")
    op.record.setChecked(False)


def test_only_the_engineer_sets_the_line_server_and_it_is_remembered(qtbot, window, settings, context):
    assert not window.line_server_action.isEnabled()  # operator mode
    window.engineer_action.trigger()
    assert window.line_server_action.isEnabled()
    set_line_server(window, LineServerSetting("opc.tcp://127.0.0.1:4840", "none"))
    window.close()
    from ui.app import build_window

    again = build_window(context=context, settings=Settings.at(settings.file))
    qtbot.addWidget(again)
    assert again.operator.line_server == LineServerSetting("opc.tcp://127.0.0.1:4840", "none")


def test_a_run_of_the_operator_view_publishes_on_the_line_server(qtbot, window):
    op = window.operator
    _simulate(op)
    url = f"opc.tcp://127.0.0.1:{free_port()}"
    set_line_server(window, LineServerSetting(url, "none"))
    assert op.start()
    try:
        assert asyncio.run(results_published(url, 3)) >= 3
    finally:
        op.stop()
        qtbot.waitUntil(lambda: not op.running, timeout=HANG_S * 1000)
    # The run's end closed its server: nothing listens on the port any more. (Binding it again may still
    # fail for a while: the connections the server closed wait in TIME_WAIT, as TCP asks.)
    with socket.socket() as s, pytest.raises(ConnectionRefusedError):
        s.connect(("127.0.0.1", int(url.rsplit(":", 1)[1])))


def test_a_port_in_use_refuses_the_start_before_the_source_opens(window):
    op = window.operator
    _simulate(op)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        set_line_server(window, LineServerSetting(f"opc.tcp://127.0.0.1:{busy.getsockname()[1]}", "none"))
        assert not op.start()
    assert not op.running and "in use" in op.error_strip.message


def test_what_the_line_server_could_not_deliver_is_shown_when_the_run_ends(qtbot, window, monkeypatch):
    """The run's end shows the server's drop report (here one client's, as `LineServer.drop_report`
    words it) in the error strip, where the operator sees it."""
    from ui import line_server

    closed = []
    original = line_server.LineServerRun.close

    def close(self, stats):
        closed.append(original(self, stats))
        return ["client anonymous@127.0.0.1:50000 missed 7 results (it did not read them in time; "
                "the log has every record)"]

    monkeypatch.setattr(line_server.LineServerRun, "close", close)
    op = window.operator
    _simulate(op)
    set_line_server(window, LineServerSetting(f"opc.tcp://127.0.0.1:{free_port()}", "none"))
    assert op.start()
    op.stop()
    qtbot.waitUntil(lambda: not op.running, timeout=HANG_S * 1000)
    assert closed == [[]]  # the real server delivered everything to nobody: nothing to report
    strip = op.errors.strip
    assert strip.active and "OPC UA: client anonymous@127.0.0.1:50000 missed 7 results" in strip.label.text()
