"""The line server's address (`opc.tcp://HOST:PORT`) and the checks made before anything is inspected."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlparse

from inspector.errors import InspectorError

SECURITY_MODES = ("sign-and-encrypt", "none")


class EndpointError(InspectorError):
    """The line server cannot serve at the address asked for."""


@dataclass(frozen=True)
class Endpoint:
    url: str
    host: str
    port: int

    @property
    def loopback(self) -> bool:
        """Whether only this machine can reach the address (security none is only allowed there)."""
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return self.host == "localhost"


def parse_endpoint(url: str) -> Endpoint:
    """`opc.tcp://HOST:PORT` (an optional path is kept in the URL), or EndpointError naming what is wrong."""
    try:
        u = urlparse(url)
        port = u.port
    except ValueError as exc:
        raise EndpointError(f"--opcua {url!r}: not an address: {exc}") from None
    if u.scheme != "opc.tcp":
        raise EndpointError(f"--opcua {url!r}: expected opc.tcp://HOST:PORT")
    if not u.hostname:
        raise EndpointError(f"--opcua {url!r}: no host; expected opc.tcp://HOST:PORT")
    if port is None or port == 0:
        raise EndpointError(f"--opcua {url!r}: no port; expected opc.tcp://HOST:PORT (4840 is OPC UA's own)")
    return Endpoint(url, u.hostname, port)


def check_security(endpoint: Endpoint, security: str, allow_insecure_remote: bool) -> None:
    """Security none sends verdicts unsigned and lets anyone read them: only on a loopback address
    (a gateway on this machine) unless the line's network is trusted and it is asked for by name."""
    if security == "none" and not endpoint.loopback and not allow_insecure_remote:
        raise EndpointError(
            f"--opcua {endpoint.url}: --opcua-security none on {endpoint.host}, which is not a loopback "
            "address: anyone on the network could read and forge the results; serve on 127.0.0.1, use "
            "sign-and-encrypt, or pass --opcua-allow-insecure-remote")


def check_port_free(endpoint: Endpoint) -> None:
    """EndpointError when the port is taken or the host is not this machine's (asked before the model
    loads, so a second run on the same port is refused at once; the server's own bind is still checked)."""
    try:
        infos = socket.getaddrinfo(endpoint.host, endpoint.port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise EndpointError(f"--opcua {endpoint.url}: host {endpoint.host!r} unknown: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as s:
        # As asyncio's server binds (SO_REUSEADDR on Unix): the connections of a run that just ended wait
        # in TIME_WAIT, and must not refuse the next run on the same port; a server listening still does.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(address)
        except OSError as exc:
            raise EndpointError(f"--opcua {endpoint.url}: cannot serve on port {endpoint.port} of "
                                f"{endpoint.host}: {exc.strerror or exc}") from None
