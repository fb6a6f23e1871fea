"""Logs and metrics as CloudWatch would receive them, through the real lambda_handler; and the leak checker itself."""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from devstack.events import http_event
from devstack.together_sim import Fault, TogetherSimulator, make_endpoint
from tests.integration.conftest import Relay
from tests.leakcheck import COLLECTOR, LeakCollector

pytestmark = pytest.mark.integration

ENDPOINT_ID = "endpoint-d23901de-ef8f-44bf-b3e7-de9c1ca8f2d7"
PATH = f"/v1/endpoints/{ENDPOINT_ID}"


class JsonLines(logging.Handler):
    """Formats records exactly as the relay's Powertools handler does, and keeps the lines."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def documents(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines]


def _relay_loggers() -> list[logging.Logger]:
    from endpoint_relay.observability import logger

    # The Powertools logger, and the stdlib tree the core and adapters log through.
    return [logging.getLogger(logger.name), logging.getLogger("endpoint_relay")]


@pytest.fixture
def log_lines() -> Iterator[JsonLines]:
    from endpoint_relay.observability import logger

    handler = JsonLines()
    handler.setFormatter(logger.registered_formatter)
    for log in _relay_loggers():
        log.addHandler(handler)
    yield handler
    for log in _relay_loggers():
        log.removeHandler(handler)


def _invoke(relay: Relay, path: str = PATH, request_id: str | None = None) -> tuple[dict[str, Any], str]:
    event = http_event("GET", path, headers={"Authorization": f"Bearer {relay.token}"})
    if request_id is not None:
        event["requestContext"]["requestId"] = request_id
    return relay.invoke(event), event["requestContext"]["requestId"]


def _emf_documents(stdout: str) -> list[dict[str, Any]]:
    """The EMF blobs Powertools printed: one JSON object per line, with an ``_aws`` key."""
    COLLECTOR.add_text(stdout)  # metrics are output too: scan them for secrets like logs and responses
    documents = []
    for line in stdout.splitlines():
        line = line.strip()
        if line.startswith("{") and '"_aws"' in line:
            documents.append(json.loads(line))
    return documents


def _metric_values(documents: list[dict[str, Any]]) -> dict[str, list[float]]:
    values: dict[str, list[float]] = {}
    for document in documents:
        for directive in document["_aws"]["CloudWatchMetrics"]:
            assert directive["Namespace"] == "EndpointRelay"
            for metric in directive["Metrics"]:
                raw = document[metric["Name"]]
                values.setdefault(metric["Name"], []).extend(raw if isinstance(raw, list) else [raw])
    return values


def _metric_units(documents: list[dict[str, Any]]) -> dict[str, str]:
    return {
        metric["Name"]: metric["Unit"]
        for document in documents
        for directive in document["_aws"]["CloudWatchMetrics"]
        for metric in directive["Metrics"]
    }


# -- logs ----------------------------------------------------------------------------------------------------------


@pytest.fixture
def relay_without_shared_tier(relay_env: dict[str, str], request: pytest.FixtureRequest) -> Relay:
    # A table that does not exist makes the relay log its degradation warnings on every lookup.
    relay_env["CACHE_TABLE_NAME"] = "table-that-does-not-exist"
    relay: Relay = request.getfixturevalue("relay")
    return relay


def test_log_lines_are_json_with_the_api_request_id_as_correlation_id(
    relay_without_shared_tier: Relay, together: TogetherSimulator, log_lines: JsonLines
) -> None:
    # Given a request that makes both the Powertools logger and the stdlib core loggers write
    request_id = "req-" + secrets.token_hex(8)
    # When it is handled (an unknown endpoint: shared tier warnings, then a logged 404)
    response, _ = _invoke(relay_without_shared_tier, request_id=request_id)
    # Then every line is a JSON object carrying that request id as the correlation id
    assert response["statusCode"] == 404
    documents = log_lines.documents()
    messages = {document["message"] for document in documents}
    assert {"shared cache read failed; continuing with the local tier", "request failed"} <= messages
    for document in documents:
        assert document["correlation_id"] == request_id
        assert document["service"] == "endpoint-relay"
        assert {"level", "location", "timestamp", "function_request_id", "cold_start"} <= set(document)


def test_each_invocation_carries_its_own_correlation_id(
    relay_without_shared_tier: Relay, together: TogetherSimulator, log_lines: JsonLines
) -> None:
    first, second = "req-first-" + secrets.token_hex(4), "req-second-" + secrets.token_hex(4)
    _invoke(relay_without_shared_tier, request_id=first)
    split = len(log_lines.lines)
    _invoke(relay_without_shared_tier, "/v1/endpoints/endpoint-other", request_id=second)

    documents = log_lines.documents()
    assert split > 0 and len(documents) > split
    assert {document["correlation_id"] for document in documents[:split]} == {first}
    assert {document["correlation_id"] for document in documents[split:]} == {second}


def test_the_key_rotation_warning_is_a_json_line_without_the_key(
    relay: Relay, together: TogetherSimulator, log_lines: JsonLines
) -> None:
    together.put(make_endpoint(ENDPOINT_ID))
    together.api_keys = {"some-other-key"}
    response, request_id = _invoke(relay)

    assert response["statusCode"] == 502
    warnings = [document for document in log_lines.documents() if document["level"] == "WARNING"]
    assert any("refreshing the secret" in document["message"] for document in warnings)
    assert all(document["correlation_id"] == request_id for document in warnings)
    assert all(relay.together_api_key not in line for line in log_lines.lines)


# -- metrics -------------------------------------------------------------------------------------------------------


def test_a_miss_then_a_hit_emit_cache_metrics_and_upstream_latency(
    relay: Relay, together: TogetherSimulator, capsys: pytest.CaptureFixture[str]
) -> None:
    together.put(make_endpoint(ENDPOINT_ID))
    capsys.readouterr()

    # When the endpoint is looked up for the first time
    assert relay.get(PATH)["headers"]["X-Cache"] == "MISS"
    miss = _emf_documents(capsys.readouterr().out)
    # Then a miss, a lookup and one upstream latency sample were recorded
    miss_values = _metric_values(miss)
    assert miss_values["CacheMiss"] == [1]
    assert miss_values["Lookups"] == [1]
    assert len(miss_values["UpstreamLatency"]) == 1 and miss_values["UpstreamLatency"][0] >= 0
    assert "CacheHit" not in miss_values and "UpstreamErrors" not in miss_values
    assert _metric_units(miss)["UpstreamLatency"] == "Milliseconds"
    assert _metric_units(miss)["CacheMiss"] == "Count"

    # When it is looked up again within the TTL
    assert relay.get(PATH)["headers"]["X-Cache"] == "HIT"
    hit_values = _metric_values(_emf_documents(capsys.readouterr().out))
    # Then a hit was recorded, and no upstream call
    assert hit_values["CacheHit"] == [1]
    assert "CacheMiss" not in hit_values and "UpstreamLatency" not in hit_values


def test_a_refresh_and_a_stale_answer_have_their_own_metrics(
    relay_env: dict[str, str],
    together: TogetherSimulator,
    request: pytest.FixtureRequest,
    capsys: pytest.CaptureFixture[str],
) -> None:
    relay_env["CACHE_TTL_SECONDS"] = "0"
    relay: Relay = request.getfixturevalue("relay")
    together.put(make_endpoint(ENDPOINT_ID))
    relay.get(PATH)
    capsys.readouterr()

    assert relay.get(PATH, headers={"Cache-Control": "no-cache"})["headers"]["X-Cache"] == "REFRESH"
    assert _metric_values(_emf_documents(capsys.readouterr().out))["CacheRefresh"] == [1]

    together.inject(*[Fault(status=500)] * 3)
    assert relay.get(PATH)["headers"]["X-Cache"] == "STALE"
    stale = _metric_values(_emf_documents(capsys.readouterr().out))
    assert stale["CacheStale"] == [1]
    assert stale["UpstreamErrors"] == [1, 1]  # the total, and the one by kind


@pytest.mark.parametrize(
    ("faults", "kind"),
    [
        ([Fault(status=500)] * 3, "unavailable"),
        ([Fault(status=200, body=b"<html>")], "invalid_response"),
        ([Fault(status=429, headers={"Retry-After": "60"})], "busy"),
    ],
    ids=["unavailable", "invalid-response", "busy"],
)
def test_upstream_errors_are_counted_by_kind(
    relay: Relay, together: TogetherSimulator, capsys: pytest.CaptureFixture[str], faults: list[Fault], kind: str
) -> None:
    together.put(make_endpoint(ENDPOINT_ID))
    together.inject(*faults)
    capsys.readouterr()

    response = relay.get(PATH)

    assert response["statusCode"] >= 500
    documents = _emf_documents(capsys.readouterr().out)
    by_kind = [document for document in documents if document.get("kind") is not None]
    assert [(document["kind"], document["UpstreamErrors"]) for document in by_kind] == [(kind, [1])]
    assert ["kind", "service"] in [
        sorted(dimensions)
        for directive in by_kind[0]["_aws"]["CloudWatchMetrics"]
        for dimensions in directive["Dimensions"]
    ]
    assert _metric_values(documents)["UpstreamErrors"] == [1, 1]  # the total, and the one by kind


def test_healthz_emits_no_cache_metrics(relay: Relay, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert relay.invoke(http_event("GET", "/healthz"))["statusCode"] == 200
    values = _metric_values(_emf_documents(capsys.readouterr().out))
    assert not {"CacheHit", "CacheMiss", "UpstreamLatency"} & set(values)


# -- the leak checker, proven to catch a leak ----------------------------------------------------------------------


@pytest.fixture
def private_collector() -> Iterator[LeakCollector]:
    """A second collector, attached the way tests/conftest.py attaches the suite's one."""
    from endpoint_relay.observability import logger

    collector = LeakCollector()
    collector.setFormatter(logger.registered_formatter)
    watched = [*_relay_loggers(), logging.getLogger("urllib3")]
    for log in watched:
        log.addHandler(collector)
    yield collector
    for log in watched:
        log.removeHandler(collector)


