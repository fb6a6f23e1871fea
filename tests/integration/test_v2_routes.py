"""GET /v2/... and the v1 view of ``ep_`` ids, through the real lambda_handler, moto server and the simulator."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import urllib3
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

from devstack.events import FakeLambdaContext, http_event
from devstack.together_sim import Fault, TogetherSimulator, make_endpoint
from devstack.together_v2_docs import make_v2_deployment, make_v2_endpoint, make_v2_event
from endpoint_relay.core.v1_view import to_v1_document
from endpoint_relay.core.v2_models import Endpoint, load_json
from endpoint_relay.routes import errors as error_routes
from endpoint_relay.routes.endpoints import endpoints_router
from endpoint_relay.routes.lookup_http import CallerAuth
from endpoint_relay.routes.v2 import v2_router
from endpoint_relay.settings import Settings
from endpoint_relay.wiring.api import build_api
from tests.integration.conftest import Relay, put_endpoint_with_history, relay_serving

PROJECT = "proj_3Fv7QpN2sK8wYd5Rb1Tm"
SECOND = "proj_7Tp1Xc9Lq4Nz2Wd6Rk8Ym"
EP = "ep_8Hq2mZk4TnR7vXw1Lc9Pd"
DEP = "dep_5Jm2Qx8Rt4Wn7Ky1Vb3Hc"
V1_ID = "endpoint-d23901de-ef8f-44bf-b3e7-de9c1ca8f2d7"
BASE = f"/v2/projects/{PROJECT}/endpoints"
_CONTEXT: Any = FakeLambdaContext()


def _seed(together: TogetherSimulator) -> None:
    deployment = make_v2_deployment(DEP, endpoint_id=EP, project_id=PROJECT, state="DEPLOYMENT_STATE_DEGRADED")
    together.v2.put_endpoint(make_v2_endpoint(EP, project_id=PROJECT, deployments=[deployment]), [deployment])
    for n in range(4):
        created = f"2026-11-0{n + 1}T00:00:00Z"
        together.v2.put_endpoint(make_v2_endpoint(f"ep_page{n}", project_id=PROJECT, created_at=created))
    together.v2.add_events(
        make_v2_event(EP, created_at="2026-12-01T12:00:00Z", level="LEVEL_INFO", message="scaled"),
        make_v2_event(EP, created_at="2026-12-01T12:05:00Z", level="LEVEL_WARN", message="replica unhealthy"),
    )


@pytest.fixture
def v2(relay_env: dict[str, str], together: TogetherSimulator, request: pytest.FixtureRequest) -> Relay:
    _seed(together)
    return relay_serving(request, relay_env, PROJECT, SECOND)


def _get(relay: Relay, path: str, query: str = "", **headers: str) -> dict[str, Any]:
    return relay.invoke(
        http_event("GET", path, query=query, headers={"Authorization": f"Bearer {relay.token}", **headers})
    )


def _direct(together: TogetherSimulator, relay: Relay, target: str) -> str:
    """What Together itself answers (called after the relay's calls are counted)."""
    response = urllib3.request(
        "GET", together.v2_base_url + target, headers={"Authorization": f"Bearer {relay.together_api_key}"}
    )
    return response.data.decode()


def _error(response: dict[str, Any]) -> dict[str, Any]:
    body = json.loads(response["body"])
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "param", "code"}
    return dict(body["error"])


