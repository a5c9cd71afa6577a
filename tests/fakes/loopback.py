"""What every fake service shares: an HTTP server on 127.0.0.1 (the OS picks the port),
in a daemon thread, started and stopped by the test (or `with fake:`)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class LoopbackServer:
    """Base of the fakes: subclasses say which handler serves them (`_handler_class`); the
    handler reaches the fake as its class attribute `fake`."""

    _server: ThreadingHTTPServer | None = None

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        raise TypeError(f"{type(self).__name__} must define _handler_class()")

    def start(self) -> Any:
        handler = type("Handler", (self._handler_class(),), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                         name=type(self).__name__, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the fake first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"


@dataclass
class Fault:
    """The next `remaining` requests whose path contains `path` get `status` (None: until
    cleared), after `after` of them are let through."""

    path: str
    status: int
    remaining: int | None
    retry_after: str | None
    after: int = 0


class PathFaults:
    """Fault injection by path and the request log, for fakes that keep `self._lock`,
    `self._faults` (a list of Fault) and `self.requests` (objects with a `.path`)."""

    def fail_next(self, path: str, status: int = 503, times: int | None = 1, *,
                  retry_after: float | str | None = None, after: int = 0) -> None:
        """Answer the next `times` requests whose path contains `path` with `status`
        (None: until `clear_faults()`), after letting `after` of them through."""
        with self._lock:
            self._faults.append(Fault(path, status, times, None if retry_after is None else str(retry_after), after))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def calls(self, path_contains: str = "") -> list:
        with self._lock:
            return [r for r in self.requests if path_contains in r.path]

    def clear_requests(self) -> None:
        with self._lock:
            self.requests.clear()

    def _fault_for(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.path in path and fault.remaining != 0:
                    if fault.after > 0:
                        fault.after -= 1
                        return None
                    if fault.remaining is not None:
                        fault.remaining -= 1
                    return fault
            return None