def test_the_suite_collector_is_attached_to_the_relay_loggers() -> None:
    for log in _relay_loggers():
        assert COLLECTOR in log.handlers


def test_a_deliberate_leak_in_a_log_line_is_detected(private_collector: LeakCollector) -> None:
    from endpoint_relay.observability import logger

    # Given a canary secret known only to the private collector
    canary = "canary-" + secrets.token_hex(12)
    private_collector.register_secret(canary)
    # When code logs it, as a message argument, as an extra field, and from a core module
    logging.getLogger("endpoint_relay.core.lookup").warning("oops: %s", canary)
    logger.info("also oops", extra={"detail": {"nested": canary}})
    # Then every occurrence is reported
    leaks = private_collector.leaks()
    assert len(leaks) == 2
    assert all(secret == canary for secret, _ in leaks)


def test_a_deliberate_leak_in_a_response_is_detected(
    relay: Relay, together: TogetherSimulator, private_collector: LeakCollector
) -> None:
    # Given an upstream endpoint whose display name happens to be a canary value
    canary = "canary-" + secrets.token_hex(12)
    private_collector.register_secret(canary)
    together.put(make_endpoint(ENDPOINT_ID, display_name=canary))
    # When it passes through the relay and the body is scanned as the harness does
    response = relay.get(PATH)
    private_collector.add_text(response["body"])
    # Then the collector finds it
    assert [secret for secret, _ in private_collector.leaks()] == [canary]


def test_a_clean_run_reports_no_leaks(
    relay: Relay, together: TogetherSimulator, private_collector: LeakCollector
) -> None:
    private_collector.register_secret(relay.together_api_key, relay.token)
    together.put(make_endpoint(ENDPOINT_ID))
    together.api_keys = {"some-other-key"}  # exercises the retry-and-refresh path, which logs
    relay.get(PATH)
    assert private_collector.texts  # it saw log lines...
    assert private_collector.leaks() == []  # ...and none held a secret


def test_asking_for_the_xray_sdk_without_installing_it_fails_the_cold_start_clearly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import importlib.util

    from endpoint_relay.observability import traced
    from endpoint_relay.settings import SettingsError

    # Given a package without aws-xray-sdk (it is not a runtime dependency; moto happens to bring it here)
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "aws_xray_sdk" else real_find_spec(name, *a)
    )
    with pytest.raises(SettingsError, match="aws-xray-sdk"):
        traced(lambda event, context: {}, enabled=True)


def test_tracing_off_leaves_the_handler_untouched() -> None:
    from endpoint_relay.observability import traced

    def handler(event: dict[str, object], context: object) -> dict[str, object]:
        return {}

    assert traced(handler, enabled=False) is handler
