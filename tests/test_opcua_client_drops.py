"""A client that stops reading (issue 18): it loses its own oldest results, counted per client and
never in the log; the server's memory for it stays bounded; the clients that read lose nothing.
Everything talks to 127.0.0.1 only; the clients run in this process's threads."""

import asyncio
import threading
import time

from asyncua import Client

from cli_support import refused, run
from inspector.opcua.client_drops import owed_events
from inspector.opcua.endpoint import parse_endpoint
from inspector.opcua.server import LineServer, ServerOptions
from inspector.records import RecordReader
from test_opcua_line import RESULT, Collect, connect, free_port, nodes
from waiting import HANG_S

BACKLOG = 50
N = 300


class Stalled:
    """A client on its own thread and loop: subscribes, then blocks its loop (reads nothing) until
    `resume` is set, then reads again until `enough()` or HANG_S."""

    def __init__(self, url: str, enough=lambda events: False):
        self.url, self.enough = url, enough
        self.handler = Collect()
        self.subscribed, self.resume, self.done = threading.Event(), threading.Event(), threading.Event()
        self.thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)
        self.thread.start()

    async def _main(self):
        client = Client(self.url)
        try:
            await client.connect()
            _, inspector, event_type = await nodes(client)
            sub = await client.create_subscription(20, self.handler)
            await sub.subscribe_events(inspector, event_type)
            self.subscribed.set()
            self.resume.wait(HANG_S * 3)  # blocks this client's loop: nothing is read meanwhile
            deadline = time.monotonic() + HANG_S
            while not self.enough(self.handler.events) and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            await client.disconnect()
        except Exception:  # the server closed under it: the events it got are what it got
            pass
        finally:
            self.subscribed.set()
            self.done.set()


def server_subscriptions(server):
    return list(server._server.iserver.subscription_service.subscriptions.values())


async def reading_client(url, server, stalled):
    reader = await connect(url)
    _, inspector, event_type = await nodes(reader)
    got = Collect()
    sub = await reader.create_subscription(20, got)
    await sub.subscribe_events(inspector, event_type)
    assert stalled.subscribed.wait(HANG_S)
    most_owed = 0
    for i in range(N):
        server.publish({**RESULT, "ResultId": f"line.h5#{i}"})
        if i % 5 == 4:
            await asyncio.sleep(0.03)  # the line's pace, which a reading client keeps up with
            most_owed = max([most_owed] + [owed_events(s) for s in server_subscriptions(server)])
    loop = asyncio.get_running_loop()
    deadline = loop.time() + HANG_S
    while len(got.events) < N and loop.time() < deadline:
        await asyncio.sleep(0.05)
    await reader.disconnect()
    return [e.ResultId for e in got.events], most_owed


def test_a_client_that_stops_reading_loses_its_oldest_results_counted_for_it_alone():
    url = f"opc.tcp://127.0.0.1:{free_port()}"
    server = LineServer(ServerOptions(parse_endpoint(url), security="none", client_backlog=BACKLOG)).start()
    stalled = Stalled(url, enough=lambda events: len(events) + sum(server.client_drops().values()) >= N)
    try:
        read, most_owed = asyncio.run(reading_client(url, server, stalled))
        drops_while_stalled = server.client_drops()
        stalled.resume.set()
        assert stalled.done.wait(HANG_S * 2)
    finally:
        stalled.resume.set()
        server.close()
    # The reading client got every result, in order, and missed none.
    assert read == [f"line.h5#{i}" for i in range(N)]
    # What the server kept for the stalled client never passed the backlog: its memory is bounded.
    assert most_owed <= BACKLOG
    # Only the stalled client lost results, and it is named by its account and address.
    assert len(drops_while_stalled) == 1, drops_while_stalled
    (client, missed), = drops_while_stalled.items()
    assert client.startswith("anonymous@127.0.0.1:")
    assert missed >= N - BACKLOG - 40, missed  # 40: what its publish requests in flight took before it stalled
    # Once it reads again it gets what was kept for it: received + counted as missed = published, exactly.
    got = [e.ResultId for e in stalled.handler.events]
    assert len(got) + server.client_drops()[client] == N
    assert got == sorted(got, key=lambda r: int(r.split("#")[1]))  # in order, the oldest ones missing
    assert got[-1] == f"line.h5#{N - 1}"
    assert server.published == N and server.dropped == 0


def test_the_run_names_the_client_that_did_not_read_and_logs_every_record(tmp_path):
    """`inspector run --opcua-client-backlog 5` with a client that subscribes and never reads: the run
    ends as usual, its log has every record, and the summary says which client missed how many."""
    url = f"opc.tcp://127.0.0.1:{free_port()}"
    out = tmp_path / "line.h5"
    box = {}

    def stall():
        async def main():
            client = await connect(url)
            _, inspector, event_type = await nodes(client)
            sub = await client.create_subscription(20, Collect())
            await sub.subscribe_events(inspector, event_type)
            box["subscribed"] = time.monotonic()
            box["release"].wait(HANG_S * 6)  # never reads while the run lasts

        box["release"] = threading.Event()
        try:
            asyncio.run(main())
        except Exception:
            pass

    thread = threading.Thread(target=stall, daemon=True)
    thread.start()
    try:
        r = run("run", "--source", "simulator", "--max", 60, "--opcua", url, "--opcua-security", "none",
                "--opcua-client-backlog", 5, "--opcua-wait-for-subscriber", 2, "--out", out)
    finally:
        box.get("release", threading.Event()).set()
        thread.join(HANG_S)
    assert r.returncode == 0, r.stderr
    assert "subscribed" in box
    lines = [line for line in r.stderr.splitlines() if "missed" in line]
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("inspector run: OPC UA: client anonymous@127.0.0.1:")
    missed = int(lines[0].split(" missed ")[1].split()[0])
    assert 60 - 5 - 40 <= missed <= 60, lines[0]
    with RecordReader(out) as log:
        assert len(log) == 60


def test_client_backlog_only_with_opcua(tmp_path):
    refused(run("run", "--max", 1, "--opcua-client-backlog", 5, "--out", tmp_path / "x.h5"),
            "--opcua-client-backlog", "only with --opcua", command="run")
    assert not (tmp_path / "x.h5").exists()
