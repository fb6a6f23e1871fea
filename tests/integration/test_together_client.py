"""TogetherClient against the Together simulator and small local servers, over real HTTP on loopback.

Timeouts are short and backoff is zero so the file runs in seconds. Where a test needs to know how long
urllib3 chose to wait, the wait is recorded instead of slept: nothing here asserts on elapsed time.
"""

from __future__ import annotations

import json
import socket
import time
import types
from collections.abc import Callable, Iterator
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
import urllib3.util.retry

from devstack.loopback import LoopbackServer, QuietHandler
from devstack.together_sim import Fault, TogetherSimulator, make_endpoint
from endpoint_relay.adapters.together import TogetherClient
from endpoint_relay.core import errors
from endpoint_relay.settings import UpstreamSettings
from tests.leakcheck import COLLECTOR

pytestmark = pytest.mark.integration

KEY = "sim-together-key"
ENDPOINT_ID = "endpoint-5b1e0c4e-8f0a-4c55-9d7e-2f6a1b3c4d5e"
OTHER_ID = "endpoint-0a0a0a0a-0000-4000-8000-000000000000"


# -- helpers -------------------------------------------------------------------------------------------------------


class Observations:
    def __init__(self) -> None:
        self.calls: list[tuple[float, str | None]] = []

    def __call__(self, latency_ms: float, error_kind: str | None) -> None:
        self.calls.append((latency_ms, error_kind))

    @property
    def kinds(self) -> list[str | None]:
        return [kind for _, kind in self.calls]


def _client(base_url: str, observer: Observations | None = None, **overrides: Any) -> TogetherClient:
    settings: dict[str, Any] = {
        "connect_timeout": 0.5,
        "read_timeout": 0.5,
        "max_retries": 2,
        "max_retry_after": 1.0,
        "backoff_factor": 0.0,
        **overrides,
    }
    return TogetherClient(UpstreamSettings(base_url=base_url, **settings), observer=observer)


class LocalServer:
    """A loopback HTTP server answering GETs with ``respond``; records every request and client connection."""

    def __init__(self, respond: Callable[[BaseHTTPRequestHandler], None]) -> None:
        self.requests: list[str] = []
        self.connections: set[int] = set()  # client ports: one per TCP connection
        server = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                server.requests.append(self.path)
                server.connections.add(self.client_address[1])
                try:
                    respond(self)
                except OSError:  # the client hung up on a refused answer
                    self.close_connection = True

        self._server = LoopbackServer(Handler, name="local-server").start()

    @property
    def url(self) -> str:
        return self._server.url

    def stop(self) -> None:
        self._server.stop()


@pytest.fixture
def local_server() -> Iterator[Callable[[Callable[[BaseHTTPRequestHandler], None]], LocalServer]]:
    started: list[LocalServer] = []

    def start(respond: Callable[[BaseHTTPRequestHandler], None]) -> LocalServer:
        started.append(LocalServer(respond))
        return started[-1]

    yield start
    for server in started:
        server.stop()


def _send_json(handler: BaseHTTPRequestHandler, document: Any) -> None:
    body = json.dumps(document).encode()
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def _send_chunked(handler: BaseHTTPRequestHandler, body: bytes, chunk_size: int = 1000) -> None:
    """Stream ``body`` with Transfer-Encoding: chunked, so no Content-Length warns the client."""
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Transfer-Encoding", "chunked")
    handler.end_headers()
    for start in range(0, len(body), chunk_size):
        chunk = body[start : start + chunk_size]
        handler.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
    handler.wfile.write(b"0\r\n\r\n")


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the waits urllib3's Retry asks for instead of sleeping them (its clock is injected here)."""
    recorded: list[float] = []
    fake_time = types.SimpleNamespace(sleep=recorded.append, time=time.time)
    monkeypatch.setattr(urllib3.util.retry, "time", fake_time)
    return recorded


@pytest.fixture(autouse=True)
def _register_key(_no_secret_leaks: None) -> None:
    COLLECTOR.register_secret(KEY)


@pytest.fixture
def sim(together: TogetherSimulator) -> TogetherSimulator:
    together.put(make_endpoint(ENDPOINT_ID))
    return together


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # nothing listens here any more: connecting is refused at once


