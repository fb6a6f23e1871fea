"""`make serve` as a user runs it: a real process, real HTTP on loopback, and a clean stop on SIGTERM."""

from __future__ import annotations

import hashlib
import hmac
import json
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest

from devstack.serve import Route, build_event, http_answer, template_routes
from devstack.slack_receiver import SlackReceiver
from devstack.stack import HEALTHY_ID, Resources, declared_environment, load_template, resource_variables
from tests.integration.serve_support import REQUEST_TIMEOUT, HttpResult, Served, http_request, start_serve, stop_serve
from tests.leakcheck import COLLECTOR

_current: Served | None = None


@pytest.fixture
def served() -> Iterator[Served]:
    """One `make serve` process shared by the tests; started again if a test stopped it."""
    global _current
    if _current is None or _current.process.poll() is not None:
        _current = start_serve()
    COLLECTOR.register_secret(_current.token, _current.signing_secret)
    yield _current


@pytest.fixture(scope="module", autouse=True)
def _stop_serve_at_the_end() -> Iterator[None]:
    yield
    if _current is not None:
        stop_serve(_current)


def _signed_command(served: Served, text: str, response_url: str, *, secret: str | None = None) -> HttpResult:
    body = urlencode(
        {
            "token": "unused-verification-token",
            "team_id": "T0001",
            "team_domain": "example",
            "channel_id": "C2147483705",
            "channel_name": "oncall",
            "user_id": "U2147483697",
            "user_name": "oncall",
            "command": "/together",
            "text": text,
            "response_url": response_url,
            "trigger_id": "13345224609.738474920.8088930838d88f008e0",
        }
    ).encode()
    timestamp = str(int(time.time()))
    digest = hmac.new((secret or served.signing_secret).encode(), f"v0:{timestamp}:".encode() + body, hashlib.sha256)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": f"v0={digest.hexdigest()}",
    }
    return http_request(f"{served.url}/slack/commands", method="POST", headers=headers, body=body)


def _reply_text(document: object) -> str:
    """Everything a Slack reply would show, as one string."""
    return json.dumps(document, ensure_ascii=False).replace("\\u200b", "")


def test_lookup_with_the_local_token_returns_the_endpoint(served: Served) -> None:
    # Given `make serve` running with RELAY_LOCAL_TOKEN set
    url = f"{served.url}/v1/endpoints/{HEALTHY_ID}"
    # When a caller does what `curl -H "Authorization: Bearer $RELAY_LOCAL_TOKEN" <url>` does
    first = http_request(url, headers={"Authorization": f"Bearer {served.token}"})
    second = http_request(url, headers={"Authorization": f"Bearer {served.token}"})
    anonymous = http_request(url)
    # Then it gets the endpoint in Together's shape, cached on the second call, and nothing without the token
    assert first.status == 200, first.body
    document = first.json()
    assert isinstance(document, dict)
    assert (document["object"], document["id"], document["state"]) == ("endpoint", HEALTHY_ID, "STARTED")
    assert first.headers["content-type"] == "application/json"
    assert (first.headers["x-cache"], second.headers["x-cache"]) == ("MISS", "HIT")
    assert second.body == first.body
    assert anonymous.status == 401
    error = anonymous.json()["error"]  # type: ignore[index]
    assert set(error) == {"message", "type", "param", "code"}


def test_v2_serves_the_simulators_project_by_default_and_no_other(served: Served) -> None:
    # Given `make serve` on the simulator, without TOGETHER_PROJECT_ID
    token = {"Authorization": f"Bearer {served.token}"}
    assert any("v2 project (TOGETHER_PROJECT_ID): proj_sim" in line for line in served.output)
    # When v2 lists are read for the simulator's project and for another
    own = http_request(f"{served.url}/v2/projects/proj_sim/endpoints", headers=token)
    other = http_request(f"{served.url}/v2/projects/proj_3Fv7QpN2sK8wYd5Rb1Tm/endpoints", headers=token)
    # Then the first is Together's page and the other is refused as unknown
    assert own.status == 200, own.body
    assert own.json()["object"] == "list"  # type: ignore[index]
    assert other.status == 404
    assert other.json()["error"]["code"] == "project_not_found"  # type: ignore[index]


def test_request_translation_matches_api_gateway(served: Served) -> None:
    # Given ids API Gateway would deliver percent-encoded, and routes the function does not serve
    token = {"Authorization": f"Bearer {served.token}"}
    # When they arrive over HTTP
    encoded_slash = http_request(f"{served.url}/v1/endpoints/endpoint-x%2F..%2Fadmin", headers=token)
    health = http_request(f"{served.url}/healthz?probe=1&probe=2")
    unknown = http_request(f"{served.url}/v9/nothing-here")
    # Then the relay sees the raw path and answers with its own ErrorData, as it does behind API Gateway
    assert encoded_slash.status == 400
    assert encoded_slash.json()["error"]["param"] == "endpointId"  # type: ignore[index]
    assert health.status == 200
    assert health.json() == {"status": "ok"}
    assert unknown.status == 404


