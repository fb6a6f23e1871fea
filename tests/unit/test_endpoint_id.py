"""The endpoint-id allow-list, checked by example and by property."""

from __future__ import annotations

import string
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from endpoint_relay.core.endpoint_id import (
    MAX_ENDPOINT_ID_LENGTH,
    is_valid_endpoint_id,
    require_endpoint_id,
)
from endpoint_relay.core.errors import InvalidEndpointIdError

PREFIX = "endpoint-"
ALLOWED_CHARS = frozenset(string.ascii_lowercase + string.digits + "-")

# Deterministic and free of timing: no per-example deadline on a shared, noisy machine.
PROPERTY = settings(
    derandomize=True, deadline=None, max_examples=400, suppress_health_check=[HealthCheck.too_slow], database=None
)


def _in_allow_list(value: str) -> bool:
    """The rule, restated independently of the implementation's regular expression."""
    suffix = value.removeprefix(PREFIX)
    return (
        value.startswith(PREFIX)
        and len(value) <= MAX_ENDPOINT_ID_LENGTH
        and suffix != ""
        and set(suffix) <= ALLOWED_CHARS
        and not suffix.startswith("-")
        and not suffix.endswith("-")
    )


@pytest.mark.parametrize(
    "value",
    [
        "endpoint-d23901de-ef8f-44bf-b3e7-de9c1ca8f2d7",
        "endpoint-a",
        "endpoint-0",
        "endpoint-a-b",
        "endpoint-a--b",
        PREFIX + "a" * (MAX_ENDPOINT_ID_LENGTH - len(PREFIX)),
    ],
    ids=["uuid", "one-letter", "one-digit", "dash-inside", "double-dash-inside", "longest"],
)
def test_ids_in_the_allow_list_are_accepted(value: str) -> None:
    assert is_valid_endpoint_id(value)
    assert require_endpoint_id(value) == value


@pytest.mark.parametrize(
    "value",
    [
        "",
        "endpoint-",
        "endpoint--a",
        "endpoint-a-",
        "endpoint-A",
        "Endpoint-a",
        "endpoint_a",
        "endpoint-a.b",
        "endpoint-a/b",
        "endpoint-a\\b",
        "endpoint-a%2Fb",
        "endpoint-a b",
        "endpoint-a\n",
        "endpoint-a\r\nX: 1",
        "endpoint-a\x00",
        "endpoint-\u0430",  # Cyrillic a
        "\uff45ndpoint-a",  # fullwidth e
        "endpoint-a\u200b",  # zero-width space
        "endpoint-\u0661",  # Arabic-Indic digit one: \d would accept it
        " endpoint-a",
        "..",
        "abc",
        PREFIX + "a" * (MAX_ENDPOINT_ID_LENGTH - len(PREFIX) + 1),
    ],
)
def test_ids_outside_the_allow_list_are_refused(value: str) -> None:
    assert not is_valid_endpoint_id(value)
    with pytest.raises(InvalidEndpointIdError):
        require_endpoint_id(value)


def test_the_refusal_names_the_parameter_but_never_echoes_the_value() -> None:
    hostile = "endpoint-<script>alert(1)</script>"
    with pytest.raises(InvalidEndpointIdError) as caught:
        require_endpoint_id(hostile)
    error = caught.value
    assert error.status == 400
    assert error.param == "endpointId"
    assert "<script>" not in error.body()
    assert error.error_data()["error"]["code"] == "invalid_endpoint_id"


_NEAR_MISS = st.text(alphabet=string.ascii_letters + string.digits + "-._~%/\\?#:@ \r\n\x00\u0430\uff45\u200b\u0661")


@PROPERTY
@given(st.one_of(st.text(), _NEAR_MISS, _NEAR_MISS.map(lambda tail: PREFIX + tail)))
@example("endpoint-a\n")
@example(PREFIX + "a" * 92)
def test_acceptance_is_exactly_the_allow_list(value: str) -> None:
    assert is_valid_endpoint_id(value) is _in_allow_list(value)


_VALID_SUFFIX = st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,89}[a-z0-9])?", fullmatch=True)


@PROPERTY
@given(_VALID_SUFFIX.map(lambda suffix: PREFIX + suffix))
def test_accepted_ids_are_ascii_bounded_and_need_no_percent_encoding(value: str) -> None:
    if not is_valid_endpoint_id(value):  # only the length bound can refuse this shape
        assert len(value) > MAX_ENDPOINT_ID_LENGTH
        return
    assert value.isascii()
    assert len(value) <= MAX_ENDPOINT_ID_LENGTH
    # The id becomes one URL path segment exactly as it is.
    assert quote(value, safe="") == value
    assert value not in (".", "..")