@pytest.mark.parametrize(
    "target",
    [
        f"/projects/{PROJECT}/endpoints/{EP}",
        f"/projects/{PROJECT}/endpoints",
        f"/projects/{PROJECT}/endpoints/{EP}/events",
        f"/projects/{PROJECT}/endpoints/{EP}/deployments",
        f"/projects/{PROJECT}/endpoints/{EP}/deployments/{DEP}",
        "/public/inference-instance-types",
        "/public/inference-instance-types/1xnvidia-h100-80gb",
    ],
)
def test_every_read_is_passed_through_unchanged_and_cached(v2: Relay, together: TogetherSimulator, target: str) -> None:
    # When a caller reads it twice
    first = _get(v2, "/v2" + target)
    second = _get(v2, "/v2" + target)
    # Then Together is asked once, and both answers are Together's body byte for byte
    assert first["statusCode"] == 200, first["body"]
    assert (first["headers"]["X-Cache"], second["headers"]["X-Cache"]) == ("MISS", "HIT")
    assert 0 <= int(first["headers"]["Cache-Control"].removeprefix("max-age=")) <= 30  # CACHE_TTL_SECONDS
    assert int(second["headers"]["Age"]) >= 0
    assert together.call_count("/v2" + target) == 1
    assert first["body"] == second["body"] == _direct(together, v2, target)


def test_the_sample_v2_event_from_the_events_folder_is_served(v2: Relay) -> None:
    from devstack.events import load_event

    # Given the event `sam local invoke -e events/http_list_v2_endpoints.json` uses, with this run's token
    event = load_event("http_list_v2_endpoints.json")
    event["headers"]["authorization"] = f"Bearer {v2.token}"
    response = v2.invoke(event)
    assert response["statusCode"] == 200, response["body"]
    assert len(json.loads(response["body"])["data"]) == 5


def test_the_list_pages_through_the_relay_to_the_last_page(v2: Relay, together: TogetherSimulator) -> None:
    ids: list[str] = []
    after = ""
    for _ in range(10):  # bounded: 5 endpoints in pages of 2 take 3 pages
        page = json.loads(_get(v2, BASE, f"limit=2&orderBy=created_at%20asc{after}")["body"])
        ids += [item["id"] for item in page["data"]]
        if not page.get("next_cursor"):
            break
        after = f"&after={page['next_cursor']}"
    assert ids == ["ep_page0", "ep_page1", "ep_page2", "ep_page3", EP]


def test_the_sdks_default_page_passes_through_when_endpoints_embed_ten_deployments(
    v2: Relay, together: TogetherSimulator
) -> None:
    # Given a project of endpoints that each embed their 10 newest deployment summaries (about 6 KB each)
    for index in range(50):
        put_endpoint_with_history(together, PROJECT, index)
    # When a caller lists it as the SDK's auto-paging list does (no limit: Together's default page of 50)
    response = _get(v2, BASE)
    # Then it gets Together's page as sent
    assert response["statusCode"] == 200, response["body"]
    assert response["body"] == _direct(together, v2, f"/projects/{PROJECT}/endpoints")


def test_a_list_page_larger_than_a_dynamodb_item_is_still_shared_between_containers(
    v2: Relay, together: TogetherSimulator
) -> None:
    # Given a page of 100 endpoints that embed their 10 newest deployment summaries: about 600 KB, over the
    # 400 KB DynamoDB allows an item
    for index in range(100):
        put_endpoint_with_history(together, PROJECT, index)
    first = _get(v2, BASE, "limit=100")
    assert first["statusCode"] == 200, first["body"]
    assert len(first["body"].encode()) > 400 * 1024
    # When another container is asked for the same page
    v2.cold_start()
    second = _get(v2, BASE, "limit=100")
    # Then it answers from the shared tier, as sent, without asking Together again
    assert (first["headers"]["X-Cache"], second["headers"]["X-Cache"]) == ("MISS", "HIT")
    assert second["body"] == first["body"]
    assert together.call_count("/v2" + f"/projects/{PROJECT}/endpoints") == 1


def test_event_filters_are_passed_on(v2: Relay) -> None:
    page = json.loads(_get(v2, f"{BASE}/{EP}/events", "minLevel=LEVEL_WARN&limit=5")["body"])
    assert [event["message"] for event in page["data"]] == ["replica unhealthy"]


