"""A local stand-in for Slack's incoming webhooks and slash-command response_urls.

A real HTTP server on loopback that records every POST, and answers with a
scripted status (429 with Retry-After, 4xx, 5xx, a slow answer) when asked to.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from devstack.loopback import LoopbackServer, QuietHandler


@dataclass(frozen=True)
class ReceivedMessage:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class ScriptedReply:
    status: int = 500
    body: str = "internal_error"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


class SlackReceiver:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._lock = threading.Lock()
        self._messages: list[ReceivedMessage] = []
        self._replies: deque[ScriptedReply] = deque()
        self._arrived = threading.Condition(self._lock)
        handler = type("SlackHandler", (_Handler,), {"receiver": self})
        self._server = LoopbackServer(handler, host=host, port=port, name="slack-receiver")

    @property
    def url(self) -> str:
        return self._server.url

    def webhook_url(self, name: str = "T000/B000/local") -> str:
        return f"{self.url}/services/{name}"

    def start(self) -> SlackReceiver:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> SlackReceiver:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def script(self, *replies: ScriptedReply) -> None:
        """The next requests get these replies, in order; after them, 200 "ok"."""
        with self._lock:
            self._replies.extend(replies)

    def messages(self, path_prefix: str = "") -> list[ReceivedMessage]:
        """Messages accepted with 2xx (scripted failures are not counted as delivered)."""
        with self._lock:
            return [message for message in self._messages if message.path.startswith(path_prefix)]

    def wait_for(self, count: int, timeout: float = 10.0, path_prefix: str = "") -> list[ReceivedMessage]:
        """Block until ``count`` messages arrived or ``timeout`` passed; returns what arrived."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                matching = [m for m in self._messages if m.path.startswith(path_prefix)]
                remaining = deadline - time.monotonic()
                if len(matching) >= count or remaining <= 0:
                    return matching
                self._arrived.wait(remaining)

    def reset(self) -> None:
        with self._lock:
            self._messages.clear()
            self._replies.clear()

    def _record(self, message: ReceivedMessage) -> ScriptedReply | None:
        with self._lock:
            reply = self._replies.popleft() if self._replies else None
            if reply is None or 200 <= reply.status < 300:
                self._messages.append(message)
                self._arrived.notify_all()
            return reply


class _Handler(QuietHandler):
    receiver: SlackReceiver

    def do_POST(self) -> None:  # noqa: N802 - http.server dispatches on this name
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        message = ReceivedMessage(path=self.path, headers={k.lower(): v for k, v in self.headers.items()}, body=body)
        reply = self.receiver._record(message)
        if reply is not None and reply.delay:
            time.sleep(reply.delay)
        status, text, headers = (200, "ok", {}) if reply is None else (reply.status, reply.body, reply.headers)
        payload = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)


def main() -> None:
    parser = argparse.ArgumentParser(description="Local Slack webhook / response_url receiver")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    receiver = SlackReceiver(port=args.port)
    print(json.dumps({"url": receiver.url}), flush=True)
    receiver._server.serve_until_interrupted()


if __name__ == "__main__":
    main()
