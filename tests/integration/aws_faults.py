"""A misbehaving AWS endpoint on loopback: chosen operations get AWS errors, everything else is forwarded to moto.

The relay reaches it through botocore's service-specific endpoint variables
(``AWS_ENDPOINT_URL_DYNAMODB``, ``AWS_ENDPOINT_URL_SNS``, ``AWS_ENDPOINT_URL_SECRETS_MANAGER``),
so the code under test runs unchanged. ``leave_unprocessed`` answers DynamoDB's batch calls in part, as
DynamoDB does under throttling: moto is sent only the first requests, and the rest come back as
``UnprocessedKeys`` / ``UnprocessedItems``. Errors are spoken in each service's own protocol:
a JSON body with ``x-amzn-ErrorType`` for the JSON protocols (DynamoDB, Secrets Manager),
and the query protocol's XML ``ErrorResponse`` for SNS. ``heal()`` ends the fault: from
then on every request reaches moto, so a test can show what the next sweep does.
"""

from __future__ import annotations

import http.client
import json
import socket
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from devstack.loopback import LoopbackServer, QuietHandler

_BATCH_FIELDS = {"BatchGetItem": "UnprocessedKeys", "BatchWriteItem": "UnprocessedItems"}
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length", "server", "date"})


@dataclass(frozen=True)
class AwsFault:
    status: int = 400
    code: str = "ThrottlingException"
    operations: frozenset[str] | None = None
    """The operations that fail (e.g. ``{"PutItem", "UpdateItem"}``); None means every one."""
    reset_connection: bool = False
    """Drop the connection (TCP RST) instead of answering: the service is unreachable."""
    delay: float = 0.0
    """Seconds to wait before failing: longer than the client's read timeout is a service that hangs."""

    def applies_to(self, operation: str) -> bool:
        return self.operations is None or operation in self.operations


class AwsFaultProxy:
    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._fault: AwsFault | None = None
        self._lock = threading.Lock()
        self.failed: Counter[str] = Counter()
        """Operations answered with the fault."""
        self._unprocessed: tuple[int, int] = (0, 0)
        self.partial: Counter[str] = Counter()
        """Batch calls answered in part."""
        self.forwarded: Counter[str] = Counter()
        self._server = LoopbackServer(type("AwsFaultHandler", (_Handler,), {"proxy": self}), name="aws-faults")

    @property
    def url(self) -> str:
        return self._server.url

    def fail(self, fault: AwsFault) -> None:
        with self._lock:
            self._fault = fault

    def heal(self) -> None:
        with self._lock:
            self._fault = None
            self._unprocessed = (0, 0)

    def leave_unprocessed(self, calls: int, *, keep: int) -> None:
        """The next ``calls`` batch calls (BatchGetItem, BatchWriteItem) process only ``keep`` requests per table."""
        with self._lock:
            self._unprocessed = (calls, keep)

    def _partial_for(self, operation: str) -> int | None:
        with self._lock:
            calls, keep = self._unprocessed
            if calls <= 0 or operation not in _BATCH_FIELDS:
                return None
            self._unprocessed = (calls - 1, keep)
            self.partial[operation] += 1
            return keep

    def __enter__(self) -> AwsFaultProxy:
        self._server.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.stop()

    def _fault_for(self, operation: str) -> AwsFault | None:
        with self._lock:
            fault = self._fault if self._fault is not None and self._fault.applies_to(operation) else None
            (self.failed if fault else self.forwarded)[operation] += 1
            return fault

    def _forward(self, method: str, path: str, headers: list[tuple[str, str]], body: bytes) -> tuple[int, Any, bytes]:
        connection = http.client.HTTPConnection(*self._upstream, timeout=30)
        try:
            connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            for name, value in headers:
                if name.lower() not in ("connection", "content-length"):
                    connection.putheader(name, value)
            connection.putheader("Content-Length", str(len(body)))
            connection.endheaders(body)
            response = connection.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            connection.close()


class _Handler(QuietHandler):
    proxy: AwsFaultProxy

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        target = self.headers.get("X-Amz-Target")
        # JSON protocols name the operation in X-Amz-Target; the query protocol in the form's Action.
        operation = target.rsplit(".", 1)[-1] if target else _form_action(body)
        fault = self.proxy._fault_for(operation)
        if fault is not None and fault.delay:
            time.sleep(fault.delay)
        keep = self.proxy._partial_for(operation) if fault is None else None
        if keep is not None:
            self._answer_in_part(operation, body, keep)
        elif fault is None:
            status, headers, answer = self.proxy._forward("POST", self.path, list(self.headers.items()), body)
            self._answer(status, [(k, v) for k, v in headers if k.lower() not in _HOP_BY_HOP], answer)
        elif fault.reset_connection:
            # SO_LINGER with a zero timeout makes close() send RST instead of FIN.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
        elif target:
            error = json.dumps({"__type": fault.code, "message": f"simulated {fault.code}"}).encode()
            self._answer(
                fault.status, [("Content-Type", "application/x-amz-json-1.0"), ("x-amzn-ErrorType", fault.code)], error
            )
        else:
            self._answer(fault.status, [("Content-Type", "text/xml")], _query_error(fault).encode())

    def _answer_in_part(self, operation: str, body: bytes, keep: int) -> None:
        request = json.loads(body)
        held: dict[str, Any] = {}
        for table, wanted in request["RequestItems"].items():
            if operation == "BatchGetItem":
                wanted["Keys"], rest = wanted["Keys"][:keep], wanted["Keys"][keep:]
                if rest:
                    held[table] = {**wanted, "Keys": rest}
            else:
                request["RequestItems"][table], rest = wanted[:keep], wanted[keep:]
                if rest:
                    held[table] = rest
        request["RequestItems"] = {table: wanted for table, wanted in request["RequestItems"].items() if wanted}
        headers = list(self.headers.items())
        if request["RequestItems"]:
            status, _, forwarded = self.proxy._forward("POST", self.path, headers, json.dumps(request).encode())
            answer = json.loads(forwarded)
        else:
            status, answer = 200, {"Responses": {}} if operation == "BatchGetItem" else {}
        if status == 200:
            answer[_BATCH_FIELDS[operation]] = held
        # The body changed, so moto's x-amz-crc32 header (which botocore checks) is left out.
        self._answer(status, [("Content-Type", "application/x-amz-json-1.0")], json.dumps(answer).encode())

    def _answer(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("x-amzn-RequestId", "00000000-0000-0000-0000-000000000000")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _form_action(body: bytes) -> str:
    return parse_qs(body.decode("utf-8", "replace")).get("Action", [""])[0]


def _query_error(fault: AwsFault) -> str:
    kind = "Receiver" if fault.status >= 500 else "Sender"
    return (
        '<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">'
        f"<Error><Type>{kind}</Type><Code>{fault.code}</Code><Message>simulated {fault.code}</Message></Error>"
        "<RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
    )
