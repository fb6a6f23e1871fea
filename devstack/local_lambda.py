"""A local Lambda: the relay's function as one warm container runs it, and Lambda's Invoke API on loopback.

The relay's asynchronous self-invocation (slow Slack answers) reaches the
Invoke API stand-in through ``AWS_ENDPOINT_URL_LAMBDA`` and runs the same
handler, as Lambda would.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from devstack.events import FakeLambdaContext
from devstack.loopback import LoopbackServer, QuietHandler

HOST = "127.0.0.1"
FUNCTION_NAME = "endpoint-relay-local"


Handler = Callable[[dict[str, Any], Any], Any]


class LocalLambda:
    """The relay's function as one warm Lambda container runs it: one invocation at a time.

    The handler is imported on first use, after :meth:`DevStack.apply_env`, as a
    cold start would. Asynchronous invocations (``InvocationType=Event``) run on
    a background thread and are counted, so callers can wait for them.
    """

    def __init__(self, function_name: str = FUNCTION_NAME) -> None:
        self.function_name = function_name
        self._invocation = threading.Lock()
        self._pending = threading.Condition()
        self._in_flight = 0
        self._handler: Handler | None = None
        self.async_errors: list[str] = []

    def invoke(self, event: dict[str, Any], remaining_ms: int = 29_000) -> Any:
        with self._invocation:
            handler = self._load()
            return handler(event, FakeLambdaContext(remaining_ms=remaining_ms, function_name=self.function_name))

    def invoke_async(self, event: dict[str, Any]) -> None:
        with self._pending:
            self._in_flight += 1
        threading.Thread(target=self._run_async, args=(event,), name="lambda-async", daemon=True).start()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no asynchronous invocation is running; False if ``timeout`` passed first."""
        deadline = time.monotonic() + timeout
        with self._pending:
            while self._in_flight:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._pending.wait(remaining)
        return True

    def _run_async(self, event: dict[str, Any]) -> None:
        try:
            self.invoke(event)
        except Exception as exc:  # Lambda would log it and (for Event) retry; we record it
            self.async_errors.append(type(exc).__name__)
        finally:
            with self._pending:
                self._in_flight -= 1
                self._pending.notify_all()

    def _load(self) -> Handler:
        if self._handler is None:
            from endpoint_relay.handler import lambda_handler

            self._handler = lambda_handler
        return self._handler


class LambdaInvokeServer:
    """Lambda's Invoke API on loopback (``AWS_ENDPOINT_URL_LAMBDA``), for the relay's self-invocation.

    Only ``InvocationType=Event`` is served: a synchronous self-invocation would
    wait on the very container that makes it, which real Lambda avoids by
    starting another one.
    """

    def __init__(self, function: LocalLambda) -> None:
        self.function = function
        handler = type("InvokeHandler", (_InvokeHandler,), {"owner": self})
        self._server = LoopbackServer(handler, host=HOST, name="lambda-invoke-api")

    @property
    def url(self) -> str:
        return self._server.url

    def start(self) -> LambdaInvokeServer:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()


class _InvokeHandler(QuietHandler):
    owner: LambdaInvokeServer

    def do_POST(self) -> None:  # noqa: N802 - http.server dispatches on this name
        payload = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        parts = self.path.split("?", 1)[0].split("/")
        # /2015-03-31/functions/{FunctionName}/invocations; the name may be an ARN (optionally qualified).
        if len(parts) != 5 or parts[2] != "functions" or parts[4] != "invocations":
            self._answer(404, {"Type": "User", "message": "unknown Lambda API path"}, "ResourceNotFoundException")
            return
        name = unquote(parts[3])
        function = self.owner.function
        if function.function_name not in (name, *name.split(":")[6:7]):
            self._answer(404, {"Type": "User", "message": f"Function not found: {name}"}, "ResourceNotFoundException")
            return
        kind = self.headers.get("X-Amz-Invocation-Type", "RequestResponse")
        if kind == "DryRun":
            self._answer(204, None)
        elif kind == "Event":
            function.invoke_async(json.loads(payload or b"{}"))
            self._answer(202, None)
        else:
            message = "the local Invoke API serves InvocationType=Event only"
            self._answer(400, {"Type": "User", "message": message}, "InvalidParameterValueException")

    def _answer(self, status: int, document: Any, error_type: str | None = None) -> None:
        body = b"" if document is None else json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if error_type:
            self.send_header("X-Amzn-ErrorType", error_type)
        self.end_headers()
        self.wfile.write(body)
