"""Load: `make serve`'s HTTP front on loopback, driven by bounded concurrent clients.

The local stack (moto server, the Together simulator, the Slack receiver) and the
relay's HTTP front (``devstack.serve.RelayHttpServer``, the class `make serve`
runs) start in this process. Clients send a fixed mix of lookups, health checks,
refused requests and signed slash commands for a bounded time and count. The run
reports requests served, errors (which must be 0), p50 and p99 latency, and the
upstream calls, which must stay within the cache's promise: about one per endpoint
per TTL. Latency is reported, never asserted. Everything stays on 127.0.0.1.
"""

from __future__ import annotations

import http.client
import json
import math
import os
import secrets
import signal
import statistics
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

import pytest

from devstack.aws import aws_client
from devstack.local_lambda import reset_entrypoints
from devstack.serve import RelayHttpServer, template_routes
from devstack.stack import SEEDED_IDS, DevStack, StackOptions, slack_signature_headers
from endpoint_relay.adapters import aws_clients
from tests.leakcheck import COLLECTOR
from tests.reliability import figures

pytestmark = pytest.mark.integration

CLIENTS = 16 if figures.SOAK else 8
DURATION_SECONDS = 60.0 if figures.SOAK else 5.0
MAX_REQUESTS_PER_CLIENT = 50_000 if figures.SOAK else 2_500
REQUEST_TIMEOUT_SECONDS = 10.0
UNKNOWN_ID = "endpoint-not-there-0001"
LOCAL_SECRET_NAME = "endpoint-relay/local"  # what devstack.stack names the local stack's secret


def _slash_body() -> bytes:
    # A fresh trigger_id per request, as Slack sends: the relay refuses a signed request it has already seen.
    return urlencode(
        {
            "team_id": "T0LOAD001",
            "user_id": "U0LOAD001",
            "command": "/together",
            "text": "help",
            "response_url": "https://hooks.slack.com/commands/T0LOAD001/1/load",
            "trigger_id": f"1.1.{secrets.token_hex(16)}",
        }
    ).encode()


@dataclass(frozen=True)
class Kind:
    """One kind of request in the mix, and the status a correct relay gives it."""

    name: str
    method: str
    path: str
    expected: int
    token: str | None = None
    slack: bool = False


@dataclass
class Tally:
    latencies_ms: list[float] = field(default_factory=list)
    served: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)


@pytest.fixture(scope="module")
def stack() -> Iterator[DevStack]:
    """The local stack, with this process set up as the relay's Lambda container; undone afterwards."""
    saved = dict(os.environ)
    try:
        with DevStack(StackOptions(log_level="INFO")) as started:
            started.apply_env()
            reset_entrypoints()
            aws_clients.reset()
            yield started
    finally:
        os.environ.clear()
        os.environ.update(saved)
        reset_entrypoints()
        aws_clients.reset()


def _mix(token: str) -> list[Kind]:
    return [
        *(
            Kind(f"lookup {endpoint_id}", "GET", f"/v1/endpoints/{endpoint_id}", 200, token)
            for endpoint_id in SEEDED_IDS
        ),
        Kind("lookup of an unknown id", "GET", f"/v1/endpoints/{UNKNOWN_ID}", 404, token),
        Kind("health", "GET", "/healthz", 200),
        Kind("wrong token", "GET", f"/v1/endpoints/{SEEDED_IDS[0]}", 401, "relay-not-a-token"),
        Kind("invalid id", "GET", "/v1/endpoints/endpoint-x%2F..%2Fadmin", 400, token),
        Kind("signed slash command", "POST", "/slack/commands", 200, slack=True),
    ]


