"""Naming endpoints: v1 ids, bare v2 ids in the default project, and proj_…/ep_…; v1 and v2 keys never meet."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from endpoint_relay.core.endpoint_ref import EndpointRef, EndpointRefError, parse_endpoint_ref, v2_key

PROJECT = "proj_3Fv7QpN2sK8wYd5Rb1Tm"
EP = "ep_8Hq2mZk4TnR7vXw1Lc9Pd"
V1 = "endpoint-d23901de-ef8f-44bf-b3e7-de9c1ca8f2d7"


def test_a_bare_v2_id_belongs_to_the_default_project() -> None:
    ref = parse_endpoint_ref(EP, PROJECT)
    assert ref == EndpointRef(EP, PROJECT)
    assert ref.is_v2 and ref.key == f"{PROJECT}/{EP}"


def test_a_qualified_v2_id_names_its_own_project_whatever_the_default() -> None:
    ref = parse_endpoint_ref(f"proj_other1/{EP}", PROJECT)
    assert ref == EndpointRef(EP, "proj_other1")


def test_without_a_default_project_a_bare_v2_id_keeps_no_project() -> None:
    ref = parse_endpoint_ref(EP, None)
    assert ref.project_id is None and ref.key == EP


def test_a_v1_id_stays_v1() -> None:
    ref = parse_endpoint_ref(V1, PROJECT)
    assert ref == EndpointRef(V1) and not ref.is_v2 and ref.key == V1


@pytest.mark.parametrize(
    "text",
    ["", "/", f"{PROJECT}/", f"/{EP}", f"{PROJECT}/{V1}", f"{PROJECT}/{EP}/x", "ep_", "ep_a/b", f"{EP}\n", "proj_x"],
)
def test_anything_else_is_refused_without_echoing_more_than_a_prefix(text: str) -> None:
    with pytest.raises(EndpointRefError, match="expected 'endpoint-'"):
        parse_endpoint_ref(text, PROJECT)


def test_a_long_hostile_name_is_cut_in_the_message() -> None:
    with pytest.raises(EndpointRefError) as raised:
        parse_endpoint_ref("x" * 10_000, PROJECT)
    assert len(str(raised.value)) < 300


TAIL = st.text(alphabet="abcXYZ019", min_size=1, max_size=20)


@settings(derandomize=True, database=None, max_examples=200)
@given(project=TAIL, endpoint=TAIL, v1=st.text(alphabet="abc0123-", min_size=1, max_size=30))
def test_v2_keys_round_trip_and_never_equal_a_v1_id(project: str, endpoint: str, v1: str) -> None:
    key = v2_key(f"proj_{project}", f"ep_{endpoint}")
    assert parse_endpoint_ref(key, None) == EndpointRef(f"ep_{endpoint}", f"proj_{project}")
    assert key != f"endpoint-{v1}" and "/" in key