# -- success -------------------------------------------------------------------------------------------------------


def test_an_endpoint_is_returned_as_the_raw_body_and_its_model(sim: TogetherSimulator) -> None:
    body, endpoint = _client(sim.base_url).get_endpoint(ENDPOINT_ID, KEY)

    assert body == json.dumps(make_endpoint(ENDPOINT_ID))
    assert endpoint.id == ENDPOINT_ID
    assert endpoint.state == "STARTED"
    assert sim.call_count(ENDPOINT_ID) == 1
    assert sim.auth_failures == 0  # the bearer key was sent as the simulator expects


def test_every_request_identifies_the_relay_and_asks_for_json(sim: TogetherSimulator) -> None:
    _client(sim.base_url).get_endpoint(ENDPOINT_ID, KEY)
    headers = {name.lower(): value for name, value in sim.last_request_headers.items()}
    assert headers["user-agent"] == "endpoint-relay/1"
    assert headers["accept"] == "application/json"
    assert headers["authorization"] == f"Bearer {KEY}"


def test_the_pooled_connection_is_reused_across_requests(
    local_server: Callable[[Callable[[BaseHTTPRequestHandler], None]], LocalServer],
) -> None:
    def respond(handler: BaseHTTPRequestHandler) -> None:
        if len(server.requests) == 2:  # a small error answer is read to its end, so the connection stays usable
            handler.send_response(404)
            handler.send_header("Content-Length", "2")
            handler.end_headers()
            handler.wfile.write(b"{}")
            return
        _send_json(handler, make_endpoint(ENDPOINT_ID))

    server = local_server(respond)
    client = _client(f"{server.url}/v1")
    client.get_endpoint(ENDPOINT_ID, KEY)
    with pytest.raises(errors.EndpointNotFoundError):
        client.get_endpoint(ENDPOINT_ID, KEY)
    for _ in range(3):
        client.get_endpoint(ENDPOINT_ID, KEY)
    assert len(server.requests) == 5
    assert len(server.connections) == 1


# -- retries -------------------------------------------------------------------------------------------------------

RETRYABLE = [
    (500, errors.UpstreamUnavailableError),
    (502, errors.UpstreamUnavailableError),
    (503, errors.UpstreamUnavailableError),
    (504, errors.UpstreamUnavailableError),
    (429, errors.UpstreamRateLimitedError),
]


@pytest.mark.parametrize(("status", "error"), RETRYABLE, ids=[str(status) for status, _ in RETRYABLE])
@pytest.mark.parametrize("max_retries", [0, 1, 2])
def test_retryable_statuses_are_retried_at_most_max_retries_times(
    sim: TogetherSimulator, status: int, error: type[errors.UpstreamError], max_retries: int
) -> None:
    # Given upstream fails more often than the client retries
    sim.inject(*[Fault(status=status)] * (max_retries + 2))
    # When an endpoint is requested
    with pytest.raises(error):
        _client(sim.base_url, max_retries=max_retries).get_endpoint(ENDPOINT_ID, KEY)
    # Then exactly one first attempt plus max_retries retries reached upstream
    assert sim.call_count(ENDPOINT_ID) == max_retries + 1


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429])
def test_a_retry_that_succeeds_returns_the_endpoint(sim: TogetherSimulator, status: int) -> None:
    sim.inject(Fault(status=status), Fault(status=status))
    _, endpoint = _client(sim.base_url, max_retries=2).get_endpoint(ENDPOINT_ID, KEY)
    assert endpoint.id == ENDPOINT_ID
    assert sim.call_count(ENDPOINT_ID) == 3


def test_a_rate_limit_that_outlasts_the_retries_carries_retry_after(sim: TogetherSimulator) -> None:
    sim.inject(*[Fault(status=429, headers={"Retry-After": "0"})] * 3)
    with pytest.raises(errors.UpstreamRateLimitedError) as caught:
        _client(sim.base_url).get_endpoint(ENDPOINT_ID, KEY)
    assert caught.value.retry_after == 1
    assert caught.value.headers() == {"Retry-After": "1"}