def _raw_exchange(served: Served, request: bytes) -> tuple[str, dict[str, str], bytes]:
    """Send bytes as they are and read the answer to the end (each request here closes the connection)."""
    host, port = served.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=REQUEST_TIMEOUT) as connection:
        connection.sendall(request)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in header_lines)}
    COLLECTOR.add_text(received.decode("utf-8", "replace"))
    return status_line, headers, body


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"TRACE /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 404),
        (b"FOO /v9/nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 404),
        (b"DELETE /v1/endpoints/endpoint-abc HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 405),
        (b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n", 404),
        (b"GET /\r\n", 400),  # HTTP/0.9
        (b"GET / HTTP/1.1 extra\r\n\r\n", 400),
        (b"GET / HTTX/1.1\r\n\r\n", 400),
        (b"GET / HTTP/2.0\r\n\r\n", 505),
        (b"G<E>T / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        (b"POST /slack/commands HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\n\r\n", 400),
        (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", 414),
        (b"GET / HTTP/1.1\r\nX-Long: " + b"a" * 70_000 + b"\r\n\r\n", 431),
        (b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: 1\r\n" % n for n in range(150)) + b"\r\n", 431),
    ],
    ids=[
        "trace",
        "unknown-method",
        "wrong-method",
        "connect",
        "http-0.9",
        "four-words",
        "bad-version",
        "http-2",
        "not-a-method-token",
        "bad-content-length",
        "long-request-line",
        "long-header",
        "too-many-headers",
    ],
)
def test_every_method_and_malformed_request_gets_json_error_data(
    served: Served, request_bytes: bytes, status: int
) -> None:
    # Given a request API Gateway would refuse or route nowhere, sent as raw bytes over a real socket
    # When the local front answers it
    status_line, headers, body = _raw_exchange(served, request_bytes)
    # Then the answer is an HTTP status line with ErrorData in JSON, never http.server's HTML page
    assert status_line.startswith("HTTP/1.") and status_line.split()[1] == str(status), status_line
    assert headers["content-type"] == "application/json"
    error = json.loads(body)["error"]
    assert set(error) == {"message", "type", "param", "code"}
    if status == 404:
        assert error["code"] == "route_not_found"
    if status == 405:
        assert error["code"] == "method_not_allowed"
    assert b"<" not in body and b"extra" not in body  # nothing of the request is echoed back


def test_signed_slash_command_gets_an_answer(served: Served) -> None:
    with SlackReceiver() as response_urls:
        response_url = f"{response_urls.url}/commands/T0001/1/test"
        # Given a slash command signed with SLACK_SIGNING_SECRET, as Slack signs it
        helped = _signed_command(served, "help", response_url)
        # When the status of an endpoint is asked for
        status = _signed_command(served, f"status {HEALTHY_ID}", response_url)
        # Then both are answered with 200: in the HTTP reply, or (when deferred) at the response_url
        assert helped.status == 200, helped.body
        assert "status" in _reply_text(helped.json())
        assert status.status == 200, status.body
        answers = [_reply_text(status.json())]
        if HEALTHY_ID not in answers[0]:
            answers += [_reply_text(message.json()) for message in response_urls.wait_for(1, timeout=30)]
        assert any(HEALTHY_ID in answer for answer in answers), answers


def test_slash_command_with_a_wrong_signature_is_refused(served: Served) -> None:
    # Given a command signed with some other secret
    forged = _signed_command(served, "help", "https://hooks.slack.com/commands/x", secret="not-the-signing-secret")
    # Then it is refused without detail
    assert forged.status == 401


def _process_start_time(pid: int) -> str | None:
    """Field 22 of /proc/<pid>/stat (start time), or None if the process is gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return None if fields[0] == "Z" else fields[19]


def _descendants(root: int) -> dict[int, str]:
    """Every running process below ``root``, with its start time (so a reused PID is not mistaken for it)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: dict[int, str] = {}
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid not in found:
                started = _process_start_time(pid)
                if started is not None:
                    found[pid] = started
                    frontier.append(pid)
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table from /proc")
def test_sigterm_leaves_no_process_behind(served: Served) -> None:
    # Given `make serve` running with its child processes (moto server) announced at start
    children = _descendants(served.process.pid)
    assert served.child_pids
    assert set(served.child_pids) <= set(children)
    # When it gets SIGTERM
    served.process.send_signal(signal.SIGTERM)
    exit_code = served.process.wait(timeout=60)
    # Then it exits cleanly, and every process it started is gone
    assert exit_code == 0, "".join(served.output[-20:])
    deadline = time.monotonic() + 30
    left = dict(children)
    while left and time.monotonic() < deadline:
        left = {pid: started for pid, started in left.items() if _process_start_time(pid) == started}
        if left:
            time.sleep(0.1)
    assert not left, f"still running after SIGTERM: {sorted(left)}"
    assert any("stopped" in line for line in served.output)


# -- the translation and the environment, without a process ---------------------------------------------------------


def test_the_local_stack_sets_every_variable_the_template_sets() -> None:
    # Given the function's environment as template.yaml declares it
    values, bound_to_resources = declared_environment(load_template())
    # Then literals and parameter defaults are taken as they are, and every variable the template
    # takes from a resource has a local value: `make serve` runs the relay with AWS's environment
    resources = Resources("arn:secret", "cache", "arn:topic", "http://queue", "alerts", "/policy")
    assert set(bound_to_resources) <= set(resource_variables(resources))
    assert "RELAY_SECRET_ID" in set(values) | set(bound_to_resources)


@pytest.mark.parametrize(
    ("content_type", "base64_encoded"),
    [
        ("application/x-www-form-urlencoded", True),
        ("application/octet-stream", True),
        (None, True),
        ("application/json", False),
        ("application/json; charset=utf-8", False),
        ("text/plain", False),
    ],
)
def test_request_body_is_encoded_as_api_gateway_encodes_it(content_type: str | None, base64_encoded: bool) -> None:
    # Given a POST with a body of some content type
    headers = [("Host", "127.0.0.1:3000"), ("Content-Length", "7")]
    if content_type:
        headers.append(("Content-Type", content_type))
    # When it is translated into an HTTP API v2 event
    event = build_event("POST", "/slack/commands", headers, b"a=1&b=2", "127.0.0.1", template_routes())
    # Then form and binary bodies arrive base64-encoded, text bodies as text
    assert event["isBase64Encoded"] is base64_encoded
    assert event["body"] == ("YT0xJmI9Mg==" if base64_encoded else "a=1&b=2")
    assert event["routeKey"] == "POST /slack/commands"


def test_request_line_headers_and_query_become_payload_2_0_fields() -> None:
    # Given a request with an encoded path, repeated query parameters, repeated headers and cookies
    headers = [("X-Trace", "a"), ("X-Trace", "b"), ("Cookie", "c1=1; c2=2"), ("Authorization", "Bearer t")]
    target = "/v1/endpoints/endpoint-a%2Fb?x=1&x=2&y=%20z"
    # When it is translated
    event = build_event("GET", target, headers, b"", "10.0.0.9", template_routes())
    # Then it has the fields and spellings API Gateway uses
    assert event["version"] == "2.0"
    assert event["rawPath"] == "/v1/endpoints/endpoint-a%2Fb"
    assert event["rawQueryString"] == "x=1&x=2&y=%20z"
    assert event["queryStringParameters"] == {"x": "1,2", "y": " z"}
    assert event["headers"]["x-trace"] == "a,b"
    assert event["headers"]["authorization"] == "Bearer t"
    assert "cookie" not in event["headers"]
    assert event["cookies"] == ["c1=1", "c2=2"]
    assert event["requestContext"]["http"] == {
        "method": "GET",
        "path": "/v1/endpoints/endpoint-a/b",
        "protocol": "HTTP/1.1",
        "sourceIp": "10.0.0.9",
        "userAgent": "local",
    }
    assert event["routeKey"] == "GET /v1/endpoints/{endpointId+}"
    assert event["pathParameters"] == {"endpointId": "endpoint-a/b"}
    assert event["requestContext"]["requestId"]
    assert "body" not in event


def test_unrouted_requests_reach_the_function_as_the_default_route() -> None:
    assert build_event("GET", "/nowhere", [], b"", "127.0.0.1", template_routes())["routeKey"] == "$default"
    assert Route("GET", "/healthz").match("POST", "/healthz") is None


def test_function_results_become_http_answers() -> None:
    # A base64 body is decoded, cookies become Set-Cookie, and a bare result is JSON with status 200
    binary = http_answer({"statusCode": 201, "body": "aGk=", "isBase64Encoded": True, "cookies": ["a=1"]})
    assert (binary.status, binary.body, binary.headers) == (201, b"hi", [("Set-Cookie", "a=1")])
    bare = http_answer({"ok": True})
    assert (bare.status, json.loads(bare.body)) == (200, {"ok": True})