def test_no_cache_refreshes_and_a_failing_upstream_serves_stale(
    relay_env: dict[str, str], together: TogetherSimulator, request: pytest.FixtureRequest
) -> None:
    relay_env["CACHE_TTL_SECONDS"] = "0"
    relay = request.getfixturevalue("v2")
    assert _get(relay, f"{BASE}/{EP}")["headers"]["X-Cache"] == "MISS"
    assert _get(relay, f"{BASE}/{EP}", **{"Cache-Control": "no-cache"})["headers"]["X-Cache"] == "REFRESH"
    together.inject(*[Fault(status=500)] * 3)
    stale = _get(relay, f"{BASE}/{EP}")
    assert (stale["statusCode"], stale["headers"]["X-Cache"], stale["headers"]["Cache-Control"]) == (
        200,
        "STALE",
        "max-age=0",
    )
    assert json.loads(stale["body"])["id"] == EP


def test_a_404_is_remembered(v2: Relay, together: TogetherSimulator) -> None:
    first = _get(v2, f"{BASE}/ep_missing")
    second = _get(v2, f"{BASE}/ep_missing")
    assert (first["statusCode"], second["statusCode"]) == (404, 404)
    assert _error(first)["code"] == _error(second)["code"] == "endpoint_not_found"
    assert together.call_count(f"{BASE}/ep_missing") == 1
    deployment = _get(v2, f"{BASE}/{EP}/deployments/dep_missing")
    assert (deployment["statusCode"], _error(deployment)["code"]) == (404, "deployment_not_found")


def test_other_projects_are_404_without_a_secret_fetch_or_upstream_call(v2: Relay, together: TogetherSimulator) -> None:
    together.v2.put_endpoint(make_v2_endpoint("ep_theirs", project_id="proj_someoneelse"))
    response = _get(v2, "/v2/projects/proj_someoneelse/endpoints/ep_theirs")
    assert response["statusCode"] == 404
    assert _error(response)["code"] == "project_not_found"
    assert (together.call_count(), v2.secret_fetches) == (0, 0)


def test_every_configured_project_is_served(v2: Relay, together: TogetherSimulator) -> None:
    together.v2.put_endpoint(make_v2_endpoint("ep_second", project_id=SECOND))
    assert _get(v2, f"/v2/projects/{SECOND}/endpoints/ep_second")["statusCode"] == 200


def test_anonymous_callers_are_refused_before_anything_else(v2: Relay, together: TogetherSimulator) -> None:
    for path in (f"{BASE}/{EP}", "/v2/projects/proj_someoneelse/endpoints", f"{BASE}/ep_x%2F.."):
        response = v2.invoke(http_event("GET", path))
        assert response["statusCode"] == 401
        assert response["headers"]["WWW-Authenticate"] == 'Bearer realm="endpoint-relay"'
    wrong = v2.invoke(http_event("GET", f"{BASE}/{EP}", headers={"Authorization": "Bearer nope"}))
    assert wrong["statusCode"] == 401
    assert together.call_count() == 0


def test_a_bad_query_is_refused_here_and_togethers_400_becomes_error_data(
    v2: Relay, together: TogetherSimulator
) -> None:
    refused = _get(v2, BASE, "limit=0")
    assert (refused["statusCode"], _error(refused)["param"]) == (400, "limit")
    assert together.call_count() == 0
    together.v2.error_shape = "rpc"
    upstream = _get(v2, BASE, "filter=name%20%3D%3D")
    error = _error(upstream)
    assert (upstream["statusCode"], error["code"], error["type"]) == (400, "invalid_query", "invalid_request_error")
    assert error["message"].startswith("invalid filter")


def test_writes_are_405_and_unknown_v2_paths_404(v2: Relay, together: TogetherSimulator) -> None:
    write = v2.invoke(http_event("DELETE", f"{BASE}/{EP}", headers={"Authorization": f"Bearer {v2.token}"}))
    unknown = _get(v2, f"{BASE}/{EP}/analytics")
    assert (write["statusCode"], unknown["statusCode"]) == (405, 404)
    assert together.call_count() == 0


# --- the v1 view ----------------------------------------------------------------------------------------------