@pytest.mark.parametrize("max_retries", [0, 2])
def test_connection_resets_are_retried_at_most_max_retries_times(sim: TogetherSimulator, max_retries: int) -> None:
    sim.inject(*[Fault(reset_connection=True)] * (max_retries + 2))
    with pytest.raises(errors.UpstreamUnavailableError):
        _client(sim.base_url, max_retries=max_retries).get_endpoint(ENDPOINT_ID, KEY)
    assert sim.call_count(ENDPOINT_ID) == max_retries + 1


def test_a_reset_followed_by_an_answer_succeeds(sim: TogetherSimulator) -> None:
    sim.inject(Fault(reset_connection=True))
    _, endpoint = _client(sim.base_url).get_endpoint(ENDPOINT_ID, KEY)
    assert endpoint.id == ENDPOINT_ID
    assert sim.call_count(ENDPOINT_ID) == 2


@pytest.mark.parametrize("status", [400, 409, 418, 422])
def test_other_client_errors_are_not_retried(sim: TogetherSimulator, status: int) -> None:
    sim.inject(Fault(status=status))
    with pytest.raises(errors.InvalidUpstreamResponseError):
        _client(sim.base_url).get_endpoint(ENDPOINT_ID, KEY)
    assert sim.call_count(ENDPOINT_ID) == 1


# -- Retry-After ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 503])
def test_a_short_retry_after_is_honoured(sim: TogetherSimulator, sleeps: list[float], status: int) -> None:
    # Given upstream asks to come back in 1 s, within the client's 1 s limit
    sim.inject(Fault(status=status, headers={"Retry-After": "1"}))
    # When an endpoint is requested
    _, endpoint = _client(sim.base_url, max_retry_after=1.0).get_endpoint(ENDPOINT_ID, KEY)
    # Then the client waited exactly what was asked, then retried and succeeded
    assert endpoint.id == ENDPOINT_ID
    assert sleeps == [1]
    assert sim.call_count(ENDPOINT_ID) == 2


@pytest.mark.parametrize(
    ("status", "retry_after", "expected"),
    [(429, "30", 30), (503, "120", 120), (429, "2", 2), (500, "45", 45)],
    ids=["429-30s", "503-120s", "429-just-over", "500-45s"],
)
def test_a_long_retry_after_becomes_busy_without_sleeping(
    sim: TogetherSimulator, sleeps: list[float], status: int, retry_after: str, expected: int
) -> None:
    sim.inject(Fault(status=status, headers={"Retry-After": retry_after}))

    with pytest.raises(errors.UpstreamBusyError) as caught:
        _client(sim.base_url, max_retry_after=1.0).get_endpoint(ENDPOINT_ID, KEY)

    assert caught.value.status == 503
    assert caught.value.retry_after == expected
    assert sleeps == []
    assert sim.call_count(ENDPOINT_ID) == 1


def test_a_retry_after_date_far_ahead_is_busy(sim: TogetherSimulator, sleeps: list[float]) -> None:
    sim.inject(Fault(status=503, headers={"Retry-After": formatdate(time.time() + 600, usegmt=True)}))
    with pytest.raises(errors.UpstreamBusyError) as caught:
        _client(sim.base_url).get_endpoint(ENDPOINT_ID, KEY)
    assert caught.value.retry_after is not None and caught.value.retry_after > 60
    assert sleeps == []


@pytest.mark.parametrize("garbled", ["soon", "1.5", "-3", "Tomorrow, 99 Foo", ""])
def test_a_garbled_retry_after_falls_back_to_backoff(sim: TogetherSimulator, sleeps: list[float], garbled: str) -> None:
    # Given two failures whose Retry-After cannot be read
    sim.inject(*[Fault(status=503, headers={"Retry-After": garbled})] * 2)
    # When the client retries with backoff 0.25 s (urllib3 skips the wait before the first retry)
    _, endpoint = _client(sim.base_url, backoff_factor=0.25).get_endpoint(ENDPOINT_ID, KEY)
    # Then it waited the exponential backoff, not a parsed header, and succeeded
    assert endpoint.id == ENDPOINT_ID
    assert sleeps == [0.5]
    assert sim.call_count(ENDPOINT_ID) == 3


