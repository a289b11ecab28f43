"""The line server (issue 18): `inspector run --opcua` publishes every result to a real asyncua
client, in order and equal to the log; a client that reconnects gets what follows; bad addresses
are refused before anything is inspected. Everything talks to 127.0.0.1 only."""

import asyncio
import datetime as dt
import math
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from asyncua import Client, ua

from cli_support import INSPECTOR, refused, run
from inspector.opcua.address_space import NAMESPACE
from inspector.opcua.endpoint import parse_endpoint
from inspector.opcua.server import LineServer, ServerOptions
from inspector.records import RecordReader
from waiting import HANG_S

ROOT = Path(__file__).resolve().parents[1]
N = 60


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def child():
    """Starts the CLI as a user would; whatever it started is stopped at the end (terminate, then kill)."""
    started = []

    def start(*args, out):
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
        p = subprocess.Popen(INSPECTOR + [str(a) for a in args], stdout=open(out / "stdout", "w"),
                             stderr=open(out / "stderr", "w"), env=env)
        started.append(p)
        return p

    yield start
    for p in started:
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(10)


class Collect:
    def __init__(self):
        self.events = []

    def event_notification(self, ev):
        self.events.append(ev)


async def connect(url):
    """A connected client, once the port answers (bounded: only a hang reaches HANG_S)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + HANG_S
    while True:
        client = Client(url)
        try:
            await client.connect()
            return client
        except (OSError, asyncio.TimeoutError):
            if loop.time() > deadline:
                raise
            await asyncio.sleep(0.1)


async def nodes(client):
    ns = await client.get_namespace_index(NAMESPACE)
    inspector = await client.nodes.objects.get_child(f"{ns}:Inspector")
    event_type = await client.nodes.base_event_type.get_child(f"{ns}:ResultReadyEventType")
    return ns, inspector, event_type


async def subscribe(client):
    ns, inspector, event_type = await nodes(client)
    handler = Collect()
    sub = await client.create_subscription(20, handler)
    await sub.subscribe_events(inspector, event_type)
    return handler


async def until(check, proc=None):
    """Wait on the client's loop until check() or the child ended; bounded by HANG_S."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + HANG_S * 3
    while not check() and loop.time() < deadline:
        if proc is not None and proc.poll() is not None:
            await asyncio.sleep(1.0)  # the notifications already on their way
            break
        await asyncio.sleep(0.05)
    return check()


def index(ev) -> int:
    name, i = ev.ResultId.split("#")
    assert name == "line.h5"
    return int(i)


async def watch_run(url, proc):
    """One client subscribed for the whole run; a second that leaves after 10 results and comes back."""
    whole = await connect(url)
    got = await subscribe(whole)  # before the first result: the run waits for a subscriber
    ns, inspector, _ = await nodes(whole)
    # Anonymous (security none) may read, never call: Stop is refused and the run goes on.
    with pytest.raises(ua.UaStatusCodeError, match="BadUserAccessDenied"):
        await inspector.call_method(f"{ns}:Stop")
    leaving = await connect(url)
    before = await subscribe(leaving)
    assert await until(lambda: len(before.events) >= 10, proc)
    await leaving.disconnect()
    back = await connect(url)
    after = await subscribe(back)
    since = len(got.events)  # the results so far: the one that came back must get every one after these
    assert await until(lambda: len(got.events) >= N, proc), (len(got.events), proc.poll())
    assert await until(lambda: after.events and index(after.events[-1]) == N - 1, proc)
    # The run has ended; the server waits for its clients to leave (commissioning's hold).
    state_node = await inspector.get_child(f"{ns}:State")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + HANG_S
    while await state_node.read_value() != "Stopped" and loop.time() < deadline:
        await asyncio.sleep(0.05)
    state = await state_node.read_value()
    count = await (await inspector.get_child(f"{ns}:ResultCount")).read_value()
    rejects = {}
    for ev in got.events:
        obj = await inspector.get_child(f"{ns}:Cavity{ev.CavityId}")
        rejects[ev.CavityId] = await (await obj.get_child(f"{ns}:Reject")).read_value()
    await whole.disconnect()
    await back.disconnect()
    return got.events, [index(e) for e in after.events], since, count, rejects, state