def test_the_v1_view_answers_an_ep_id_in_the_v1_shape(v2: Relay, together: TogetherSimulator) -> None:
    # When a v1 tool asks for a v2 endpoint
    response = _get(v2, f"/v1/endpoints/{EP}")
    # Then it gets the v1 DedicatedEndpoint translated from the default project's endpoint, marked as such
    assert response["statusCode"] == 200
    assert response["headers"]["X-Relay-Translated-From"] == "v2"
    # And it shares the v2 route's cache entry
    assert _get(v2, f"{BASE}/{EP}")["headers"]["X-Cache"] == "HIT"
    assert together.call_count(f"{BASE}/{EP}") == 1
    document = json.loads(response["body"])
    upstream = _direct(together, v2, f"/projects/{PROJECT}/endpoints/{EP}")
    assert document == to_v1_document(Endpoint.from_dict(load_json(upstream)))
    assert (document["state"], document["owner"], document["object"]) == ("STARTED", PROJECT, "endpoint")


def test_v1_ids_still_go_to_v1_unchanged(v2: Relay, together: TogetherSimulator) -> None:
    together.put(make_endpoint(V1_ID))
    response = _get(v2, f"/v1/endpoints/{V1_ID}")
    assert response["statusCode"] == 200
    assert "X-Relay-Translated-From" not in response["headers"]
    assert response["body"] == json.dumps(make_endpoint(V1_ID))


def test_a_missing_ep_id_is_the_v1_not_found(v2: Relay) -> None:
    response = _get(v2, "/v1/endpoints/ep_missing")
    assert response["statusCode"] == 404
    assert (_error(response)["code"], _error(response)["param"]) == ("endpoint_not_found", "endpointId")


def test_without_a_default_project_the_v1_view_says_so(relay: Relay, together: TogetherSimulator) -> None:
    response = _get(relay, f"/v1/endpoints/{EP}")
    assert response["statusCode"] == 404
    assert "TOGETHER_PROJECT_ID" in _error(response)["message"]
    assert (together.call_count(), relay.secret_fetches) == (0, 0)


# --- the hook v2 alerting listens on ------------------------------------------------------------------------------


def _app_with(observe: Callable[[str, Endpoint], None]) -> APIGatewayHttpResolver:
    shared = build_api(Settings.from_env()).shared
    app = APIGatewayHttpResolver()
    common: dict[str, Any] = {
        "lookups": shared.lookups,
        "auth": CallerAuth(shared.settings.auth_mode, shared.secrets),
    }
    app.include_router(
        v2_router(upstream=shared.together, allowed_projects=frozenset({PROJECT}), observe_v2=observe, **common)
    )
    app.include_router(
        endpoints_router(
            alerts=None, upstream=shared.together, default_project_id=PROJECT, observe_v2=observe, **common
        )
    )
    error_routes.install(app)
    return app


def test_observe_v2_hears_each_real_retrieval_and_never_fails_a_lookup(v2: Relay, together: TogetherSimulator) -> None:
    seen: list[tuple[str, str]] = []

    def observe(project_id: str, endpoint: Endpoint) -> None:
        seen.append((project_id, endpoint.id))
        raise RuntimeError("alerting is broken")

    app = _app_with(observe)
    auth = {"Authorization": f"Bearer {v2.token}"}
    answers = [
        app.resolve(http_event("GET", f"{BASE}/{EP}", headers=auth), _CONTEXT),
        app.resolve(http_event("GET", f"{BASE}/{EP}", headers=auth), _CONTEXT),  # a cache hit: nothing new to hear
        app.resolve(http_event("GET", f"/v1/endpoints/{EP}", headers={**auth, "Cache-Control": "no-cache"}), _CONTEXT),
        app.resolve(http_event("GET", BASE, headers=auth), _CONTEXT),  # lists are not endpoint lookups
    ]
    assert [answer["statusCode"] for answer in answers] == [200, 200, 200, 200]
    assert seen == [(PROJECT, EP), (PROJECT, EP)]