def test_backoff_never_exceeds_the_retry_after_limit(sim: TogetherSimulator, sleeps: list[float]) -> None:
    sim.inject(*[Fault(status=500)] * 3)
    _client(sim.base_url, max_retries=3, backoff_factor=10.0, max_retry_after=0.75).get_endpoint(ENDPOINT_ID, KEY)
    assert sleeps == [0.75, 0.75]


# -- redirects -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_never_followed(
    sim: TogetherSimulator,
    local_server: Callable[[Callable[[BaseHTTPRequestHandler], None]], LocalServer],
    status: int,
) -> None:
    # Given upstream redirects to another host that would happily answer
    elsewhere = local_server(lambda handler: _send_json(handler, make_endpoint(ENDPOINT_ID)))
    sim.inject(Fault(status=status, headers={"Location": f"{elsewhere.url}/v1/endpoints/{ENDPOINT_ID}"}))
    # When an endpoint is requested
    with pytest.raises(errors.InvalidUpstreamResponseError, match="redirect"):
        _client(sim.base_url).get_endpoint(ENDPOINT_ID, KEY)
    # Then the other host received nothing: not the request, and not the key
    assert elsewhere.requests == []
    assert sim.call_count(ENDPOINT_ID) == 1


# -- size cap ------------------------------------------------------------------------------------------------------


def _body_of_size(size: int) -> bytes:
    """A valid DedicatedEndpoint for ENDPOINT_ID, padded to exactly ``size`` bytes."""
    document = make_endpoint(ENDPOINT_ID, display_name="")
    padding = size - len(json.dumps(document).encode())
    assert padding >= 0
    document["display_name"] = "x" * padding
    body = json.dumps(document).encode()
    assert len(body) == size
    return body


def test_a_body_exactly_at_the_cap_is_accepted(sim: TogetherSimulator) -> None:
    sim.inject(Fault(status=200, body=_body_of_size(2048)))
    body, _ = _client(sim.base_url, max_response_bytes=2048).get_endpoint(ENDPOINT_ID, KEY)
    assert len(body) == 2048


def test_a_declared_content_length_over_the_cap_is_refused(sim: TogetherSimulator) -> None:
    sim.inject(Fault(status=200, body=_body_of_size(2049)))
    with pytest.raises(errors.InvalidUpstreamResponseError, match="larger"):
        _client(sim.base_url, max_response_bytes=2048).get_endpoint(ENDPOINT_ID, KEY)
    assert sim.call_count(ENDPOINT_ID) == 1


def test_a_streamed_body_over_the_cap_is_refused(
    local_server: Callable[[Callable[[BaseHTTPRequestHandler], None]], LocalServer],
) -> None:
    # Given a server that streams a 1 MB answer in chunks, with no Content-Length to warn about it
    server = local_server(lambda handler: _send_chunked(handler, _body_of_size(1024 * 1024), chunk_size=16 * 1024))
    # When the client's cap is 64 KiB
    with pytest.raises(errors.InvalidUpstreamResponseError, match="larger"):
        _client(f"{server.url}/v1", max_response_bytes=64 * 1024).get_endpoint(ENDPOINT_ID, KEY)
    # Then it was refused, and not retried
    assert len(server.requests) == 1


def test_a_streamed_body_under_the_cap_is_read(
    local_server: Callable[[Callable[[BaseHTTPRequestHandler], None]], LocalServer],
) -> None:
    server = local_server(lambda handler: _send_chunked(handler, _body_of_size(3000), chunk_size=500))
    body, endpoint = _client(f"{server.url}/v1", max_response_bytes=4096).get_endpoint(ENDPOINT_ID, KEY)
    assert len(body) == 3000
    assert endpoint.id == ENDPOINT_ID


