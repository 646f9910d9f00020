"""`relief serve`'s protocol turns Nagle off even on a listener bound the way uvicorn binds
it for --workers N (proto 0), where asyncio leaves it on and every response waited 40 ms."""

import asyncio
import socket
from concurrent.futures import ThreadPoolExecutor

import pytest
from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from api.http.nodelay import NoDelayH11Protocol, NoDelayHttpToolsProtocol

Protocol = H11Protocol | HttpToolsProtocol


async def _server_side_nodelay(protocol_class: type[Protocol]) -> int:
    """TCP_NODELAY of the server's end of one connection accepted on a proto-0 listener."""

    async def app(scope: object, receive: object, send: object) -> None:  # never called
        raise AssertionError("no request is sent")

    config = Config(app=app)
    state = ServerState()
    made: list[Protocol] = []

    def factory() -> Protocol:
        made.append(protocol_class(config=config, server_state=state, app_state={}))
        return made[-1]

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # proto 0, as uvicorn binds
    listener.bind(("127.0.0.1", 0))
    loop = asyncio.get_running_loop()
    server = await loop.create_server(factory, sock=listener)
    try:
        _reader, writer = await asyncio.open_connection(*listener.getsockname())
        for _ in range(100):
            if made and made[0].transport is not None:
                break
            await asyncio.sleep(0.01)
        sock = made[0].transport.get_extra_info("socket")
        value: int = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        writer.close()
        await writer.wait_closed()
        return value
    finally:
        for protocol in made:
            protocol.transport.close()
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize(
    ("protocol_class", "nodelay"),
    [(H11Protocol, False), (NoDelayH11Protocol, True), (NoDelayHttpToolsProtocol, True)],
)
def test_accepted_connections_have_nagle_off(protocol_class: type[Protocol], nodelay: bool) -> None:
    """uvicorn's own protocol shows the fault on this listener; ours does not."""
    # In a thread of its own: the browser tests' Playwright keeps an event loop running in
    # the main thread for the session, where asyncio.run would refuse to start another.
    with ThreadPoolExecutor(max_workers=1) as pool:
        found = pool.submit(asyncio.run, _server_side_nodelay(protocol_class)).result()
    assert bool(found) is nodelay
