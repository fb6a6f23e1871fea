"""`make serve`: the local stack left running, with the relay's HTTP API on 127.0.0.1.

Each HTTP request becomes an API Gateway HTTP API (payload 2.0) event, built as
API Gateway builds it, and goes to the real ``lambda_handler``; the response is
written back as API Gateway would. A schedule fires the sweep every
``SWEEP_SECONDS``. Ctrl-C or SIGTERM stops every process it started.

Environment (all optional):
  RELAY_PORT             port of the relay's HTTP API (3000)
  RELAY_LOCAL_TOKEN      the relay token callers present (random; printed at start)
  SLACK_SIGNING_SECRET   signs slash commands (random; printed at start)
  TOGETHER_API_BASE_URL  with TOGETHER_API_KEY: use this upstream instead of the simulator
  TOGETHER_API_KEY
  TOGETHER_PROJECT_ID    the default v2 project (the simulator's, proj_sim, when serving the simulator)
  SLACK_WEBHOOK_URL      where alerts go (the local Slack receiver)
  SWEEP_SECONDS          seconds between scheduled sweeps (60; 0 turns the schedule off)
  LOG_LEVEL              the relay's log level (INFO)
"""

from __future__ import annotations

import atexit
import base64
import json
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from typing import Any
from urllib.parse import parse_qsl, quote

from devstack.events import http_event
from devstack.moto_process import HOST
from devstack.stack import SEEDED_IDS, DevStack, StackOptions, load_template, scheduled_event
from endpoint_relay.core.errors import MethodNotAllowedError, RouteNotFoundError
from endpoint_relay.core.v2_ids import is_valid_project_id

MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway's request payload limit
# API Gateway hands these to the function as text; every other body (forms, binary, none declared) as base64.
_TEXT_TYPES = re.compile(r"^(text/[^;]*|application/(json|xml|javascript))\s*(;.*)?$", re.IGNORECASE)
# Characters allowed unescaped in a URI path; the rest are percent-encoded, existing escapes are kept.
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
# An HTTP method is a token (RFC 9110, section 5.6.2).
_METHOD_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


class ServeConfigError(ValueError):
    """An environment variable given to `make serve` is invalid."""


@dataclass(frozen=True)
class ServeConfig:
    port: int
    sweep_seconds: int
    options: StackOptions
    upstream_note: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> ServeConfig:
        port = _int_env(environ, "RELAY_PORT", 3000, 0, 65_535)
        sweep_seconds = _int_env(environ, "SWEEP_SECONDS", 60, 0, 86_400)
        base_url = environ.get("TOGETHER_API_BASE_URL", "").strip() or None
        api_key = environ.get("TOGETHER_API_KEY", "").strip() or None
        if base_url and api_key:
            note = f"upstream: {base_url} (TOGETHER_API_BASE_URL and TOGETHER_API_KEY are set)"
        elif base_url or api_key:
            note = "upstream: the Together simulator (set both TOGETHER_API_BASE_URL and TOGETHER_API_KEY for another)"
            base_url = api_key = None
        else:
            note = "upstream: the Together simulator"
        project_id = environ.get("TOGETHER_PROJECT_ID", "").strip() or None
        if project_id is not None and not is_valid_project_id(project_id):
            raise ServeConfigError("TOGETHER_PROJECT_ID must be a project id such as proj_3Fv7QpN2sK8wYd5Rb1Tm")
        overrides: dict[str, Any] = {
            "together_base_url": base_url,
            "together_api_key": api_key,
            "project_id": project_id,
            "slack_webhook_url": environ.get("SLACK_WEBHOOK_URL", "").strip() or None,
            "log_level": environ.get("LOG_LEVEL", "INFO").strip().upper() or "INFO",
        }
        if environ.get("RELAY_LOCAL_TOKEN", "").strip():
            overrides["relay_token"] = environ["RELAY_LOCAL_TOKEN"].strip()
        if environ.get("SLACK_SIGNING_SECRET", "").strip():
            overrides["slack_signing_secret"] = environ["SLACK_SIGNING_SECRET"].strip()
        if overrides["log_level"] not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ServeConfigError("LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR")
        return cls(port=port, sweep_seconds=sweep_seconds, options=StackOptions(**overrides), upstream_note=note)