def test_a_refused_answer_does_not_spoil_the_pooled_connection(
    local_server: Callable[[Callable[[BaseHTTPRequestHandler], None]], LocalServer],
) -> None:
    # Given a server whose first answer is too big and whose body arrives a moment after its headers
    def respond(handler: BaseHTTPRequestHandler) -> None:
        if len(server.requests) > 1:
            _send_json(handler, make_endpoint(ENDPOINT_ID))
            return
        body = _body_of_size(8192)
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.flush()
        time.sleep(0.3)  # the client has refused and moved on before the body arrives
        handler.wfile.write(body)

    server = local_server(respond)
    client = _client(f"{server.url}/v1", max_response_bytes=4096, max_retries=0)
    with pytest.raises(errors.InvalidUpstreamResponseError):
        client.get_endpoint(ENDPOINT_ID, KEY)
    # When the next request is made at once, with no retries to hide a broken connection
    _, endpoint = client.get_endpoint(ENDPOINT_ID, KEY)
    # Then it got its own answer, on the first try, over a fresh connection
    assert endpoint.id == ENDPOINT_ID
    assert len(server.requests) == 2
    assert len(server.connections) == 2


def test_a_body_cut_short_is_unavailable(sim: TogetherSimulator) -> None:
    sim.inject(Fault(status=200, body=_body_of_size(1500), truncate=True))
    with pytest.raises(errors.UpstreamUnavailableError):
        _client(sim.base_url).get_endpoint(ENDPOINT_ID, KEY)


# -- timeouts and unreachable upstream -----------------------------------------------------------------------------


def test_no_answer_within_the_read_timeout_is_a_timeout(sim: TogetherSimulator) -> None:
    sim.inject(*[Fault(status=200, delay=1.5)] * 2)
    observations = Observations()
    with pytest.raises(errors.UpstreamTimeoutError):
        _client(sim.base_url, observations, max_retries=1).get_endpoint(ENDPOINT_ID, KEY)
    assert sim.call_count(ENDPOINT_ID) == 2  # a read timeout is retried like any transient failure
    assert observations.kinds == ["timeout"]