def test_run_publishes_every_result_in_order_equal_to_the_log(tmp_path, child):
    port = free_port()
    url = f"opc.tcp://127.0.0.1:{port}"
    out = tmp_path / "line.h5"
    proc = child("run", "--source", "simulator", "--source-opt", "rate=0", "--max", N, "--opcua", url,
                 "--opcua-security", "none", "--opcua-wait-for-subscriber", HANG_S, "--out", out, out=tmp_path)
    events, after, since, count, rejects, state = asyncio.run(watch_run(url, proc))
    assert proc.wait(HANG_S) == 0, (tmp_path / "stderr").read_text()

    assert [index(e) for e in events] == list(range(N))  # all, in order, named by the log's record index
    assert count == N
    with RecordReader(out) as r:
        assert len(r) == N
        classes, ok = r.layout.classes, r.layout.ok_class
        last = {}
        for ev in events:
            rec = r.record(index(ev))
            assert ev.CavityId == rec.cavity_id
            assert ev.Class == classes[rec.predicted] and ev.Ok == (ev.Class == ok)
            assert ev.Probability == pytest.approx(float(rec.probs[rec.predicted]), rel=1e-6)
            assert (math.isnan(ev.M) and math.isnan(rec.m)) or ev.M == pytest.approx(rec.m, rel=1e-6)
            assert ev.Influence == rec.influence and ev.IsSimulated
            created = ev.CreationTime.replace(tzinfo=dt.timezone.utc).timestamp()
            assert created == pytest.approx(rec.timestamp, abs=1e-3)
            assert len(ev.ModelId) == 12
            last[rec.cavity_id] = not ev.Ok
    assert rejects == last  # each cavity's Reject is its last result
    assert state == "Stopped"
    # The client that came back got every result after it reconnected, and none twice.
    assert after == list(range(after[0], N)) and after[0] <= since


async def example_against(server, url):
    proc = await asyncio.create_subprocess_exec(sys.executable, str(ROOT / "docs" / "opcua_client_example.py"),
                                                url, "3", stdout=asyncio.subprocess.PIPE)
    try:
        assert await asyncio.to_thread(server.wait_for_subscriber, HANG_S)
        for i in range(3):
            server.publish({"ResultId": f"line.h5#{i}", "CavityId": i + 1, "Class": "ok" if i != 1 else "skewed",
                            "Ok": i != 1, "Probability": 0.9, "M": 0.5, "Influence": "camera 1",
                            "CreationTime": dt.datetime.now(dt.timezone.utc), "IsSimulated": True,
                            "ProcessingTimeMs": 12.0, "ModelId": "0123456789ab", "RigId": ""})
        out, _ = await asyncio.wait_for(proc.communicate(), HANG_S)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    return out.decode().splitlines()


def test_the_readme_example_client_prints_each_result(tmp_path):
    url = f"opc.tcp://127.0.0.1:{free_port()}"
    server = LineServer(ServerOptions(parse_endpoint(url), security="none")).start()
    try:
        lines = asyncio.run(example_against(server, url))
    finally:
        server.close()
    code = (ROOT / "docs" / "opcua_client_example.py").read_text().split("\n", 1)[1]
    assert code in (ROOT / "README.md").read_text()  # the README shows the client that ran here
    assert lines == ["line.h5#0 1 ok OK 0.900", "line.h5#1 2 skewed REJECT 0.900", "line.h5#2 3 ok OK 0.900"]


def test_bad_addresses_are_refused_before_anything_is_inspected(tmp_path):
    out = tmp_path / "line.h5"
    r = run("run", "--max", 1, "--opcua", "opc.tcp://192.0.2.1:4840", "--opcua-security", "none", "--out", out)
    refused(r, "192.0.2.1", "loopback", "--opcua-allow-insecure-remote", command="run")
    for bad, why in (("http://127.0.0.1:4840", "opc.tcp://"), ("opc.tcp://127.0.0.1", "no port"),
                     ("opc.tcp://127.0.0.1:99999", "not an address")):
        refused(run("run", "--max", 1, "--opcua", bad, "--opcua-security", "none", "--out", out), bad, why,
                command="run")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = run("run", "--max", 1, "--opcua", f"opc.tcp://127.0.0.1:{port}", "--opcua-security", "none", "--out", out)
    refused(r, str(port), "cannot serve", command="run")
    refused(run("run", "--max", 1, "--opcua-wait-for-subscriber", 1), "--opcua-wait-for-subscriber", "--opcua")
    assert not out.exists()


