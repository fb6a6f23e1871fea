"""GET /v1/endpoints/{endpointId} through the real lambda_handler, moto server and the Together simulator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from devstack.together_sim import ALL_STATES, Fault, TogetherSimulator, make_endpoint
from tests.integration.conftest import Relay

SPEC = Path(__file__).resolve().parents[2] / "spec" / "together-get-endpoint.openapi.yaml"
ENDPOINT_ID = "endpoint-d23901de-ef8f-44bf-b3e7-de9c1ca8f2d7"
PATH = f"/v1/endpoints/{ENDPOINT_ID}"


def _schema(name: str) -> dict[str, Any]:
    spec = _with_nullable_as_null_type(yaml.safe_load(SPEC.read_text(encoding="utf-8")))
    schema = dict(spec["components"]["schemas"][name])
    schema["components"] = spec["components"]  # resolve '#/components/...' refs in place
    return schema


def _with_nullable_as_null_type(node: Any) -> Any:
    """The spec says 3.1 but uses 3.0's ``nullable``; spell it the JSON Schema way so jsonschema honours it."""
    if isinstance(node, list):
        return [_with_nullable_as_null_type(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _with_nullable_as_null_type(value) for key, value in node.items()}
    if converted.pop("nullable", False) is True and isinstance(converted.get("type"), str):
        converted["type"] = [converted["type"], "null"]
    return converted


def _error(response: dict[str, Any]) -> dict[str, Any]:
    body = json.loads(response["body"])
    jsonschema.validate(body, _schema("ErrorData"))
    return dict(body["error"])


@pytest.mark.parametrize("state", ALL_STATES)
def test_lookup_passes_upstream_json_through_unchanged(relay: Relay, together: TogetherSimulator, state: str) -> None:
    # Given an endpoint in any state, including ones the spec does not list yet
    together.put(make_endpoint(ENDPOINT_ID, state=state))
    # When a caller looks it up
    response = relay.get(PATH)
    # Then the body is byte-for-byte what Together sent, and valid against the spec
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"] == "application/json"
    upstream = json.dumps(make_endpoint(ENDPOINT_ID, state=state))
    assert response["body"] == upstream
    if state != "FAILED":  # FAILED is newer than the spec's enum: it must pass, not validate
        jsonschema.validate(json.loads(response["body"]), _schema("DedicatedEndpoint"))


def test_second_lookup_within_ttl_is_served_from_cache(relay: Relay, together: TogetherSimulator) -> None:
    together.put(make_endpoint(ENDPOINT_ID))
    first = relay.get(PATH)
    calls_after_first = (together.call_count(), relay.secret_fetches)

    second = relay.get(PATH)

    assert first["headers"]["X-Cache"] == "MISS"
    assert second["headers"]["X-Cache"] == "HIT"
    assert second["body"] == first["body"]
    assert (together.call_count(), relay.secret_fetches) == calls_after_first
    assert calls_after_first == (1, 1)
    assert second["headers"]["Cache-Control"].startswith("max-age=")
    assert int(second["headers"]["Age"]) >= 0


def test_no_cache_request_header_forces_a_refresh(relay: Relay, together: TogetherSimulator) -> None:
    together.put(make_endpoint(ENDPOINT_ID))
    relay.get(PATH)
    refreshed = relay.get(PATH, headers={"Cache-Control": "no-cache"})
    assert refreshed["headers"]["X-Cache"] == "REFRESH"
    assert together.call_count(ENDPOINT_ID) == 2


def test_stale_entry_is_served_when_upstream_is_down(
    relay_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, together: TogetherSimulator, request: Any
) -> None:
    relay_env["CACHE_TTL_SECONDS"] = "0"  # every lookup goes upstream
    relay: Relay = request.getfixturevalue("relay")
    together.put(make_endpoint(ENDPOINT_ID))
    assert relay.get(PATH)["headers"]["X-Cache"] == "MISS"

    together.inject(*[Fault(status=500)] * 3)
    stale = relay.get(PATH)

    assert stale["statusCode"] == 200
    assert stale["headers"]["X-Cache"] == "STALE"
    assert stale["headers"]["Cache-Control"] == "max-age=0"
    assert json.loads(stale["body"])["id"] == ENDPOINT_ID


@pytest.mark.parametrize(
    ("faults", "status", "code"),
    [
        ([Fault(status=500)] * 3, 502, "upstream_unavailable"),
        ([Fault(status=502)] * 3, 502, "upstream_unavailable"),
        ([Fault(reset_connection=True)] * 3, 502, "upstream_unavailable"),
        ([Fault(status=200, body=b"<html>maintenance</html>")], 502, "upstream_invalid_response"),
        ([Fault(status=200, body=b'{"id": "endpoint-d23901de')], 502, "upstream_invalid_response"),
        ([Fault(status=302, headers={"Location": "http://169.254.169.254/"})], 502, "upstream_invalid_response"),
        ([Fault(status=200, delay=3.0)] * 3, 504, "upstream_timeout"),
        ([Fault(status=429, headers={"Retry-After": "0"})] * 3, 429, "upstream_rate_limited"),
        ([Fault(status=429, headers={"Retry-After": "30"})], 503, "upstream_busy"),
        ([Fault(status=503, headers={"Retry-After": "120"})], 503, "upstream_busy"),
    ],
    ids=["500", "502", "reset", "html", "truncated-json", "redirect", "timeout", "429", "429-long", "503-long"],
)
def test_upstream_failure_with_nothing_cached_is_an_error_data_response(
    relay: Relay, together: TogetherSimulator, faults: list[Fault], status: int, code: str
) -> None:
    together.put(make_endpoint(ENDPOINT_ID))
    together.inject(*faults)

    response = relay.get(PATH)

    assert response["statusCode"] == status
    assert _error(response)["code"] == code
    if status in (429, 503):
        assert int(response["headers"]["Retry-After"]) >= 1
    if status == 503:  # a long Retry-After is passed on, not slept through
        assert int(response["headers"]["Retry-After"]) >= 30
        assert together.call_count(ENDPOINT_ID) == 1


def test_short_retry_after_is_honoured_and_retried(relay: Relay, together: TogetherSimulator) -> None:
    together.put(make_endpoint(ENDPOINT_ID))
    together.inject(Fault(status=429, headers={"Retry-After": "0"}), Fault(status=503, headers={"Retry-After": "x"}))
    response = relay.get(PATH)
    assert response["statusCode"] == 200
    assert together.call_count(ENDPOINT_ID) == 3


def test_oversized_body_is_refused(relay_env: dict[str, str], together: TogetherSimulator, request: Any) -> None:
    relay_env["UPSTREAM_MAX_RESPONSE_BYTES"] = "2048"
    relay: Relay = request.getfixturevalue("relay")
    together.put(make_endpoint(ENDPOINT_ID, display_name="x" * 5000))
    response = relay.get(PATH)
    assert response["statusCode"] == 502
    assert _error(response)["code"] == "upstream_invalid_response"


def test_unknown_endpoint_is_404_and_negatively_cached(relay: Relay, together: TogetherSimulator) -> None:
    first = relay.get(PATH)
    second = relay.get(PATH)
    assert first["statusCode"] == second["statusCode"] == 404
    assert _error(second)["code"] == "endpoint_not_found"
    assert together.call_count(ENDPOINT_ID) == 1


def test_rotated_key_causes_one_secret_refresh_and_one_retry(relay: Relay, together: TogetherSimulator) -> None:
    # Given the relay has cached the secret, and then the key is rotated
    together.put(make_endpoint(ENDPOINT_ID))
    relay.get("/v1/endpoints/endpoint-warm-up")  # caches the secret (404 upstream)
    from devstack.aws import RelaySecretValues, put_secret
    from tests.leakcheck import COLLECTOR

    new_key = "tgp-rotated-" + relay.token[-8:]
    COLLECTOR.register_secret(new_key)
    put_secret(relay.moto_endpoint, relay.secret_id, RelaySecretValues(new_key, (relay.token,)).document())
    together.api_keys = {new_key}
    fetches_before, auth_failures_before = relay.secret_fetches, together.auth_failures

    # When the next lookup meets a 403
    response = relay.get(PATH)

    # Then the relay re-read the secret exactly once and retried exactly once
    assert response["statusCode"] == 200
    assert relay.secret_fetches - fetches_before == 1
    assert together.auth_failures - auth_failures_before == 1
    assert together.call_count(ENDPOINT_ID) == 1  # the simulator counts only requests past its key check


def test_key_rejected_even_after_refresh_is_502(relay: Relay, together: TogetherSimulator) -> None:
    together.put(make_endpoint(ENDPOINT_ID))
    together.api_keys = {"some-other-key"}
    response = relay.get(PATH)
    assert response["statusCode"] == 502
    assert _error(response)["code"] == "upstream_auth_failed"
    assert together.auth_failures == 2
    assert relay.together_api_key not in response["body"]


@pytest.mark.parametrize("retired", [403, 410])
def test_a_retired_v1_api_is_502_v1_retired_without_a_secret_refresh(
    relay: Relay, together: TogetherSimulator, retired: int
) -> None:
    # Given Together has switched v1 off (403 endpoints_v1_create_access_disabled, or 410)
    together.put(make_endpoint(ENDPOINT_ID))
    together.v1_retired = retired
    response = relay.get(PATH)
    # Then the caller (and the operator's log) learns that v1 is gone, not that the key is bad,
    # and the lookup neither re-reads the secret nor asks Together twice
    assert response["statusCode"] == 502
    assert _error(response)["code"] == "upstream_v1_retired"
    assert (together.call_count(), relay.secret_fetches) == (1, 1)


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer wrong-token", "bearer  "],
    ids=["none", "empty", "scheme-only", "blank", "basic", "wrong", "lower-blank"],
)
def test_missing_or_invalid_token_is_401(relay: Relay, together: TogetherSimulator, authorization: str | None) -> None:
    together.put(make_endpoint(ENDPOINT_ID))
    headers = {} if authorization is None else {"Authorization": authorization}
    response = relay.get(PATH, authorized=False, headers=headers)
    assert response["statusCode"] == 401
    assert _error(response)["type"] == "authentication_error"
    assert response["headers"]["WWW-Authenticate"].startswith("Bearer")
    assert together.call_count() == 0