def test_a_body_that_stalls_is_a_timeout(
    local_server: Callable[[Callable[[BaseHTTPRequestHandler], None]], LocalServer],
) -> None:
    def respond(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", "5000")
        handler.end_headers()
        handler.wfile.write(b'{"id": ')
        handler.wfile.flush()
        time.sleep(1.5)

    server = local_server(respond)
    with pytest.raises(errors.UpstreamTimeoutError):
        _client(f"{server.url}/v1").get_endpoint(ENDPOINT_ID, KEY)


def test_a_body_dripped_slower_than_the_read_timeout_is_a_timeout(
    local_server: Callable[[Callable[[BaseHTTPRequestHandler], None]], LocalServer],
) -> None:
    # Given a server that sends each byte well inside the per-read timeout, but the body as a whole
    # would take far longer than it (a slow-loris upstream)
    body = json.dumps(make_endpoint(ENDPOINT_ID)).encode()

    def respond(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        for start in range(0, 40, 4):  # bounded: at most ten drips, then hang up
            handler.wfile.write(body[start : start + 4])
            handler.wfile.flush()
            time.sleep(0.15)

    server = local_server(respond)
    # Then the relay gives up on the body instead of waiting out the drip
    with pytest.raises(errors.UpstreamTimeoutError):
        _client(f"{server.url}/v1", read_timeout=0.5, max_retries=0).get_endpoint(ENDPOINT_ID, KEY)


def test_a_refused_connection_is_unavailable() -> None:
    observations = Observations()
    with pytest.raises(errors.UpstreamUnavailableError):
        _client(f"http://127.0.0.1:{_closed_port()}/v1", observations).get_endpoint(ENDPOINT_ID, KEY)
    assert observations.kinds == ["unavailable"]


# -- answers that are not an endpoint ------------------------------------------------------------------------------


def test_a_wrong_key_is_an_auth_error_and_not_retried(sim: TogetherSimulator) -> None:
    with pytest.raises(errors.UpstreamAuthError) as caught:
        _client(sim.base_url).get_endpoint(ENDPOINT_ID, "tgp-not-the-key")
    assert sim.auth_failures == 1
    assert "tgp-not-the-key" not in caught.value.body()


@pytest.mark.parametrize("status", [401, 403])
def test_401_and_403_are_auth_errors(sim: TogetherSimulator, status: int) -> None:
    sim.inject(Fault(status=status))
    with pytest.raises(errors.UpstreamAuthError):
        _client(sim.base_url).get_endpoint(ENDPOINT_ID, KEY)
    assert sim.call_count(ENDPOINT_ID) == 1


def test_404_is_endpoint_not_found(sim: TogetherSimulator) -> None:
    observations = Observations()
    with pytest.raises(errors.EndpointNotFoundError):
        _client(sim.base_url, observations).get_endpoint(OTHER_ID, KEY)
    assert sim.call_count(OTHER_ID) == 1
    assert observations.kinds == [None]  # a 404 is an answer, not an upstream failure


def test_an_answer_for_another_endpoint_is_invalid(sim: TogetherSimulator) -> None:
    sim.inject(Fault(status=200, body=json.dumps(make_endpoint(OTHER_ID)).encode()))
    with pytest.raises(errors.InvalidUpstreamResponseError, match="different endpoint"):
        _client(sim.base_url).get_endpoint(ENDPOINT_ID, KEY)


@pytest.mark.parametrize(
    "body",
    [b"<html>maintenance</html>", b"[]", b'{"id": "endpoint-5b', b"\xff\xfe", b"[" * 50_000, b"{}", b""],
    ids=["html", "list", "truncated-json", "not-utf8", "deeply-nested", "empty-object", "empty"],
)
def test_a_body_that_is_not_an_endpoint_is_invalid(sim: TogetherSimulator, body: bytes) -> None:
    sim.inject(Fault(status=200, body=body))
    with pytest.raises(errors.InvalidUpstreamResponseError):
        _client(sim.base_url, max_response_bytes=64 * 1024).get_endpoint(ENDPOINT_ID, KEY)


# -- the observer --------------------------------------------------------------------------------------------------


def test_the_observer_sees_every_request_with_its_latency_and_error_kind(sim: TogetherSimulator) -> None:
    observations = Observations()
    client = _client(sim.base_url, observations, max_retries=0)

    client.get_endpoint(ENDPOINT_ID, KEY)
    sim.inject(Fault(status=500))
    with pytest.raises(errors.UpstreamUnavailableError):
        client.get_endpoint(ENDPOINT_ID, KEY)
    sim.inject(Fault(status=429, headers={"Retry-After": "60"}))
    with pytest.raises(errors.UpstreamBusyError):
        _client(sim.base_url, observations, max_retries=1).get_endpoint(ENDPOINT_ID, KEY)
    sim.inject(Fault(status=200, body=b"nope"))
    with pytest.raises(errors.InvalidUpstreamResponseError):
        client.get_endpoint(ENDPOINT_ID, KEY)
    sim.inject(Fault(status=403))
    with pytest.raises(errors.UpstreamAuthError):
        client.get_endpoint(ENDPOINT_ID, KEY)
    client.list_endpoint_ids(KEY)

    assert observations.kinds == [None, "unavailable", "busy", "invalid_response", "auth", None]
    assert all(isinstance(latency, float) and latency >= 0 for latency, _ in observations.calls)


def test_the_observer_records_the_whole_request_once_including_retries(sim: TogetherSimulator) -> None:
    observations = Observations()
    sim.inject(Fault(status=502), Fault(status=502))
    _client(sim.base_url, observations).get_endpoint(ENDPOINT_ID, KEY)
    assert observations.kinds == [None]


# -- the URL -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint_id", "as_sent"),
    [
        ("endpoint-a/../../v1/keys", "endpoint-a%2F..%2F..%2Fv1%2Fkeys"),
        ("endpoint-a?type=all", "endpoint-a%3Ftype%3Dall"),
        ("endpoint-a#frag", "endpoint-a%23frag"),
        ("endpoint-a b", "endpoint-a%20b"),
        ("endpoint-a%2Fb", "endpoint-a%252Fb"),
        ("endpoint-a\r\nX-Injected: 1", "endpoint-a%0D%0AX-Injected%3A%201"),
        ("endpoint-\u0430", "endpoint-%D0%B0"),
        ("endpoint-a\\b", "endpoint-a%5Cb"),
    ],
    ids=["slashes", "query", "fragment", "space", "percent", "crlf", "cyrillic", "backslash"],
)
def test_the_endpoint_id_is_one_percent_encoded_path_segment(
    sim: TogetherSimulator, endpoint_id: str, as_sent: str
) -> None:
    # Given an id the HTTP layer would have refused (the client must still be safe on its own)
    # When it is requested
    with pytest.raises(errors.EndpointNotFoundError):
        _client(sim.base_url).get_endpoint(endpoint_id, KEY)
    # Then it reached Together as a single, percent-encoded segment under /v1/endpoints/
    assert sim.calls == {as_sent: 1}


@pytest.mark.parametrize("endpoint_id", ["", ".", ".."])
def test_ids_that_would_address_another_path_are_never_sent(
    local_server: Callable[[Callable[[BaseHTTPRequestHandler], None]], LocalServer], endpoint_id: str
) -> None:
    # "." and ".." survive percent-encoding and urllib3 resolves them: /v1/endpoints/.. would be /v1/.
    server = local_server(lambda handler: _send_json(handler, make_endpoint(ENDPOINT_ID)))
    with pytest.raises(errors.InvalidEndpointIdError):
        _client(f"{server.url}/v1").get_endpoint(endpoint_id, KEY)
    assert server.requests == []


def test_the_base_url_path_is_kept_and_a_trailing_slash_ignored(
    local_server: Callable[[Callable[[BaseHTTPRequestHandler], None]], LocalServer],
) -> None:
    server = local_server(lambda handler: _send_json(handler, make_endpoint(ENDPOINT_ID)))
    _client(f"{server.url}/proxy/together/v1/").get_endpoint(ENDPOINT_ID, KEY)
    assert server.requests == [f"/proxy/together/v1/endpoints/{ENDPOINT_ID}"]


# -- list_endpoint_ids ---------------------------------------------------------------------------------------------


def test_list_endpoint_ids_returns_every_dedicated_endpoint(sim: TogetherSimulator) -> None:
    sim.put(make_endpoint(OTHER_ID, state="STOPPED"))
    assert sorted(_client(sim.base_url).list_endpoint_ids(KEY)) == sorted([ENDPOINT_ID, OTHER_ID])
    assert sim.calls["<list>"] == 1


def test_list_endpoint_ids_of_an_empty_organisation_is_empty(together: TogetherSimulator) -> None:
    assert _client(together.base_url).list_endpoint_ids(KEY) == []


def test_list_endpoint_ids_skips_items_without_a_string_id(sim: TogetherSimulator) -> None:
    body = {"object": "list", "data": [{"id": ENDPOINT_ID}, 5, {"id": 7}, {"name": "x"}, None]}
    sim.inject(Fault(status=200, body=json.dumps(body).encode()))
    assert _client(sim.base_url).list_endpoint_ids(KEY) == [ENDPOINT_ID]


@pytest.mark.parametrize(
    "body",
    [
        b"{}",
        b'{"data": "endpoint-a"}',
        b'{"data": {"id": "endpoint-a"}}',
        b'{"data": 5}',
        b"[]",
        b"nope",
        b"[" * 50_000,
    ],
    ids=["no-data", "data-string", "data-object", "data-number", "list", "not-json", "deeply-nested"],
)
def test_list_endpoint_ids_refuses_an_unreadable_list(sim: TogetherSimulator, body: bytes) -> None:
    sim.inject(Fault(status=200, body=body))
    with pytest.raises(errors.InvalidUpstreamResponseError):
        _client(sim.base_url, max_response_bytes=64 * 1024).list_endpoint_ids(KEY)


def test_list_endpoint_ids_is_retried_like_a_lookup(sim: TogetherSimulator) -> None:
    sim.inject(Fault(status=503), Fault(reset_connection=True))
    assert _client(sim.base_url).list_endpoint_ids(KEY) == [ENDPOINT_ID]
    assert sim.calls["<list>"] == 3


def test_list_endpoint_ids_with_a_wrong_key_is_an_auth_error(sim: TogetherSimulator) -> None:
    with pytest.raises(errors.UpstreamAuthError):
        _client(sim.base_url).list_endpoint_ids("tgp-not-the-key")
