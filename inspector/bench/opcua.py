"""`inspector bench` section "opcua": the line server's cost to the pipeline and its latency, in one run.

Three runs of the same pipeline (pre-rendered simulator, keep_all, as the "pipeline" section):
without the server; with it and one client subscribed to `ResultReadyEventType` (the latency from
the record written to the client's notification, median and 99th percentile); with it and a client
that subscribes and then never reads again (its event loop blocked), which must not slow the
pipeline (issue 18: within 10 % of the run without a server). The clients run in this process
on their own threads, so they share its cores with the pipeline: the figures are an upper bound of
what a client on another machine costs.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time

import numpy as np

from inspector.bench.table import Row

SECTION = "opcua"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _client(url: str, *, reading: bool, seen: dict, ready: threading.Event, done: threading.Event) -> None:
    """Subscribes to the result events; a reading client notes when each arrived (by ResultId), the
    other blocks its own loop once subscribed, so it never reads its socket again."""
    from asyncua import Client

    from inspector.opcua.address_space import NAMESPACE

    class Note:
        def event_notification(self, ev):
            seen[ev.ResultId] = time.monotonic()

        def status_change_notification(self, status):  # the server closing at the end of the run
            pass

    async def main():
        async with Client(url) as client:
            ns = await client.get_namespace_index(NAMESPACE)
            inspector = await client.nodes.objects.get_child(f"{ns}:Inspector")
            etype = await client.nodes.base_event_type.get_child(f"{ns}:ResultReadyEventType")
            sub = await client.create_subscription(0, Note())  # 0: as fast as the server publishes
            await sub.subscribe_events(inspector, etype)
            ready.set()
            if reading:
                while not done.is_set():
                    await asyncio.sleep(0.05)
            else:
                done.wait()  # blocks the loop: nothing is read while the pipeline runs

    # The client that stopped reading finds the server gone when it reads again: asyncua logs that
    # as a crash, which here is the expected end.
    logging.getLogger("asyncua").setLevel(logging.CRITICAL)
    try:
        asyncio.run(main())
    except Exception:  # the server went away under a client that stopped reading
        pass
    finally:
        ready.set()


def _run(model, rig, device, n: int, client: str | None):
    """pairs/s of one run, and the written → notified latencies (s) of a reading client."""
    from inspector.explain import GradCAM
    from inspector.opcua.endpoint import parse_endpoint
    from inspector.opcua.run_publisher import RunPublisher
    from inspector.opcua.server import LineServer, ServerOptions
    from inspector.pipeline import Pipeline, PipelineConfig
    from inspector.plugins import PluginRegistry

    source = PluginRegistry.discover().start(
        "sources", "simulator", rate=0, cavities=4, prerender=48, hidden_share=0.25, seed=11)
    pipe = Pipeline(source, model, rig=rig, explainer=GradCAM(model, device=device),
                    config=PipelineConfig(keep_all=True, max_records=n))
    if client is None:
        stats = pipe.run()
        return stats.throughput, []
    url = f"opc.tcp://127.0.0.1:{_free_port()}"
    server = LineServer(ServerOptions(parse_endpoint(url), security="none")).start()
    publisher = RunPublisher(server, pipe)
    written: dict = {}

    def on_written(rec, path, index):
        publisher.on_written(rec, path, index)
        written[f"{publisher.run_start}#{index}"] = time.monotonic()

    pipe.on_written = on_written
    seen: dict = {}
    ready, done = threading.Event(), threading.Event()
    thread = threading.Thread(target=_client, args=(url,), kwargs=dict(reading=client == "reading", seen=seen,
                              ready=ready, done=done), daemon=True)
    thread.start()
    ready.wait(60)
    try:
        stats = pipe.run()
        deadline = time.monotonic() + 5.0
        while client == "reading" and len(seen) < len(written) and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        done.set()
        server.close()
        thread.join(10)
    # The client that never read gets its backlog once it reads again: no latency of the line's.
    lat = [seen[k] - t for k, t in written.items() if k in seen] if client == "reading" else []
    return stats.throughput, lat


def bench_opcua(device=None, n: int = 150, rounds: int = 3) -> list[Row]:
    """The three runs interleaved, `rounds` times: the best of each, so another process's burst
    does not decide the comparison (as the "pipeline" section takes the best of three)."""
    import inspector
    from calibration import load_default_rig
    from inspector.devices import resolve_device

    device = resolve_device(device or "auto")
    model = inspector.load_model(device=device)
    rig = load_default_rig()
    _run(model, rig, device, 16, None)  # warm-up: the first run pays for the allocator and the caches
    rates: dict = {None: [], "reading": [], "never-reads": []}
    lat: list = []
    for _ in range(rounds):
        for client in rates:
            rate, latencies = _run(model, rig, device, n, client)
            rates[client].append(rate)
            lat += latencies
    bare, served, stalled = (max(rates[c]) for c in (None, "reading", "never-reads"))
    ms = 1e3 * np.asarray(lat) if lat else np.array([np.nan])
    note = f"{len(lat)} of {n * rounds} notified (reading client)"
    return [
        Row(SECTION, "pipeline, no server", bare, "pairs/s", f"best of {rounds}"),
        Row(SECTION, "pipeline, server + reading client", served, "pairs/s", f"{100 * (served / bare - 1):+.1f} %"),
        Row(SECTION, "pipeline, server + client never reading", stalled, "pairs/s",
            f"{100 * (stalled / bare - 1):+.1f} % (issue 18: within 10 %)"),
        Row(SECTION, "written → notified, median", float(np.median(ms)), "ms", note),
        Row(SECTION, "written → notified, p99", float(np.percentile(ms, 99)), "ms", note),
    ]
