"""The v2 id allow-list (``ep_``, ``dep_``, ``proj_``), checked by example and by property."""

from __future__ import annotations

import string
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from endpoint_relay.core.endpoint_id import is_valid_endpoint_id
from endpoint_relay.core.errors import InvalidEndpointIdError
from endpoint_relay.core.v2_ids import (
    DEPLOYMENT,
    ENDPOINT,
    MAX_V2_ID_LENGTH,
    PROJECT,
    V2IdKind,
    is_valid_deployment_id,
    is_valid_project_id,
    is_valid_v2_endpoint_id,
    is_valid_v2_id,
    require_v2_endpoint_id,
)

KINDS = [ENDPOINT, DEPLOYMENT, PROJECT]
KIND_IDS = ["ep", "dep", "proj"]
ALPHANUMERIC = frozenset(string.ascii_letters + string.digits)
ALLOWED_CHARS = ALPHANUMERIC | {"_", "-"}

# Deterministic and free of timing: no per-example deadline on a shared, noisy machine.
PROPERTY = settings(
    derandomize=True, deadline=None, max_examples=300, suppress_health_check=[HealthCheck.too_slow], database=None
)


def _in_allow_list(kind: V2IdKind, value: str) -> bool:
    """The rule, restated independently of the implementation's regular expression."""
    tail = value.removeprefix(kind.prefix)
    return (
        value.startswith(kind.prefix)
        and len(value) <= MAX_V2_ID_LENGTH
        and tail != ""
        and set(tail) <= ALLOWED_CHARS
        and tail[0] in ALPHANUMERIC
        and tail[-1] in ALPHANUMERIC
    )


SPEC_EXAMPLES = {
    "ep": "ep_8Hq2mZk4TnR7vXw1Lc9Pd",
    "dep": "dep_5Kc1Wn8Yh3Bq6Zr2Tx4Vm",
    "proj": "proj_3Fv7QpN2sK8wYd5Rb1Tm",
}


@pytest.mark.parametrize(("kind", "prefix"), list(zip(KINDS, KIND_IDS, strict=True)), ids=KIND_IDS)
@pytest.mark.parametrize(
    "tail",
    ["{example}", "a", "0", "Z", "a_b", "a-b", "a__b", "a-_-b", "{longest}"],
    ids=["spec-example", "one-letter", "one-digit", "capital", "underscore", "dash", "double", "mixed", "longest"],
)
def test_ids_in_the_allow_list_are_accepted(kind: V2IdKind, prefix: str, tail: str) -> None:
    # Given an id of each kind built from the spec's example or the rule's edges
    value = kind.prefix + tail.format(
        example=SPEC_EXAMPLES[prefix].removeprefix(kind.prefix), longest="a" * (MAX_V2_ID_LENGTH - len(kind.prefix))
    )
    # Then its own kind accepts it, and no other kind does
    assert is_valid_v2_id(kind, value)
    assert [other.prefix for other in KINDS if is_valid_v2_id(other, value)] == [kind.prefix]


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
@pytest.mark.parametrize(
    "tail",
    [
        "",
        "_a",
        "-a",
        "a_",
        "a-",
        "a.b",
        "a/b",
        "a\\b",
        "a%2Fb",
        "a b",
        "a\n",
        "a\r\nX: 1",
        "a\x00",
        "\u0430",  # Cyrillic a
        "\uff41",  # fullwidth a
        "a\u200b",  # zero-width space
        "\u0661",  # Arabic-Indic digit one: \d would accept it
        "\u00e9",  # e with acute: \w would accept it
        "..",
        "a?b",
        "a#b",
        "a:b",
        "a" * (MAX_V2_ID_LENGTH + 1),
    ],
)
def test_ids_outside_the_allow_list_are_refused(kind: V2IdKind, tail: str) -> None:
    assert not is_valid_v2_id(kind, kind.prefix + tail)


@pytest.mark.parametrize(
    "value",
    ["", "ep", "ep-a", "EP_a", "ep__a", " ep_a", "endpoint-d23901de-ef8f-44bf-b3e7-de9c1ca8f2d7", "dep_a", "ep_a\n"],
)
def test_near_misses_of_the_prefix_are_refused(value: str) -> None:
    assert not is_valid_v2_endpoint_id(value)


def test_v1_and_v2_endpoint_ids_never_overlap() -> None:
    v1, v2 = "endpoint-d23901de-ef8f-44bf-b3e7-de9c1ca8f2d7", "ep_8Hq2mZk4TnR7vXw1Lc9Pd"
    assert (is_valid_endpoint_id(v1), is_valid_v2_endpoint_id(v1)) == (True, False)
    assert (is_valid_endpoint_id(v2), is_valid_v2_endpoint_id(v2)) == (False, True)


def test_the_named_checks_are_the_kind_checks() -> None:
    assert is_valid_v2_endpoint_id(SPEC_EXAMPLES["ep"])
    assert is_valid_deployment_id(SPEC_EXAMPLES["dep"])
    assert is_valid_project_id(SPEC_EXAMPLES["proj"])
    assert not is_valid_deployment_id(SPEC_EXAMPLES["ep"])
    assert not is_valid_project_id(SPEC_EXAMPLES["dep"])


def test_require_returns_a_valid_endpoint_id_unchanged() -> None:
    assert require_v2_endpoint_id(SPEC_EXAMPLES["ep"]) == SPEC_EXAMPLES["ep"]


def test_the_refusal_names_the_parameter_but_never_echoes_the_value() -> None:
    hostile = "ep_<script>alert(1)</script>"
    with pytest.raises(InvalidEndpointIdError) as caught:
        require_v2_endpoint_id(hostile)
    error = caught.value
    assert error.status == 400
    assert error.param == "endpointId"
    assert "<script>" not in error.body()
    assert error.error_data()["error"]["code"] == "invalid_endpoint_id"


_NEAR_MISS = st.text(
    alphabet=string.ascii_letters + string.digits + "_-._~%/\\?#:@ \r\n\x00\u0430\uff41\u200b\u0661\u00e9"
)


@PROPERTY
@given(
    st.sampled_from(KINDS),
    st.one_of(st.text(), _NEAR_MISS, st.tuples(st.sampled_from(["ep_", "dep_", "proj_"]), _NEAR_MISS).map("".join)),
)
@example(ENDPOINT, "ep_a\n")
@example(DEPLOYMENT, "dep_" + "a" * 60)
@example(PROJECT, "proj_" + "a" * 60)
def test_acceptance_is_exactly_the_allow_list(kind: V2IdKind, value: str) -> None:
    assert is_valid_v2_id(kind, value) is _in_allow_list(kind, value)


_VALID_TAIL = st.from_regex(r"[A-Za-z0-9](?:[A-Za-z0-9_-]{0,70}[A-Za-z0-9])?", fullmatch=True)


@PROPERTY
@given(st.sampled_from(KINDS), _VALID_TAIL)
def test_accepted_ids_are_ascii_bounded_and_need_no_percent_encoding(kind: V2IdKind, tail: str) -> None:
    value = kind.prefix + tail
    if not is_valid_v2_id(kind, value):  # only the length bound can refuse this shape
        assert len(value) > MAX_V2_ID_LENGTH
        return
    assert value.isascii()
    assert len(value) <= MAX_V2_ID_LENGTH
    # The id becomes one URL path segment exactly as it is.
    assert quote(value, safe="") == value
    assert value not in (".", "..")