def _client(url: str, mix: list[Kind], signing_secret: str, offset: int, deadline: float, tally: Tally) -> None:
    """One client on one keep-alive connection, bounded by ``deadline`` and MAX_REQUESTS_PER_CLIENT."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=REQUEST_TIMEOUT_SECONDS)
    try:
        for index in range(MAX_REQUESTS_PER_CLIENT):
            if time.monotonic() >= deadline:
                break
            kind = mix[(offset + index) % len(mix)]
            headers = {"Authorization": f"Bearer {kind.token}"} if kind.token else {}
            body = None
            if kind.slack:
                body = _slash_body()
                headers.update(slack_signature_headers(signing_secret, body))
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            started = time.perf_counter()
            try:
                connection.request(kind.method, kind.path, body=body, headers=headers)
                response = connection.getresponse()
                answer = response.read()
            except (OSError, http.client.HTTPException) as exc:
                tally.errors[f"{kind.name}: {type(exc).__name__}"] += 1
                connection.close()  # reconnects on the next request
                continue
            tally.latencies_ms.append((time.perf_counter() - started) * 1000.0)
            COLLECTOR.add_text(answer.decode("utf-8", "replace"))
            if response.status == kind.expected:
                tally.served[kind.name] += 1
            else:
                tally.errors[f"{kind.name}: HTTP {response.status}"] += 1
    finally:
        connection.close()


def _drive(url: str, mix: list[Kind], signing_secret: str, *, clients: int, seconds: float) -> tuple[Tally, float]:
    """``clients`` concurrent clients for at most ``seconds``; returns what they saw, merged, and the time taken."""
    tallies = [Tally() for _ in range(clients)]
    started = time.monotonic()
    deadline = started + seconds
    threads = [
        threading.Thread(target=_client, args=(url, mix, signing_secret, offset, deadline, tally), daemon=True)
        for offset, tally in enumerate(tallies)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 4 * REQUEST_TIMEOUT_SECONDS)
    assert not any(thread.is_alive() for thread in threads), "a client did not stop"
    merged = Tally()
    for tally in tallies:
        merged.latencies_ms.extend(tally.latencies_ms)
        merged.served.update(tally.served)
        merged.errors.update(tally.errors)
    return merged, time.monotonic() - started


def _percentile(values: list[float], percent: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1] if len(values) > 1 else values[0]


def test_bounded_concurrent_load_is_served_without_errors_and_within_the_cache_promise(
    stack: DevStack, capsys: pytest.CaptureFixture[str]
) -> None:
    assert stack.together is not None
    options = stack.options
    COLLECTOR.register_secret(options.relay_token, options.slack_signing_secret, stack.slack_webhook_url)
    COLLECTOR.register_secret(*stack.together.api_keys)
    # Given `make serve`'s HTTP front on loopback, in front of the local stack
    server = RelayHttpServer(stack, 0, template_routes()).start()
    mix = _mix(options.relay_token)
    try:
        # When CLIENTS clients send the mix for at most DURATION_SECONDS (and a bounded count each)
        tally, elapsed = _drive(
            server.url, mix, options.slack_signing_secret, clients=CLIENTS, seconds=DURATION_SECONDS
        )
    finally:
        server.stop()

    latencies, served, errors = tally.latencies_ms, tally.served, tally.errors
    upstream = {endpoint_id: stack.together.call_count(endpoint_id) for endpoint_id in (*SEEDED_IDS, UNKNOWN_ID)}
    # The cache's promise: one upstream call per endpoint per TTL (a remembered 404 per negative TTL).
    ttl, negative_ttl = int(stack.env["CACHE_TTL_SECONDS"]), int(stack.env["CACHE_NEGATIVE_TTL_SECONDS"])
    allowed = {endpoint_id: math.ceil(elapsed / ttl) + 1 for endpoint_id in SEEDED_IDS}
    allowed[UNKNOWN_ID] = math.ceil(elapsed / negative_ttl) + 1

    # Alerts the lookups raised, and what the front wrote, are part of the leak sweep
    for envelope in stack.sns_messages(max_messages=20, wait_seconds=0):
        COLLECTOR.add_text(str(envelope), source="sns")
    output = capsys.readouterr()  # scanned by the leak check as stdout and stderr

    requests = sum(served.values()) + sum(errors.values())
    figures.write(
        "load",
        {
            "clients": CLIENTS,
            "duration_seconds": round(elapsed, 2),
            "requests": requests,
            "served_by_kind": dict(sorted(served.items())),
            "errors": sum(errors.values()),
            "errors_by_kind": dict(sorted(errors.items())),
            "requests_per_second": round(requests / elapsed, 1),
            "p50_ms": round(_percentile(latencies, 50), 2),
            "p99_ms": round(_percentile(latencies, 99), 2),
            "max_ms": round(max(latencies), 2),
            "upstream_calls": upstream,
            "upstream_calls_allowed": allowed,
            "upstream_calls_max_per_endpoint": max(upstream[endpoint_id] for endpoint_id in SEEDED_IDS),
            "upstream_calls_allowed_per_endpoint": allowed[SEEDED_IDS[0]],
            "upstream_calls_unknown_id": upstream[UNKNOWN_ID],
            "upstream_calls_allowed_unknown_id": allowed[UNKNOWN_ID],
            "negative_ttl_seconds": negative_ttl,
            "cache_ttl_seconds": ttl,
            "serve_output_lines_scanned": len(output.out.splitlines()) + len(output.err.splitlines()),
            "front": "devstack.serve.RelayHttpServer on 127.0.0.1, one warm LocalLambda container",
        },
    )
    print(f"load: {requests} requests, {sum(errors.values())} errors, p50 {_percentile(latencies, 50):.1f} ms")

    # Then every request got its expected status, and Together saw no more than the cache promises
    assert requests > 0 and not errors, dict(errors)
    assert set(served) == {kind.name for kind in mix}
    assert all(upstream[endpoint_id] <= allowed[endpoint_id] for endpoint_id in upstream), (upstream, allowed)


# What `make serve` prints on purpose at start: the developer's own local credentials, so they can call it.
BANNER_CREDENTIAL_LINES = ("[serve] RELAY_LOCAL_TOKEN=", "[serve] SLACK_SIGNING_SECRET=", "[serve] try: curl ")
SERVE_CLIENTS = 4
SERVE_SECONDS = 10.0 if figures.SOAK else 2.0


def test_make_serve_under_load_prints_no_secret() -> None:
    from tests.integration.serve_support import start_serve  # the very `make serve` process test_serve.py drives

    # Given `make serve` as a real process, and every secret its stack holds
    served = start_serve()
    try:
        moto_url = next(line for line in served.output if "aws (moto server): " in line).split(": ", 1)[1].strip()
        secretsmanager = aws_client("secretsmanager", moto_url)
        document = json.loads(secretsmanager.get_secret_value(SecretId=LOCAL_SECRET_NAME)["SecretString"])
        COLLECTOR.register_secret(served.token, served.signing_secret)
        COLLECTOR.register_secret(document["together_api_key"], document.get("slack_webhook_url"))
        # When clients drive it over loopback for a bounded time
        mix = _mix(served.token)
        tally, _ = _drive(served.url, mix, served.signing_secret, clients=SERVE_CLIENTS, seconds=SERVE_SECONDS)
    finally:
        served.process.send_signal(signal.SIGTERM)
        try:
            served.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(served.process.pid, signal.SIGKILL)
            served.process.wait(timeout=30)
    # Then it served them all, and nothing it wrote (but the banner's credential lines) holds a secret
    assert tally.served and not tally.errors, dict(tally.errors)
    deadline = time.monotonic() + 10  # the reader thread drains the pipe after the exit
    while not any("[serve] stopped" in line for line in served.output) and time.monotonic() < deadline:
        time.sleep(0.05)
    scanned = [line for line in served.output if not line.startswith(BANNER_CREDENTIAL_LINES)]
    for line in scanned:
        COLLECTOR.add_text(line, source="make serve output")
    assert sum(tally.served.values()) <= len(scanned)  # one access line per request, at least
    figures.write(
        "serve_output",
        {"requests": sum(tally.served.values()), "lines_scanned": len(scanned), "banner_lines_skipped": 3},
    )
