"""uvicorn's HTTP protocols with TCP_NODELAY on every accepted connection.

asyncio turns Nagle's algorithm off only for sockets whose `proto` reads IPPROTO_TCP. With
`--workers N` uvicorn binds the listening socket itself with `proto` 0 and hands it to the
workers, so their connections keep Nagle on (uvicorn issue #3149). A response is written
as two segments (head, then body); the body then waits for the client's ACK of the head,
which Linux delays by 40 ms, so every keep-alive request took at least 48 ms. One worker
was spared only because asyncio binds that listener from getaddrinfo (proto 6).

`relief serve` prefers httptools (a C parser) to h11 (pure Python): at 16 concurrent
clients on a busy machine a request's latency is the CPU of the requests queued before
it, and parsing with h11 is a share of that CPU.
"""

import asyncio
import socket

from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


def _nagle_off(transport: asyncio.BaseTransport) -> None:
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class NoDelayH11Protocol(H11Protocol):
    """h11 (pure Python) with Nagle off."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        _nagle_off(transport)
        super().connection_made(transport)


class NoDelayHttpToolsProtocol(HttpToolsProtocol):
    """httptools (what `relief serve` runs) with Nagle off."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        _nagle_off(transport)
        super().connection_made(transport)
