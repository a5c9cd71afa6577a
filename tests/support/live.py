"""Run the real ASGI app in uvicorn on a loopback port, in a thread (tests and benchmarks);
find a free port and wait for a server in another process to come up."""

from __future__ import annotations

import socket
import threading
import time
from contextlib import contextmanager
from typing import Iterator

import httpx
import uvicorn

from bot.web.limits import server_config


@contextmanager
def serve(app) -> Iterator[str]:
    """Serve `app` on a free 127.0.0.1 port; yield its base URL; stop it (lifespan included)."""
    # IPPROTO_TCP named, as a socket uvicorn binds itself has it: asyncio sets TCP_NODELAY only
    # on such sockets, and without it a response body waits ~40 ms for the client's delayed ACK
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(server_config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)


def free_port() -> int:
    """A loopback TCP port nobody listens on (for a server started in another process)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, timeout: float = 30, alive=lambda: True) -> None:
    """Poll `url`/healthz until it answers 200; AssertionError after `timeout` seconds, or as
    soon as `alive()` says the server process has died."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert alive(), f"the server at {url} exited before answering"
        assert time.monotonic() < deadline, f"the server at {url} did not answer within {timeout:.0f} s"
        time.sleep(0.05)
