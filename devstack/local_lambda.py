"""A local Lambda: the relay's three functions as warm containers run them, and Lambda's Invoke API on loopback.

ApiFunction's asynchronous invocation of the Slack worker reaches the Invoke API
stand-in through ``AWS_ENDPOINT_URL_LAMBDA`` and runs the worker's real entry
point, as Lambda would; a failed one goes to the worker's failure destination.
"""

from __future__ import annotations

import importlib
import json
import sys
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from devstack.events import FakeLambdaContext
from devstack.loopback import LoopbackServer, QuietHandler

HOST = "127.0.0.1"
FUNCTION_NAME = "endpoint-relay-local"
"""Prefix of the local functions' names, as ``sam deploy`` would prefix them with the stack name."""

Handler = Callable[[dict[str, Any], Any], Any]

API, SWEEP, WORKER = "api", "sweep", "slack_worker"
ENTRYPOINTS = {
    API: "endpoint_relay.entrypoints.api",
    SWEEP: "endpoint_relay.entrypoints.sweep",
    WORKER: "endpoint_relay.entrypoints.slack_worker",
}
FUNCTION_NAMES = {kind: f"{FUNCTION_NAME}-{kind.replace('_', '-')}" for kind in ENTRYPOINTS}
TIMEOUTS_MS = {API: 29_000, SWEEP: 300_000, WORKER: 300_000}
"""Each function's Timeout in template.yaml: what a fresh invocation has left."""


def function_for(event: dict[str, Any]) -> str:
    """Which function the template wires this trigger to."""
    if event.get("version") == "2.0" and "requestContext" in event:
        return API
    if event.get("endpoint_relay") == "slack_command":
        return WORKER
    return SWEEP


def entrypoint_handler(kind: str) -> Handler:
    """The real ``lambda_handler`` of a function, built from the environment as a cold start would."""
    handler: Handler = getattr(importlib.import_module(ENTRYPOINTS[kind]), "lambda_handler")  # noqa: B009
    return handler


def reset_entrypoints() -> None:
    """Forget the handlers built from the environment (tests change it between cases)."""
    for module in ENTRYPOINTS.values():
        loaded = sys.modules.get(module)
        if loaded is not None:
            loaded._from_environment.cache_clear()
            if hasattr(loaded, "graph"):
                loaded.graph.cache_clear()


class LocalLambda:
    """The relay's three functions as warm Lambda containers run them: one invocation at a time.

    Handlers are built on first use, after :meth:`DevStack.apply_env`, as a cold
    start would. Asynchronous invocations (``InvocationType=Event``) run on a
    background thread and are counted, so callers can wait for them; one that
    fails goes to ``on_failure`` (the function's OnFailure destination), as
    Lambda does when its retries are used up.
    """

    def __init__(
        self,
        handler_for: Callable[[str], Handler] = entrypoint_handler,
        *,
        on_failure: Callable[[str, dict[str, Any], BaseException], None] | None = None,
    ) -> None:
        self.function_name = FUNCTION_NAME
        self._handler_for = handler_for
        self._on_failure = on_failure
        self._invocation = threading.Lock()
        self._pending = threading.Condition()
        self._in_flight = 0
        self._handlers: dict[str, Handler] = {}
        self.async_errors: list[str] = []

    def invoke(self, event: dict[str, Any], remaining_ms: int | None = None, *, function: str | None = None) -> Any:
        kind = function or function_for(event)
        remaining_ms = TIMEOUTS_MS[kind] if remaining_ms is None else remaining_ms
        with self._invocation:
            handler = self._handlers.get(kind) or self._handlers.setdefault(kind, self._handler_for(kind))
            context = FakeLambdaContext(remaining_ms=remaining_ms, function_name=FUNCTION_NAMES[kind])
            return handler(event, context)

    def invoke_async(self, event: dict[str, Any], *, function: str | None = None) -> None:
        with self._pending:
            self._in_flight += 1
        kind = function or function_for(event)
        threading.Thread(target=self._run_async, args=(kind, event), name="lambda-async", daemon=True).start()

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

    def _run_async(self, kind: str, event: dict[str, Any]) -> None:
        try:
            self.invoke(event, function=kind)
        except Exception as exc:  # the worker's retries are 0: straight to its OnFailure destination
            self.async_errors.append(type(exc).__name__)
            if self._on_failure is not None:
                self._on_failure(kind, event, exc)
        finally:
            with self._pending:
                self._in_flight -= 1
                self._pending.notify_all()

    def function_named(self, name: str) -> str | None:
        """The kind of function a FunctionName (plain, ARN or qualified ARN) names, or None."""
        plain = name.split(":")[6] if name.startswith("arn:") and name.count(":") >= 6 else name.split(":")[0]
        return next((kind for kind, known in FUNCTION_NAMES.items() if known == plain), None)


def destination_record(kind: str, event: dict[str, Any], error: BaseException) -> dict[str, Any]:
    """What Lambda sends to an OnFailure destination for an asynchronous invocation (its documented shape)."""
    return {
        "version": "1.0",
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
        "requestContext": {
            "requestId": uuid.uuid4().hex,
            "functionArn": f"arn:aws:lambda:us-east-1:123456789012:function:{FUNCTION_NAMES[kind]}:live",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 1,
        },
        "requestPayload": event,
        "responseContext": {"statusCode": 200, "executedVersion": "1", "functionError": "Unhandled"},
        "responsePayload": {"errorType": type(error).__name__, "errorMessage": "the follow-up failed"},
    }


class LambdaInvokeServer:
    """Lambda's Invoke API on loopback (``AWS_ENDPOINT_URL_LAMBDA``), for the Slack worker's invocation.

    Only ``InvocationType=Event`` is served: that is the only kind the relay makes.
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
        kind = function.function_named(name)
        if kind is None:
            self._answer(404, {"Type": "User", "message": f"Function not found: {name}"}, "ResourceNotFoundException")
            return
        invocation_type = self.headers.get("X-Amz-Invocation-Type", "RequestResponse")
        if invocation_type == "DryRun":
            self._answer(204, None)
        elif invocation_type == "Event":
            function.invoke_async(json.loads(payload or b"{}"), function=kind)
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