def _int_env(environ: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ServeConfigError(f"{name}={raw!r} is invalid: expected a whole number from {low} to {high}")
    return int(raw)


# -- HTTP API routes, read from template.yaml ----------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    """As in the template, e.g. ``/v1/endpoints/{endpointId+}``."""

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """Path parameters if this route takes the request (``{x+}`` is greedy), else None."""
        if self.method not in (method, "ANY"):
            return None
        pattern = ""
        for piece in re.split(r"(\{[^}]+\})", self.path):
            if piece.startswith("{") and piece.endswith("+}"):
                pattern += f"(?P<{piece[1:-2]}>.+)"
            elif piece.startswith("{"):
                pattern += f"(?P<{piece[1:-1]}>[^/]+)"
            else:
                pattern += re.escape(piece)
        found = re.fullmatch(pattern, path)
        return dict(found.groupdict()) if found else None


def template_routes(template: dict[str, Any] | None = None) -> list[Route]:
    """The HttpApi events of every function in template.yaml."""
    document = template if template is not None else load_template()
    routes: list[Route] = []
    for resource in (document.get("Resources") or {}).values():
        events = ((resource or {}).get("Properties") or {}).get("Events") or {}
        for event in events.values():
            properties = event.get("Properties") or {}
            method, path = properties.get("Method"), properties.get("Path")
            if event.get("Type") == "HttpApi" and isinstance(method, str) and isinstance(path, str):
                routes.append(Route(method.upper(), path))
    return routes


# -- request -> event -> response ----------------------------------------------------------------------------------


def build_event(
    method: str, target: str, headers: list[tuple[str, str]], body: bytes, source_ip: str, routes: list[Route]
) -> dict[str, Any]:
    """The HTTP API v2 event API Gateway would send for this request."""
    raw_target = target.encode("latin-1", "replace")  # http.server decodes the request line as latin-1
    raw_path_bytes, _, raw_query_bytes = raw_target.partition(b"?")
    raw_path = quote(raw_path_bytes, safe=_PATH_SAFE)
    raw_query = quote(raw_query_bytes, safe=_PATH_SAFE + "?")
    joined: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers:
        lowered = name.lower()
        if lowered == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
            continue
        # Duplicate headers are combined with commas, as payload format 2.0 does.
        joined[lowered] = f"{joined[lowered]},{value}" if lowered in joined else value
    joined.setdefault("x-forwarded-for", source_ip)
    joined.setdefault("x-forwarded-proto", "http")
    content_type = joined.get("content-type", "")
    event = http_event(
        method,
        raw_path,
        headers=joined,
        body=body or None,
        base64_body=not _TEXT_TYPES.match(content_type),
        source_ip=source_ip,
    )
    event["rawQueryString"] = raw_query
    event.pop("queryStringParameters", None)
    if raw_query:
        parameters: dict[str, str] = {}
        for name, value in parse_qsl(raw_query, keep_blank_values=True):
            parameters[name] = f"{parameters[name]},{value}" if name in parameters else value
        event["queryStringParameters"] = parameters
    if cookies:
        event["cookies"] = cookies
    route_key = "$default"
    for route in routes:
        parameters_in_path = route.match(method, event["requestContext"]["http"]["path"])
        if parameters_in_path is not None:
            route_key = route.key
            if parameters_in_path:
                event["pathParameters"] = parameters_in_path
            break
    event["routeKey"] = event["requestContext"]["routeKey"] = route_key
    return event


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def http_answer(result: Any) -> HttpAnswer:
    """What API Gateway sends the client for the function's result (payload format 2.0)."""
    if not isinstance(result, dict) or "statusCode" not in result:
        # A result without statusCode is taken as a JSON body with status 200.
        return HttpAnswer(200, [("Content-Type", "application/json")], json.dumps(result).encode())
    raw_body = result.get("body") or ""
    body = base64.b64decode(raw_body) if result.get("isBase64Encoded") else str(raw_body).encode("utf-8")
    headers = [(str(name), str(value)) for name, value in (result.get("headers") or {}).items()]
    headers.extend(("Set-Cookie", str(cookie)) for cookie in result.get("cookies") or [])
    return HttpAnswer(int(result["statusCode"]), headers, body)


_INTERNAL_ERROR = HttpAnswer(500, [("Content-Type", "application/json")], b'{"message":"Internal Server Error"}')


def error_data(status: int) -> bytes:
    """ErrorData for a request the front refuses itself (it never reached the function), as the relay renders it.

    The caller's request line is not echoed back, unlike http.server's own error pages.
    """
    if status == HTTPStatus.NOT_FOUND:
        return RouteNotFoundError("no such route").body().encode()
    if status == HTTPStatus.METHOD_NOT_ALLOWED:
        return MethodNotAllowedError("method not allowed").body().encode()
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    error_type = "server_error" if status >= 500 else "invalid_request_error"
    code = re.sub(r"[^a-z0-9]+", "_", phrase.lower()).strip("_")
    return json.dumps({"error": {"message": phrase, "type": error_type, "param": None, "code": code}}).encode()


class RelayHttpServer:
    """The relay's HTTP API on loopback, in front of the stack's LocalLambda."""

    def __init__(self, stack: DevStack, port: int, routes: list[Route]) -> None:
        self.stack = stack
        self.routes = routes
        self._server = ThreadingHTTPServer((HOST, port), type("RelayHandler", (_RelayHandler,), {"owner": self}))
        self._server.daemon_threads = True

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self._server.server_port}"

    def start(self) -> RelayHttpServer:
        threading.Thread(target=self._server.serve_forever, name="relay-http-api", daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def handle(self, method: str, target: str, headers: list[tuple[str, str]], body: bytes, ip: str) -> HttpAnswer:
        event = build_event(method, target, headers, body, ip, self.routes)
        try:
            return http_answer(self.stack.relay.invoke(event))
        except Exception as exc:  # API Gateway answers 500 when the function itself fails
            _say(f"relay invocation failed: {type(exc).__name__}", stream=sys.stderr)
            return _INTERNAL_ERROR


class _RelayHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Errors found before the request line is understood still get a status line and headers (http.server
    # would answer those as HTTP/0.9: a bare body).
    default_request_version = "HTTP/1.0"
    disable_nagle_algorithm = True  # keep-alive answers would otherwise wait ~40 ms for delayed ACKs
    owner: RelayHttpServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return  # one access line per request is written by _serve instead

    def parse_request(self) -> bool:
        if len(self.raw_requestline.split()) == 2:
            # HTTP/0.9 ("GET /"): API Gateway does not speak it, and it has no headers to wait for.
            self.command = self.requestline = ""
            self.request_version = self.default_request_version
            self.send_error(HTTPStatus.BAD_REQUEST)
            return False
        if not super().parse_request():
            return False
        if not _METHOD_TOKEN.fullmatch(self.command):
            self.send_error(HTTPStatus.BAD_REQUEST)
            return False
        return True

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """JSON ErrorData instead of http.server's HTML page, for every request the front refuses itself."""
        body = error_data(code)
        self.close_connection = True
        self.send_response(code)  # the standard reason phrase: ``message`` may quote the request line
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        _say(f"refused a request -> {code}", stream=sys.stderr)

    def __getattr__(self, name: str) -> Any:
        # http.server dispatches on do_<METHOD> and answers 501 without one; API Gateway passes every
        # method to the function, which answers an unknown route or method with its own ErrorData.
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def _serve(self) -> None:
        started = time.monotonic()
        raw_length = self.headers.get("Content-Length") or "0"
        if not re.fullmatch(r"[0-9]{1,12}", raw_length):
            self.send_error(HTTPStatus.BAD_REQUEST)
            return
        length = int(raw_length)
        if length > MAX_PAYLOAD_BYTES:
            answer = HttpAnswer(413, [("Content-Type", "application/json")], b'{"message":"Request Entity Too Large"}')
            self.close_connection = True
        else:
            body = self.rfile.read(length) if length else b""
            answer = self.owner.handle(self.command, self.path, self.headers.items(), body, self.client_address[0])
        self.send_response(answer.status)
        for name, value in answer.headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(answer.body)
        cache = next((value for name, value in answer.headers if name.lower() == "x-cache"), "-")
        elapsed_ms = (time.monotonic() - started) * 1000
        path = self.path.split("?", 1)[0]
        _say(f"{self.command} {path} -> {answer.status} x-cache={cache} {elapsed_ms:.0f}ms", stream=sys.stderr)


# -- the schedule ----------------------------------------------------------------------------------------------------


class Schedule:
    """Fires the scheduled sweep every ``seconds``, as the EventBridge rule does."""

    def __init__(self, stack: DevStack, seconds: int) -> None:
        self.stack = stack
        self.seconds = seconds
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sweep-schedule", daemon=True)
        self._webhooks_shown = 0

    def start(self) -> Schedule:
        if self.seconds > 0:
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()

    def _run(self) -> None:
        while not self._stopped.wait(self.seconds):
            event = scheduled_event(self.stack)
            if event is None:
                _say("sweep: skipped, the scheduled sweep is not built yet (no events/scheduled_sweep.json)")
                continue
            try:
                result = self.stack.relay.invoke(event)
            except Exception as exc:
                _say(f"sweep: failed with {type(exc).__name__}", stream=sys.stderr)
                continue
            _say(f"sweep: {json.dumps(result)}")
            self._show_notifications()

    def _show_notifications(self) -> None:
        """One line per alert the local Slack receiver and the SNS topic got since the last sweep."""
        webhooks = self.stack.slack.messages("/services")
        for message in webhooks[self._webhooks_shown :]:
            try:
                blocks = message.json().get("blocks") or []
                headers = [block["text"]["text"] for block in blocks if block.get("type") == "header"]
            except (ValueError, AttributeError, KeyError, TypeError):
                headers = [message.body[:80].decode("utf-8", "replace")]
            _say(f"  slack webhook <- {' | '.join(headers)}")
        self._webhooks_shown = len(webhooks)
        for envelope in self.stack.sns_messages(max_messages=50, wait_seconds=0):
            _say(f"  sns topic     <- {envelope.get('Subject')}")


# -- main ------------------------------------------------------------------------------------------------------------


def _say(text: str, stream: Any = None) -> None:
    print(f"[serve] {text}", file=stream or sys.stdout, flush=True)


def _banner(stack: DevStack, server: RelayHttpServer, config: ServeConfig) -> None:
    token = stack.options.relay_token
    local = f"the local Slack receiver at {stack.slack.url}"
    webhook = "SLACK_WEBHOOK_URL" if stack.options.slack_webhook_url else local
    lines = [
        f"endpoint-relay serving on {server.url}",
        f"RELAY_LOCAL_TOKEN={token}",
        f"SLACK_SIGNING_SECRET={stack.options.slack_signing_secret}",
        config.upstream_note,
        f"v2 project (TOGETHER_PROJECT_ID): {stack.options.default_project_id or 'none'}",
        f"slack webhook: {webhook}",
        f"aws (moto server): {stack.moto.url}",
        f"schedule: every {config.sweep_seconds}s" if config.sweep_seconds else "schedule: off (SWEEP_SECONDS=0)",
        f"child processes: {' '.join(str(pid) for pid in stack.child_pids)}",
    ]
    if stack.together is not None:
        lines.append("seeded endpoints: " + " ".join(SEEDED_IDS))
    lines.append(f'try: curl -H "Authorization: Bearer {token}" {server.url}/v1/endpoints/{SEEDED_IDS[0]}')
    lines.append("stop with Ctrl-C")
    for line in lines:
        _say(line)


def main() -> int:
    try:
        config = ServeConfig.from_env(os.environ)
    except ServeConfigError as exc:
        _say(str(exc), stream=sys.stderr)
        return 2
    stop_requested = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        stop_requested.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    stack = DevStack(config.options)
    atexit.register(stack.stop)  # a crash on the way out still stops moto
    try:
        server = RelayHttpServer(stack, config.port, template_routes())
    except OSError as exc:
        _say(f"cannot listen on {HOST}:{config.port} ({exc.strerror}); choose another port with RELAY_PORT", sys.stderr)
        return 2
    try:
        stack.start()
        stack.apply_env()
        server.start()
    except BaseException:
        stack.stop()
        raise
    schedule = Schedule(stack, config.sweep_seconds).start()
    _banner(stack, server, config)
    try:
        while not stop_requested.wait(0.5):
            pass
    finally:
        _say("stopping")
        schedule.stop()
        server.stop()
        stack.stop()
        _say("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