def test_caller_headers_are_not_forwarded_upstream(relay: Relay, together: TogetherSimulator) -> None:
    together.put(make_endpoint(ENDPOINT_ID))
    response = relay.get(PATH, headers={"X-Forwarded-For": "10.0.0.1", "Cookie": "a=b"})
    assert response["statusCode"] == 200
    # The simulator rejects any Authorization but the relay's own key: a forwarded caller token would be a 403.
    assert together.auth_failures == 0


def test_shared_tier_serves_a_second_container(relay: Relay, together: TogetherSimulator) -> None:
    together.put(make_endpoint(ENDPOINT_ID))
    relay.get(PATH)
    relay.cold_start()  # a second container: a new graph, an empty local tier

    response = relay.get(PATH)

    assert response["headers"]["X-Cache"] == "HIT"
    assert together.call_count(ENDPOINT_ID) == 1


def test_lookups_still_answer_when_the_shared_tier_fails(
    relay_env: dict[str, str], together: TogetherSimulator, request: Any
) -> None:
    relay_env["CACHE_TABLE_NAME"] = "table-that-does-not-exist"
    relay: Relay = request.getfixturevalue("relay")
    together.put(make_endpoint(ENDPOINT_ID))
    assert relay.get(PATH)["headers"]["X-Cache"] == "MISS"
    assert relay.get(PATH)["headers"]["X-Cache"] == "HIT"


def test_healthz_needs_no_secret_and_no_upstream(relay: Relay, together: TogetherSimulator) -> None:
    from devstack.events import http_event

    response = relay.invoke(http_event("GET", "/healthz"))
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == {"status": "ok"}
    assert relay.secret_fetches == 0
    assert together.call_count() == 0


def test_sample_event_from_events_folder_is_served(relay: Relay, together: TogetherSimulator) -> None:
    from devstack.events import load_event

    # Given the event `sam local invoke -e events/http_get_endpoint.json` uses, with this run's token
    event = load_event("http_get_endpoint.json")
    event["headers"]["authorization"] = f"Bearer {relay.token}"
    together.put(make_endpoint(event["rawPath"].rsplit("/", 1)[1]))
    response = relay.invoke(event)
    assert response["statusCode"] == 200
