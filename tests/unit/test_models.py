"""The Endpoint model: tolerant of what Together may add, strict about what the relay needs."""

from __future__ import annotations

import json
from typing import Any

import pytest

from endpoint_relay.core.models import KNOWN_STATES, Autoscaling, Endpoint, EndpointParseError, EndpointState

ENDPOINT_ID = "endpoint-d23901de-ef8f-44bf-b3e7-de9c1ca8f2d7"


def _document(**overrides: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "object": "endpoint",
        "id": ENDPOINT_ID,
        "name": "devuser/deepseek-ai/DeepSeek-R1-a32b82a1",
        "display_name": "My DeepSeek R1 endpoint",
        "model": "deepseek-ai/DeepSeek-R1",
        "hardware": "8x_nvidia_h200_140gb_sxm",
        "type": "dedicated",
        "owner": "devuser",
        "state": "STARTED",
        "autoscaling": {"min_replicas": 1, "max_replicas": 3},
        "created_at": "2025-02-04T10:43:55.405Z",
    }
    document.update(overrides)
    return document


def test_a_spec_document_parses_into_every_field() -> None:
    endpoint = Endpoint.from_json(json.dumps(_document()))

    assert endpoint == Endpoint(
        id=ENDPOINT_ID,
        name="devuser/deepseek-ai/DeepSeek-R1-a32b82a1",
        display_name="My DeepSeek R1 endpoint",
        model="deepseek-ai/DeepSeek-R1",
        hardware="8x_nvidia_h200_140gb_sxm",
        owner="devuser",
        state="STARTED",
        autoscaling=Autoscaling(min_replicas=1, max_replicas=3),
        created_at="2025-02-04T10:43:55.405Z",
    )
    assert endpoint.state_is_known


def test_bytes_bodies_parse_like_text() -> None:
    body = json.dumps(_document())
    assert Endpoint.from_json(body.encode("utf-8")) == Endpoint.from_json(body)


def test_unknown_fields_are_ignored() -> None:
    # Given a document with fields Together may add later, nested or not
    document = _document(region="eu-west", inference={"tokens_per_second": 42}, tags=["a", "b"], object="endpoint.v2")
    # When it is parsed
    endpoint = Endpoint.from_dict(document)
    # Then it reads as the same endpoint
    assert endpoint == Endpoint.from_dict(_document())


@pytest.mark.parametrize("state", sorted(KNOWN_STATES))
def test_every_known_state_is_recognised(state: str) -> None:
    endpoint = Endpoint.from_dict(_document(state=state))
    assert endpoint.state == state
    assert endpoint.state_is_known


def test_failed_is_a_known_state_although_the_spec_lacks_it() -> None:
    # Together added FAILED after the spec's enum was written.
    assert EndpointState.FAILED.value == "FAILED"
    assert Endpoint.from_dict(_document(state="FAILED")).state_is_known


@pytest.mark.parametrize("state", ["DEGRADED", "SCALING_UP", "started", "Started", "🔥"])
def test_unknown_state_is_kept_as_sent_and_flagged_unknown(state: str) -> None:
    endpoint = Endpoint.from_dict(_document(state=state))
    assert endpoint.state == state
    assert not endpoint.state_is_known


def test_missing_autoscaling_reads_as_none() -> None:
    document = _document()
    del document["autoscaling"]
    assert Endpoint.from_dict(document).autoscaling is None


@pytest.mark.parametrize(
    "autoscaling",
    [
        None,
        "1-3",
        42,
        [1, 3],
        {},
        {"min_replicas": 1},
        {"max_replicas": 3},
        {"min_replicas": True, "max_replicas": 3},
        {"min_replicas": 1, "max_replicas": False},
        {"min_replicas": "1", "max_replicas": "3"},
        {"min_replicas": 1.0, "max_replicas": 3.0},
        {"min_replicas": None, "max_replicas": 3},
    ],
    ids=[
        "null",
        "string",
        "number",
        "list",
        "empty",
        "no-max",
        "no-min",
        "bool-min",
        "bool-max",
        "strings",
        "floats",
        "null-min",
    ],
)
def test_unreadable_autoscaling_reads_as_none(autoscaling: Any) -> None:
    endpoint = Endpoint.from_dict(_document(autoscaling=autoscaling))
    assert endpoint.autoscaling is None
    assert endpoint.id == ENDPOINT_ID  # the rest of the endpoint is still usable


def test_autoscaling_with_extra_fields_is_read() -> None:
    endpoint = Endpoint.from_dict(_document(autoscaling={"min_replicas": 0, "max_replicas": 8, "target": 0.7}))
    assert endpoint.autoscaling == Autoscaling(min_replicas=0, max_replicas=8)


@pytest.mark.parametrize("field", ["name", "display_name", "model", "hardware", "owner", "created_at"])
@pytest.mark.parametrize("value", [None, 7, ["x"], {"x": 1}], ids=["null", "number", "list", "object"])
def test_optional_text_fields_of_the_wrong_type_read_as_empty(field: str, value: Any) -> None:
    endpoint = Endpoint.from_dict(_document(**{field: value}))
    assert getattr(endpoint, field) == ""


@pytest.mark.parametrize(
    "body",
    ["[]", "[1, 2]", '"endpoint"', "42", "null", "true", "3.5"],
    ids=["empty-list", "list", "string", "int", "null", "bool", "float"],
)
def test_a_body_that_is_not_a_json_object_is_refused(body: str) -> None:
    with pytest.raises(EndpointParseError, match="not a JSON object"):
        Endpoint.from_json(body)


@pytest.mark.parametrize(
    "body",
    [b"", b"<html>maintenance</html>", b'{"id": "endpoint-d2', b"\xff\xfe\xfa", b"{'id': 'x'}", b"NaN-ish"],
    ids=["empty", "html", "truncated", "not-utf8", "single-quotes", "garbage"],
)
def test_a_body_that_is_not_json_is_refused(body: bytes) -> None:
    with pytest.raises(EndpointParseError, match="not JSON"):
        Endpoint.from_json(body)


def test_absurdly_nested_json_is_refused_not_crashing() -> None:
    # A deeply nested body (well under the size cap) exhausts the decoder's recursion limit.
    with pytest.raises(EndpointParseError):
        Endpoint.from_json("[" * 100_000)


@pytest.mark.parametrize("field", ["id", "state"])
@pytest.mark.parametrize("value", [..., None, "", 5, ["x"]], ids=["missing", "null", "empty", "number", "list"])
def test_id_and_state_are_required_strings(field: str, value: Any) -> None:
    document = _document()
    if value is ...:
        del document[field]
    else:
        document[field] = value
    with pytest.raises(EndpointParseError, match=f"'{field}'"):
        Endpoint.from_dict(document)


def test_parse_errors_are_value_errors() -> None:
    # Callers that only know ValueError still catch them.
    assert issubclass(EndpointParseError, ValueError)
