"""Per client: the results a subscribed client lost because it did not read them in time.

asyncua bounds what a subscription may owe its client: each monitored item keeps at most its
queue size of notifications (`Server.iserver.max_monitored_item_queue_size` caps what a client
asks for), and when the queue is full the oldest is discarded to make room. That bound is what
keeps a client that stopped reading from growing the server's memory without limit; asyncua
neither counts nor reports the discards. `ClientDrops` counts them per client (session): a
result event that pushed an older one out of a full queue, and the events still owed when a
subscription ends (the client vanished, or its subscription expired) or the server closes.

The log never learns of any of this: a client's lag is the client's, the record is written
before the server is even told of it.

Everything here runs on the server's event loop, as asyncua does; `counts()` is read from other
threads under a lock.
"""

from __future__ import annotations

import logging
import threading
from typing import Callable

log = logging.getLogger("inspector.opcua")


def client_name(server, session_id) -> str:
    """`engineer@127.0.0.1:50412`: the account (or `anonymous`) and the peer address of the
    session that owns a subscription; the session id where the session is already gone."""
    # asyncua keeps the external sessions by authentication token; the peer is the session's name.
    for session in list(getattr(server.iserver, "_external_sessions", {}).values()):
        if session.session_id == session_id:
            user = getattr(getattr(session, "user", None), "name", None) or "anonymous"
            peer = session.name
            where = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) and len(peer) >= 2 else str(peer)
            return f"{user}@{where}"
    return f"session {session_id.to_string() if hasattr(session_id, 'to_string') else session_id}"


class ClientDrops:
    """Counts, per client, the result events its subscriptions discarded."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()
        self._watched: dict[int, tuple[object, str]] = {}  # subscription id → (subscription, client)

    def counts(self) -> dict[str, int]:
        """Client → results it missed, for the clients that missed any (a snapshot, any thread)."""
        with self._lock:
            return {k: v for k, v in self._counts.items() if v}

    def watch(self, server) -> None:
        """Before a result is emitted: start counting for subscriptions made since the last result,
        and count what the subscriptions that ended since then still owed their clients."""
        live = dict(server.iserver.subscription_service.subscriptions)
        for sid in [s for s in self._watched if s not in live]:
            sub, client = self._watched.pop(sid)
            self._add(client, owed_events(sub))
        for sid, sub in live.items():
            if sid not in self._watched:
                client = client_name(server, sub.session_id)
                sub._enqueue_event = self._counting(sub, sub._enqueue_event, client)
                self._watched[sid] = (sub, client)

    def close(self, server) -> None:
        """At the server's close, after the last results had their time to go out: whatever is still
        owed will never be sent."""
        self.watch(server)
        for sub, client in self._watched.values():
            self._add(client, owed_events(sub))
        self._watched.clear()

    def _counting(self, sub, original: Callable, client: str) -> Callable:
        # asyncua's InternalSubscription._enqueue_event(mid, data, size, queue) pops the oldest of a
        # full queue; the event queue is the subscription's `_triggered_events` (data changes of
        # variables coalesce by design and are not results, so they are not counted).
        async def enqueue(mid, eventdata, size, queue):
            if queue is sub._triggered_events and size and len(queue.get(mid, ())) >= size:
                self._add(client, 1)
            await original(mid, eventdata, size, queue)

        return enqueue

    def _add(self, client: str, n: int) -> None:
        if n <= 0:
            return
        with self._lock:
            first = not self._counts.get(client)
            self._counts[client] = self._counts.get(client, 0) + n
        if first:
            log.warning("OPC UA client %s is not reading its results in time: it misses the oldest "
                        "(counted per client; the log keeps every record)", client)


def owed_events(sub) -> int:
    """Result events a subscription has queued for its client and not yet sent."""
    return sum(len(q) for q in sub._triggered_events.values())
