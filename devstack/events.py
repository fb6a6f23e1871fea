"""API Gateway HTTP API (payload format 2.0) events, built the way API Gateway builds them.

Used by the tests, `make demo` and `make serve`, so all three exercise the same
event shape as production.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import unquote

EVENTS_DIR = Path(__file__).resolve().parent.parent / "events"


def load_event(name: str) -> dict[str, Any]:
    """A sample event from events/, as `sam local invoke -e` would use it."""
    document: dict[str, Any] = json.loads((EVENTS_DIR / name).read_text(encoding="utf-8"))
    return document


def http_event(
    method: str,
    raw_path: str,
    *,
    headers: dict[str, str] | None = None,
    query: str = "",
    body: bytes | None = None,
    base64_body: bool = False,
    route_key: str | None = None,
    iam_caller: bool = False,
    source_ip: str = "127.0.0.1",
) -> dict[str, Any]:
    """An HTTP API v2 event. Header names are lowercased, as API Gateway does."""
    lowered = {name.lower(): value for name, value in (headers or {}).items()}
    now = time.time()
    request_context: dict[str, Any] = {
        "accountId": "123456789012",
        "apiId": "relayapi",
        "domainName": "relayapi.execute-api.us-east-1.amazonaws.com",
        "domainPrefix": "relayapi",
        "http": {
            "method": method,
            "path": unquote(raw_path),
            "protocol": "HTTP/1.1",
            "sourceIp": source_ip,
            "userAgent": lowered.get("user-agent", "local"),
        },
        "requestId": str(uuid.uuid4()),
        "routeKey": route_key or f"{method} {raw_path}",
        "stage": "$default",
        "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
        "timeEpoch": int(now * 1000),
    }
    if iam_caller:
        request_context["authorizer"] = {
            "iam": {
                "accessKey": "AKIAEXAMPLE",
                "accountId": "123456789012",
                "callerId": "AIDAEXAMPLE",
                "principalOrgId": None,
                "userArn": "arn:aws:iam::123456789012:user/caller",
                "userId": "AIDAEXAMPLE",
            }
        }
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": request_context["routeKey"],
        "rawPath": raw_path,
        "rawQueryString": query,
        "headers": lowered,
        "requestContext": request_context,
        "isBase64Encoded": False,
    }
    if query:
        parameters: dict[str, str] = {}
        for pair in query.split("&"):
            name, _, value = pair.partition("=")
            parameters[name] = value
        event["queryStringParameters"] = parameters
    if body is not None:
        if base64_body:
            event["body"] = base64.b64encode(body).decode("ascii")
            event["isBase64Encoded"] = True
        else:
            event["body"] = body.decode("utf-8")
    return event


class FakeLambdaContext:
    """The attributes Powertools and the handler read from the Lambda context."""

    def __init__(self, remaining_ms: int = 29_000, function_name: str = "endpoint-relay-local") -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        self.memory_limit_in_mb = 512
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + remaining_ms / 1000.0

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))
