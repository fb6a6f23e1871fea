"""TogetherClient's v2 reads against the Together simulator, over real HTTP on loopback."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest

from devstack.together_sim import Fault, TogetherSimulator
from devstack.together_v2_docs import make_v2_deployment, make_v2_endpoint, make_v2_event
from endpoint_relay.adapters.together import TogetherClient
from endpoint_relay.core import errors
from endpoint_relay.core.v2_models import DeploymentState, EventLevel
from endpoint_relay.settings import UpstreamSettings

pytestmark = pytest.mark.integration

KEY = "sim-together-key"
PROJECT = "proj_3Fv7QpN2sK8wYd5Rb1Tm"
EP = "ep_8Hq2mZk4TnR7vXw1Lc9Pd"
DEP = "dep_5Jm2Qx8Rt4Wn7Ky1Vb3Hc"


@pytest.fixture
def sim(together: TogetherSimulator) -> Iterator[TogetherSimulator]:
    together.api_keys = {KEY}
    deployment = make_v2_deployment(DEP, endpoint_id=EP, project_id=PROJECT, state="DEPLOYMENT_STATE_DEGRADED")
    together.v2.put_endpoint(make_v2_endpoint(EP, project_id=PROJECT, deployments=[deployment]), [deployment])
    yield together


def _client(sim: TogetherSimulator) -> TogetherClient:
    # The one setting: v1's base URL; v2 goes to the same host under /v2.
    settings = UpstreamSettings(
        base_url=sim.base_url, connect_timeout=0.5, read_timeout=1.0, max_retries=1, backoff_factor=0.0
    )
    return TogetherClient(settings)


def test_the_v2_root_is_the_v1_base_urls_host_under_v2(sim: TogetherSimulator) -> None:
    assert sim.base_url.endswith("/v1")
    assert UpstreamSettings(base_url=sim.base_url).v2_base_url == sim.v2_base_url
    assert (
        UpstreamSettings(base_url="https://proxy.example/together").v2_base_url == "https://proxy.example/together/v2"
    )


def test_get_v2_endpoint_returns_the_body_as_sent_and_its_model(sim: TogetherSimulator) -> None:
    body, endpoint = _client(sim).get_v2_endpoint(PROJECT, EP, KEY)
    assert json.loads(body)["id"] == EP
    assert endpoint.id == EP
    assert endpoint.deployments[0].state == DeploymentState.DEGRADED
    assert sim.call_count(f"/v2/projects/{PROJECT}/endpoints/{EP}") == 1


def test_list_v2_endpoints_page_follows_cursors_to_the_last_page(sim: TogetherSimulator) -> None:
    for n in range(4):
        created = f"2026-11-0{n + 1}T00:00:00Z"
        sim.v2.put_endpoint(make_v2_endpoint(f"ep_more{n}", project_id=PROJECT, created_at=created))
    client = _client(sim)
    seen: list[str] = []
    after: str | None = None
    for _ in range(10):  # bounded: 5 endpoints in pages of 2 need 3 pages
        body, page = client.list_v2_endpoints_page(PROJECT, KEY, after=after, limit=2)
        assert [item["id"] for item in json.loads(body)["data"]] == [endpoint.id for endpoint in page.data]
        seen += [endpoint.id for endpoint in page.data]
        after = page.next_cursor
        if after is None:
            break
    assert sorted(seen) == sorted([EP, *(f"ep_more{n}" for n in range(4))])


def test_list_v2_events_asks_for_warnings_since_an_instant(sim: TogetherSimulator) -> None:
    sim.v2.add_events(
        make_v2_event(EP, created_at="2026-12-01T10:00:00Z", level="LEVEL_ERROR", message="old failure"),
        make_v2_event(EP, created_at="2026-12-01T12:00:00Z", level="LEVEL_INFO", message="scaled"),
        make_v2_event(EP, created_at="2026-12-01T12:05:00Z", level="LEVEL_WARN", message="replica unhealthy"),
        make_v2_event(EP, created_at="2026-12-01T12:06:00Z", level="LEVEL_ERROR", message="readiness timed out"),
    )
    events = _client(sim).list_v2_events(PROJECT, EP, KEY, since="2026-12-01T11:00:00Z")
    assert [event.message for event in events] == ["readiness timed out", "replica unhealthy"]
    assert events[0].level is EventLevel.ERROR
    assert _client(sim).list_v2_events(PROJECT, EP, KEY, min_level="LEVEL_ERROR", limit=1)[0].message == (
        "readiness timed out"
    )


def test_deployments_and_instance_types(sim: TogetherSimulator) -> None:
    client = _client(sim)
    _, page = client.list_v2_deployments_page(PROJECT, EP, KEY)
    assert [d.id for d in page.data] == [DEP]
    _, deployment = client.get_v2_deployment(PROJECT, EP, DEP, KEY)
    assert deployment.status_message == "Below requested capacity"
    _, catalog = client.list_v2_instance_types(KEY)
    assert "1xnvidia-h100-80gb" in {item.id for item in catalog.data}
    _, one = client.get_v2_instance_type("1xnvidia-h100-80gb", KEY)
    assert one.price_cents_per_hour == 349


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda c: c.get_v2_endpoint(PROJECT, "ep_missing", KEY), errors.EndpointNotFoundError),
        (lambda c: c.list_v2_endpoints_page("proj_nobody", KEY), errors.ProjectNotFoundError),
        (lambda c: c.get_v2_deployment(PROJECT, EP, "dep_missing", KEY), errors.DeploymentNotFoundError),
        (lambda c: c.get_v2_instance_type("9xnothing", KEY), errors.InstanceTypeNotFoundError),
    ],
    ids=["endpoint", "project", "deployment", "instance-type"],
)
def test_a_404_is_the_resources_own_not_found(
    sim: TogetherSimulator, call: Callable[[TogetherClient], object], error: type[errors.NotFoundError]
) -> None:
    with pytest.raises(error) as raised:
        call(_client(sim))
    assert raised.value.status == 404


@pytest.mark.parametrize("shape", ["envelope", "rpc"])
def test_both_v2_error_shapes_become_invalid_query_error_data(sim: TogetherSimulator, shape: str) -> None:
    # Given Together answering 400 in either documented shape (here: a cursor it did not issue)
    sim.v2.error_shape = shape  # type: ignore[assignment]
    with pytest.raises(errors.InvalidQueryError) as raised:
        _client(sim).list_v2_endpoints_page(PROJECT, KEY, after="bm90LWEtY3Vyc29y")
    # Then the caller gets ErrorData with Together's message, and nothing else of the body
    data = raised.value.error_data()["error"]
    assert (data["type"], data["code"], data["message"]) == ("invalid_request_error", "invalid_query", "invalid cursor")


def test_ids_are_checked_before_any_call(sim: TogetherSimulator) -> None:
    client = _client(sim)
    with pytest.raises(errors.InvalidEndpointIdError):
        client.get_v2_endpoint(PROJECT, "ep_../../v1/keys", KEY)
    with pytest.raises(errors.InvalidIdError):
        client.get_v2_endpoint("proj_a/../b", EP, KEY)
    with pytest.raises(errors.InvalidQueryError):
        client.list_v2_events(PROJECT, EP, KEY, since="yesterday")
    assert sim.call_count() == 0


def test_an_unreadable_or_misdirected_body_is_an_invalid_upstream_response(sim: TogetherSimulator) -> None:
    sim.inject(Fault(status=200, body=b'{"id": "ep_other", "trafficSplit": [], "deployments": []}'))
    with pytest.raises(errors.InvalidUpstreamResponseError):
        _client(sim).get_v2_endpoint(PROJECT, EP, KEY)
    sim.inject(Fault(status=200, body=b'{"object": "list"}'))
    with pytest.raises(errors.InvalidUpstreamResponseError):
        _client(sim).list_v2_endpoints_page(PROJECT, KEY)


def test_a_rejected_key_is_an_upstream_auth_error(sim: TogetherSimulator) -> None:
    with pytest.raises(errors.UpstreamAuthError):
        _client(sim).get_v2_endpoint(PROJECT, EP, "not-the-key")
