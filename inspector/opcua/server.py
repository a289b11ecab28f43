"""`LineServer`: the asyncua server on its own thread and event loop, fed by the pipeline without
ever making it wait.

`publish()` and `set_state()` are called from the pipeline's threads: each puts one item in a
bounded queue and wakes the loop; a full queue drops the result and counts it (`dropped`), never
blocks, never writes the log. Each client's subscription is bounded too (`client_backlog`): a client
that does not read loses its oldest results, counted per client (`client_drops`, see
`inspector.opcua.client_drops`), and costs the others nothing. Everything asyncua does (writing
variables, emitting the `ResultReadyEventType` event, serving clients) happens on the server's own
loop, so a slow client costs that loop, not the pipeline.

Who may do what (the seam with `inspector.opcua.security`): `configure_security(server, options,
rules)` sets the endpoint's security and user manager. With `--opcua-security none` every client is
anonymous, and anonymous may read, browse and subscribe only: `Start`, `Stop` and `AcknowledgeNok`
are refused (BadUserAccessDenied), because an unauthenticated, unencrypted call could stop a line.
Methods need the engineer role: an authenticated user whose asyncua role is `UserRole.Admin`
(`may_call_methods`); operators are `UserRole.User` (read).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from asyncua import Server, ua
from asyncua.crypto.permission_rules import ADMIN_TYPES, PermissionRuleset, User, UserRole

from inspector.opcua import address_space
from inspector.opcua.client_drops import ClientDrops
from inspector.opcua.endpoint import Endpoint, EndpointError

log = logging.getLogger("inspector.opcua")
LINGER_S = 3.0  # at close, the longest the last results may take to reach the subscribed clients
_CALL = ua.NodeId(ua.ObjectIds.CallRequest_Encoding_DefaultBinary)
_CHANGES = {ua.NodeId(t) for t in ADMIN_TYPES} | {ua.NodeId(ua.ObjectIds.WriteRequest_Encoding_DefaultBinary)}


@dataclass
class ServerOptions:
    endpoint: Endpoint
    security: str = "sign-and-encrypt"  # or "none"
    queue_size: int = 1024  # results waiting for the server's loop, at most
    # Result events one client may fall behind by before its oldest are dropped (for that client
    # alone, counted in `LineServer.client_drops`): what bounds the memory a client that stopped
    # reading costs. 10,000 is asyncua's own cap, about 2.5 minutes of the line at 65 pairs/s.
    client_backlog: int = 10_000
    config_dir: Optional[Path] = None  # certificates, trusted clients, users (None: the user's default)


def may_call_methods(user) -> bool:
    """The engineer role: an authenticated account the user manager gave `UserRole.Admin`."""
    return getattr(user, "role", None) == UserRole.Admin


class InspectorRules(PermissionRuleset):
    """Everyone the security lets in reads and subscribes; method calls need the engineer role; no
    client writes a variable or changes the address space (the results are the inspector's)."""

    def check_validity(self, user, action_type, body) -> bool:
        if action_type == _CALL:
            allowed = may_call_methods(user)
            if not allowed:
                log.warning("method call refused: %s has not the engineer role", getattr(user, "name", None) or "anonymous")
            return allowed
        return action_type not in _CHANGES


class AnonymousOnly:
    """The user manager of security none: every client is anonymous, whatever name it sends."""

    def get_user(self, iserver, username=None, password=None, certificate=None):
        return User(role=UserRole.Anonymous)


async def configure_security(server: Server, options: ServerOptions, rules: PermissionRuleset) -> None:
    """The seam: security none here; sign-and-encrypt from `inspector.opcua.security.configure`."""
    if options.security == "none":
        server.set_security_policy([ua.SecurityPolicyType.NoSecurity], permission_ruleset=rules)
        server.iserver.set_user_manager(AnonymousOnly())
        return
    try:
        from inspector.opcua import security
    except ImportError:
        raise EndpointError("--opcua-security sign-and-encrypt: not available in this build "
                            "(inspector.opcua.security is missing); use --opcua-security none on 127.0.0.1") from None
    host = options.endpoint.host
    await security.configure(server, options.config_dir, options.security, rules=rules,
                             host_name=None if host in ("0.0.0.0", "::", "") else host)


class LineServer:
    """The OPC UA server of a run. on_stop / on_start are called on the server's loop when an
    engineer calls Stop / Start; they must not block (pipeline.stop only sets an event)."""

    def __init__(self, options: ServerOptions, *, on_stop: Optional[Callable[[], None]] = None,
                 on_start: Optional[Callable[[], None]] = None):
        self.options = options
        self.on_stop, self.on_start = on_stop, on_start
        self.dropped = 0  # results the server's loop could not keep up with (never in the log)
        self.published = 0
        self._queue: queue.Queue = queue.Queue(options.queue_size)
        self._ready = threading.Event()
        self._error: Optional[BaseException] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._wake: Optional[asyncio.Event] = None
        self._thread: Optional[threading.Thread] = None
        self._space: Optional[address_space.AddressSpace] = None
        self._server: Optional[Server] = None
        self._hold_s = 0.0
        self._drops = ClientDrops()

    # -- from any thread ------------------------------------------------------------------------
    def start(self, timeout: float = 60.0) -> "LineServer":
        """Serve, or raise EndpointError (a port in use, a security set-up that failed)."""
        self._thread = threading.Thread(target=self._run, name="inspector-opcua", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise EndpointError(f"--opcua {self.options.endpoint.url}: the server did not start within {timeout:g} s")
        if self._error is not None:
            self._thread.join()
            err = self._error
            if isinstance(err, EndpointError):
                raise err
            why = getattr(err, "strerror", None) or str(err) or type(err).__name__
            raise EndpointError(f"--opcua {self.options.endpoint.url}: cannot serve: {why}") from None
        return self

    def publish(self, fields: dict) -> None:
        """Queue one result for the clients; never blocks."""
        self._put(("result", fields))

    def set_state(self, state: str, reason: str = "") -> None:
        if state not in address_space.STATES:
            raise ValueError(f"state {state!r}: one of {address_space.STATES}")
        self._put(("state", (state, reason)))

    def client_drops(self) -> dict[str, int]:
        """Client (`user@host:port`) → results it missed because it did not read them in time."""
        return self._drops.counts()

    def drop_report(self) -> list[str]:
        """One line per loss, for the run's summary: the server's own, then each client's."""
        lines = [f"{self.dropped} results not published (the server fell behind)"] if self.dropped else []
        return lines + [f"client {client} missed {n} results (it did not read them in time; the log has every record)"
                        for client, n in sorted(self.client_drops().items())]

    def subscribers(self) -> int:
        """Monitored items in the server's subscriptions (a snapshot; read across threads)."""
        if self._server is None:
            return 0
        subs = list(self._server.iserver.subscription_service.subscriptions.values())
        return sum(len(s.monitored_item_srv._monitored_items) for s in subs)

    def wait_for_subscriber(self, seconds: float, stopped: Callable[[], bool] = lambda: False) -> bool:
        """Whether a client subscribed to something within `seconds` (for commissioning: the first
        result of a run is not missed by a client that connects as the run starts)."""
        deadline = time.monotonic() + seconds
        while not self.subscribers() and not stopped() and time.monotonic() < deadline:
            time.sleep(0.02)
        return bool(self.subscribers())

    def close(self, hold_s: float = 0.0) -> None:
        """Publish what is queued, then stop serving; with hold_s (commissioning) first wait that long
        at most for the subscribed clients to leave, so they can read the final state and counts."""
        if self._thread is None or not self._thread.is_alive():
            return
        self._hold_s = hold_s
        self._queue.put(None)  # blocking on purpose: the last results and the state reach the clients
        self._wake_loop()
        self._thread.join(hold_s + LINGER_S + 10.0)

    def _put(self, item) -> None:
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            self.dropped += 1
            return
        self._wake_loop()

    def _wake_loop(self) -> None:
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(wake.set)
            except RuntimeError:  # the loop closed between the check and the call
                pass

    # -- the server's thread --------------------------------------------------------------------
    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported to start() if it has not returned yet
            if not self._ready.is_set():
                self._error = exc
                self._ready.set()
            else:
                log.error("the OPC UA server stopped: %s: %s", type(exc).__name__, exc)

    async def _main(self) -> None:
        self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
        quiet = logging.getLogger("asyncua")
        if quiet.level == logging.NOTSET:  # its warnings about security none, each client's session, …
            quiet.setLevel(logging.ERROR)
        server = Server()
        await server.init()
        server.set_endpoint(self.options.endpoint.url)
        server.set_server_name("inspector")
        server.iserver.max_monitored_item_queue_size = self.options.client_backlog
        await server.set_application_uri(address_space.NAMESPACE)
        await configure_security(server, self.options, InspectorRules())
        space = await address_space.build(server)
        await self._add_methods(space)
        await server.start()
        self._server, self._space = server, space
        self._ready.set()
        try:
            await self._serve(space)
        finally:
            await server.stop()

    async def _serve(self, space) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    await self._until_idle(LINGER_S, delivered=True)
                    await self._until_idle(self._hold_s, delivered=False)
                    self._drops.close(self._server)
                    return
                kind, value = item
                try:
                    if kind == "result":
                        self._drops.watch(self._server)
                        self.published += 1
                        await space.publish(value, self.published)
                    else:
                        await space.set_state(*value)
                except Exception:  # one result badly formed must not end the serving
                    log.exception("publishing %s failed", kind)

    async def _until_idle(self, seconds: float, delivered: bool) -> None:
        """Before closing, wait (at most `seconds`) until every subscription has sent what was
        triggered and its client acknowledged it (delivered), or until no subscription is left."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while loop.time() < deadline:
            subs = list(self._server.iserver.subscription_service.subscriptions.values())
            # asyncua keeps no public count of what a subscription still owes its client.
            owed = any(s._triggered_events or s._triggered_datachanges or s._not_acknowledged_results for s in subs)
            if not (owed if delivered else subs):
                return
            await asyncio.sleep(0.02)

    async def _add_methods(self, space) -> None:
        async def stop(parent):
            log.warning("Stop called over OPC UA")
            if self.on_stop is not None:
                self.on_stop()
            return []

        async def start(parent):
            # `inspector run` is running as long as it serves: Start is "already running", a no-op.
            if self.on_start is not None:
                self.on_start()
            return []

        async def acknowledge(parent, cavity):
            cavity_id = cavity.Value if isinstance(cavity, ua.Variant) else cavity
            if not await space.acknowledge(int(cavity_id)):
                return ua.StatusCode(ua.StatusCodes.BadInvalidArgument)
            return []

        await space.inspector.add_method(space.idx, "Start", start, [], [])
        await space.inspector.add_method(space.idx, "Stop", stop, [], [])
        arg = ua.Argument()
        arg.Name, arg.DataType, arg.ValueRank = "CavityId", ua.NodeId(ua.ObjectIds.Int32), -1
        arg.Description = ua.LocalizedText("the cavity whose NokInARow goes back to 0; 0: every cavity")
        await space.inspector.add_method(space.idx, "AcknowledgeNok", acknowledge, [arg], [])