async def engineer_calls(url, server):
    client = await connect(url)
    ns, inspector, _ = await nodes(client)
    for i, ok in enumerate((False, False, True, False)):  # cavity 1 twice NOK; cavity 2 OK, then NOK
        server.publish({**RESULT, "ResultId": f"x#{i}", "CavityId": 1 if i < 2 else 2, "Ok": ok})
    nok = {c: await (await inspector.get_child(f"{ns}:Cavity{c}")).get_child(f"{ns}:NokInARow") for c in (1, 2)}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + HANG_S
    while [await nok[c].read_value() for c in (1, 2)] != [2, 1] and loop.time() < deadline:
        await asyncio.sleep(0.05)
    seen = [[await nok[c].read_value() for c in (1, 2)]]
    await inspector.call_method(f"{ns}:AcknowledgeNok", ua.Variant(1, ua.VariantType.Int32))
    seen.append([await nok[c].read_value() for c in (1, 2)])
    await inspector.call_method(f"{ns}:AcknowledgeNok", ua.Variant(0, ua.VariantType.Int32))
    seen.append([await nok[c].read_value() for c in (1, 2)])
    with pytest.raises(ua.UaStatusCodeError, match="BadInvalidArgument"):
        await inspector.call_method(f"{ns}:AcknowledgeNok", ua.Variant(7, ua.VariantType.Int32))
    await inspector.call_method(f"{ns}:Stop")
    await client.disconnect()
    return seen


RESULT = {"ResultId": "", "CavityId": 1, "Class": "ok", "Ok": True, "Probability": 0.9, "M": 0.5,
          "Influence": "camera 1", "CreationTime": dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
          "IsSimulated": True, "ProcessingTimeMs": 1.0, "ModelId": "", "RigId": ""}


def test_an_engineer_acknowledges_noks_and_stops(monkeypatch):
    """The methods themselves, with every client made an engineer (the security part makes real ones)."""
    from asyncua.crypto.permission_rules import User, UserRole

    from inspector.opcua import server as line_server

    monkeypatch.setattr(line_server.AnonymousOnly, "get_user", lambda *a, **k: User(role=UserRole.Admin))
    url = f"opc.tcp://127.0.0.1:{free_port()}"
    stops = []
    server = LineServer(ServerOptions(parse_endpoint(url), security="none"), on_stop=lambda: stops.append(1)).start()
    try:
        seen = asyncio.run(engineer_calls(url, server))
    finally:
        server.close()
    assert seen == [[2, 1], [0, 1], [0, 0]]
    assert stops == [1]


def test_the_core_never_imports_asyncua():
    code = ("import sys, inspector.cli, inspector.pipeline, inspector.opcua.endpoint, inspector.opcua.result_fields, "
            "inspector.opcua.run_publisher, inspector.cli.live\nassert 'asyncua' not in sys.modules")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr


def test_a_port_a_run_just_served_on_is_free_for_the_next_run():
    """A run's server that closes under its clients leaves their connections in TIME_WAIT on its port;
    they must not refuse the next run on that port."""
    from inspector.opcua.endpoint import check_port_free

    url = f"opc.tcp://127.0.0.1:{free_port()}"
    endpoint = parse_endpoint(url)
    server = LineServer(ServerOptions(endpoint, security="none")).start()

    async def closed_under_a_client():
        client = await connect(url)
        await asyncio.get_running_loop().run_in_executor(None, server.close)
        try:
            await client.disconnect()
        except (OSError, asyncio.TimeoutError, ua.UaError):
            pass  # the server is gone: that is the point

    try:
        asyncio.run(closed_under_a_client())
    finally:
        server.close()
    check_port_free(endpoint)  # no EndpointError
