"""A run's results and state onto the line server: the pipeline's `on_written` hook and a watcher
of its stats, so the pipeline knows nothing of OPC UA."""

from __future__ import annotations

import datetime as _dt
import threading
from pathlib import Path
from typing import Optional

from inspector.opcua.result_fields import result_fields, result_id
from inspector.run_stats import RunStats

STATE_PERIOD_S = 0.5  # how often the state follows the pipeline's stats
FAILED = ("source failed", "writing", "error")  # a run that ended so ended in Error, not Stopped


def state_of(stats: RunStats, running: bool) -> tuple[str, str]:
    """The OPC 40100-like state and its reason, from a snapshot of the run."""
    if not running:
        return ("Error" if stats.stopped.startswith(FAILED) else "Stopped"), stats.stopped or "not started"
    if stats.lost:
        return "SourceLost", f"LOST {stats.lost_text()}"
    if stats.elapsed_s > 5.0 and stats.recent_throughput == 0:
        return "WaitingForTrigger", "no pair in the last 5 s"
    return "Running", "inspecting"


class RunPublisher:
    """Publishes a pipeline's records on a started `LineServer`: `on_written` is the pipeline's hook
    (the writer's thread); `watch()` keeps State and StateReason up to date until `finish()`."""

    def __init__(self, server, pipeline):
        self.server, self.pipeline = server, pipeline
        self.classes = tuple(pipeline.model.classes)
        self.ok_class = pipeline.classes.ok
        prov = pipeline.provenance()
        self.model_id, self.rig_id = prov["model_sha256"], prov["rig_sha256"]
        self.run_start = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
        self._done = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._state = None

    def on_written(self, rec, log_path: Optional[Path], index: int) -> None:
        rid = result_id(log_path, index, self.run_start)
        self.server.publish(result_fields(rec, rid, self.classes, self.ok_class,
                                          model_id=self.model_id, rig_id=self.rig_id))

    def _set(self, state: tuple[str, str]) -> None:
        if state != self._state:
            self._state = state
            self.server.set_state(*state)

    def watch(self) -> None:
        def follow():
            while not self._done.wait(STATE_PERIOD_S):
                self._set(state_of(self.pipeline.stats(), running=True))

        self._set(("Running", "starting"))
        self._thread = threading.Thread(target=follow, name="inspector-opcua-state", daemon=True)
        self._thread.start()

    def finish(self, stats: RunStats) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join()
        self._set(state_of(stats, running=False))


def check_line_server(url: str, security: str, allow_insecure_remote: bool = False):
    """The line server's endpoint for `url`, checked before anything else starts (InspectorError naming
    the problem: a bad address, security none off loopback, asyncua missing, the port in use)."""
    from inspector.errors import InspectorError
    from inspector.opcua.endpoint import check_port_free, check_security, parse_endpoint

    endpoint = parse_endpoint(url)
    check_security(endpoint, security, allow_insecure_remote)
    try:
        import asyncua  # noqa: F401
    except ImportError:
        raise InspectorError("--opcua: asyncua is not installed; pip install -e '.[opcua]'") from None
    check_port_free(endpoint)
    return endpoint


def serve_run(endpoint, security: str, pipeline, *, client_backlog: Optional[int] = None):
    """(LineServer, RunPublisher) for `pipeline`, serving and following its state; the OPC UA method
    Stop stops the run as Ctrl-C does. The caller ends both: `publisher.finish(stats)`, `server.close()`.
    `client_backlog`: None for `ServerOptions`' default."""
    from inspector.opcua.server import LineServer, ServerOptions

    options = ServerOptions(endpoint, security=security)
    if client_backlog is not None:
        options.client_backlog = client_backlog
    server = LineServer(options,
                        on_stop=lambda: pipeline.stop("Stop called over OPC UA")).start()
    publisher = RunPublisher(server, pipeline)
    pipeline.on_written = publisher.on_written
    publisher.watch()
    return server, publisher
