"""One way to run a local HTTP server: on 127.0.0.1, a free port unless one is asked for, in a daemon thread.

Every stand-in (the Together simulator, the Slack receiver, the local Lambda
invoke API, the linearizable moto server) and every test server is one of these.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer, ThreadingHTTPServer
from typing import Any, Self

HOST = "127.0.0.1"


class QuietHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive, and no line on stderr per request."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # keep-alive answers would otherwise wait ~40 ms for delayed ACKs

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return


class LoopbackServer:
    """Serves ``handler`` (or an already-built ``server``) until ``stop``; a context manager.

    A short poll interval keeps ``stop`` quick: tests start and stop many of these.
    """

    def __init__(
        self,
        handler: type[BaseHTTPRequestHandler] | None = None,
        *,
        host: str = HOST,
        port: int = 0,
        server: HTTPServer | None = None,
        name: str = "loopback-server",
        poll_interval: float = 0.05,
    ) -> None:
        if server is None:
            if handler is None:
                raise ValueError("give a handler class or a server")
            server = ThreadingHTTPServer((host, port), handler)
            server.daemon_threads = True  # a request still hanging must not keep the process alive
        self.server = server
        self._host = host
        self._name = name
        self._poll_interval = poll_interval
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.server.server_port)

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}"

    def start(self) -> Self:
        self._thread = threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": self._poll_interval},
            name=self._name,
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self.server.shutdown()
            self._thread.join()
            self._thread = None
        self.server.server_close()

    def serve_until_interrupted(self) -> None:
        """Serve in the calling thread until Ctrl-C (the devstack command lines)."""
        try:
            self.server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            self.server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
