"""The v2 request check: paths, ids, the project allow-list and each operation's documented query parameters."""

from __future__ import annotations

import pytest

from endpoint_relay.core import errors
from endpoint_relay.core.v2_errors import bad_request, upstream_error
from endpoint_relay.core.v2_request import V2Resource, endpoint_request, parse_v2_request

PROJECT = "proj_3Fv7QpN2sK8wYd5Rb1Tm"
ALLOWED = frozenset({PROJECT, "proj_second"})
EP = "ep_8Hq2mZk4TnR7vXw1Lc9Pd"
DEP = "dep_5Jm2Qx8Rt4Wn7Ky1Vb3Hc"
BASE = f"/v2/projects/{PROJECT}/endpoints"


@pytest.mark.parametrize(
    ("path", "resource", "upstream"),
    [
        (BASE, V2Resource.ENDPOINTS, f"/projects/{PROJECT}/endpoints"),
        (f"{BASE}/{EP}", V2Resource.ENDPOINT, f"/projects/{PROJECT}/endpoints/{EP}"),
        (f"{BASE}/{EP}/events", V2Resource.EVENTS, f"/projects/{PROJECT}/endpoints/{EP}/events"),
        (f"{BASE}/{EP}/deployments", V2Resource.DEPLOYMENTS, f"/projects/{PROJECT}/endpoints/{EP}/deployments"),
        (
            f"{BASE}/{EP}/deployments/{DEP}",
            V2Resource.DEPLOYMENT,
            f"/projects/{PROJECT}/endpoints/{EP}/deployments/{DEP}",
        ),
        ("/v2/public/inference-instance-types", V2Resource.INSTANCE_TYPES, "/public/inference-instance-types"),
        (
            "/v2/public/inference-instance-types/1xnvidia-h100-80gb",
            V2Resource.INSTANCE_TYPE,
            "/public/inference-instance-types/1xnvidia-h100-80gb",
        ),
    ],
)
def test_every_spec_path_is_recognised(path: str, resource: V2Resource, upstream: str) -> None:
    request = parse_v2_request(path, "", ALLOWED)
    assert (request.resource, request.target, request.cache_key) == (resource, upstream, "v2" + upstream)


def test_the_ids_are_kept_on_the_request() -> None:
    request = parse_v2_request(f"{BASE}/{EP}/deployments/{DEP}", "", ALLOWED)
    assert (request.project_id, request.endpoint_id, request.deployment_id) == (PROJECT, EP, DEP)
    assert endpoint_request(PROJECT, EP) == parse_v2_request(f"{BASE}/{EP}", "", ALLOWED)


def test_a_project_outside_the_allow_list_is_not_found() -> None:
    # Given a well-formed project the relay does not serve
    with pytest.raises(errors.ProjectNotFoundError) as raised:
        parse_v2_request(f"/v2/projects/proj_someoneelse/endpoints/{EP}", "", ALLOWED)
    # Then it reads as absent (404), not as forbidden
    assert raised.value.status == 404
    with pytest.raises(errors.ProjectNotFoundError):
        parse_v2_request(f"{BASE}/{EP}", "", frozenset())


@pytest.mark.parametrize(
    ("path", "error", "param"),
    [
        ("/v2/projects/proj_/endpoints", errors.InvalidIdError, "projectId"),
        ("/v2/projects/proj_a%2F..%2Fb/endpoints", errors.InvalidIdError, "projectId"),
        ("/v2/projects/project-x/endpoints", errors.InvalidIdError, "projectId"),
        (f"{BASE}/ep_a%2F..", errors.InvalidEndpointIdError, "endpointId"),
        (f"{BASE}/ep_\u0430bc", errors.InvalidEndpointIdError, "endpointId"),
        (f"{BASE}/endpoint-abc", errors.InvalidEndpointIdError, "endpointId"),
        (f"{BASE}/ep_abc\n", errors.InvalidEndpointIdError, "endpointId"),
        (f"{BASE}/", errors.InvalidEndpointIdError, "endpointId"),
        (f"{BASE}//events", errors.InvalidEndpointIdError, "endpointId"),
        (f"{BASE}/{EP}/deployments/dep_x..y", errors.InvalidIdError, "deploymentId"),
        (f"{BASE}/{EP}/deployments/ep_x", errors.InvalidIdError, "deploymentId"),
        ("/v2/public/inference-instance-types/..", errors.InvalidIdError, "id"),
        ("/v2/public/inference-instance-types/a%00", errors.InvalidIdError, "id"),
    ],
)
def test_a_hostile_id_is_refused_with_its_parameter_named(
    path: str, error: type[errors.RelayError], param: str
) -> None:
    with pytest.raises(error) as raised:
        parse_v2_request(path, "", ALLOWED)
    assert raised.value.status == 400
    assert raised.value.param == param


@pytest.mark.parametrize(
    "path",
    [
        "/v2",
        "/v2/",
        "/v2/projects",
        f"/v2/projects/{PROJECT}",
        f"{BASE}/{EP}/analytics",
        f"{BASE}/{EP}/deployments/{DEP}/logs",
        "/v2/organizations/org_1/endpoints",
        "/v1/endpoints",
    ],
)
def test_paths_outside_the_read_api_are_no_route(path: str) -> None:
    with pytest.raises(errors.RouteNotFoundError):
        parse_v2_request(path, "", ALLOWED)


def test_list_parameters_are_passed_on_canonically() -> None:
    # Given the parameters the SDK's auto-pager sends, in any order and encoding
    request = parse_v2_request(
        BASE, "limit=07&orderBy=created_at%20desc&after=Y3Vyc29y&filter=name%3A%22chat%2A%22", ALLOWED
    )
    # Then they are sent on sorted and re-encoded, and the cache key is the same for every spelling
    assert request.query == (
        ("after", "Y3Vyc29y"),
        ("filter", 'name:"chat*"'),
        ("limit", "7"),
        ("orderBy", "created_at desc"),
    )
    assert (
        request.target
        == f"/projects/{PROJECT}/endpoints?after=Y3Vyc29y&filter=name%3A%22chat%2A%22&limit=7&orderBy=created_at%20desc"
    )
    same = parse_v2_request(BASE, "orderBy=created_at+desc&filter=name:%22chat*%22&after=Y3Vyc29y&limit=7", ALLOWED)
    assert same.cache_key == request.cache_key


def test_event_parameters_are_every_documented_one() -> None:
    query = (
        "limit=5&after=abc&types=deployment.scaled,condition.set&minLevel=LEVEL_WARN&since=2026-12-01T00:00:00Z"
        f"&until=2026-12-02T00:00:00.5%2B01:00&deploymentIds={DEP}&sourceKinds=SOURCE_KIND_ENDPOINT&subjectId=ro_1"
    )
    request = parse_v2_request(f"{BASE}/{EP}/events", query, ALLOWED)
    assert dict(request.query) == {
        "after": "abc",
        "deploymentIds": DEP,
        "limit": "5",
        "minLevel": "LEVEL_WARN",
        "since": "2026-12-01T00:00:00Z",
        "sourceKinds": "SOURCE_KIND_ENDPOINT",
        "subjectId": "ro_1",
        "types": "deployment.scaled,condition.set",
        "until": "2026-12-02T00:00:00.5+01:00",
    }


def test_repeated_array_parameters_are_joined_as_the_sdk_joins_them() -> None:
    request = parse_v2_request(f"{BASE}/{EP}/events", "types=a.b&types=c.d", ALLOWED)
    assert request.query == (("types", "a.b,c.d"),)


@pytest.mark.parametrize(
    ("path", "query", "param"),
    [
        (BASE, "limit=0", "limit"),
        (BASE, "limit=1001", "limit"),
        (BASE, "limit=-1", "limit"),
        (BASE, "limit=%D9%A3", "limit"),  # an Arabic-Indic digit is a digit to str.isdigit
        (BASE, "limit=1&limit=2", "limit"),
        (BASE, "after=", "after"),
        (BASE, "after=a%20b", "after"),
        (BASE, "orderBy=name", "orderBy"),
        (BASE, "orderBy=created_at%20up", "orderBy"),
        (BASE, "filter=a%0Ab", "filter"),
        (BASE, "filter=" + "a" * 1025, "filter"),
        (f"{BASE}/{EP}/deployments", "limit=501", "limit"),
        (f"{BASE}/{EP}/events", "limit=501", "limit"),
        (f"{BASE}/{EP}/events", "minLevel=warn", "minLevel"),
        (f"{BASE}/{EP}/events", "since=yesterday", "since"),
        (f"{BASE}/{EP}/events", "since=2026-13-01T00:00:00Z", "since"),
        (f"{BASE}/{EP}/events", "until=2026-12-01", "until"),
        (f"{BASE}/{EP}/events", "types=a,,b", "types"),
        (f"{BASE}/{EP}/events", "types=" + ",".join("t" for _ in range(33)), "types"),
        (f"{BASE}/{EP}/events", "deploymentIds=dep_a,ep_b", "deploymentIds"),
        (f"{BASE}/{EP}/events", "sourceKinds=endpoint", "sourceKinds"),
        (f"{BASE}/{EP}/events", "subjectId=a/b", "subjectId"),
    ],
)
def test_a_bad_parameter_is_refused_naming_it(path: str, query: str, param: str) -> None:
    with pytest.raises(errors.InvalidQueryError) as raised:
        parse_v2_request(path, query, ALLOWED)
    assert (raised.value.status, raised.value.param) == (400, param)


@pytest.mark.parametrize(
    ("path", "query"),
    [
        (f"{BASE}/{EP}", "expand=all"),
        (BASE, "type=dedicated"),
        (f"{BASE}/{EP}/events", "orderBy=created_at"),
        ("/v2/public/inference-instance-types", "limit=5"),
        (BASE, "limit=%FF"),
        (BASE, "&".join(f"filter{n}=x" for n in range(40))),
    ],
)
def test_undocumented_or_malformed_queries_are_refused(path: str, query: str) -> None:
    with pytest.raises(errors.InvalidQueryError):
        parse_v2_request(path, query, ALLOWED)


# --- Together's error bodies -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message", "param"),
    [
        (
            '{"error": {"message": "invalid cursor", "type": "x", "param": "after", "code": "bad"}}',
            "invalid cursor",
            "after",
        ),
        ('{"message": "invalid filter: near x", "code": 3, "details": [{"a": 1}]}', "invalid filter: near x", None),
        ('{"error": "limit too large"}', "limit too large", None),
        ('{"error": {"message": "x", "param": "a b"}}', "x", None),
        ('{"message": "line\\none\\u0000two"}', "line one two", None),
        ("<html>oops</html>", None, None),
        ("[1]", None, None),
        ('{"message": 3}', None, None),
    ],
)
def test_both_error_shapes_read_as_one_message(body: str, message: str | None, param: str | None) -> None:
    assert upstream_error(body) == (message, param)


def test_a_bad_request_without_a_message_gets_a_generic_one_and_long_messages_are_cut() -> None:
    assert bad_request("{}").message == "Together refused the request's parameters"
    assert len(bad_request('{"message": "' + "x" * 500 + '"}').message) == 200


def test_a_long_query_is_cached_under_a_digest_that_fits_the_shared_table() -> None:
    # Given a filter that, percent-encoded, would outgrow DynamoDB's 2,048-byte key limit
    long_filter = "filter=" + "%22" * 1000
    request = parse_v2_request(BASE, long_filter, ALLOWED)
    other = parse_v2_request(BASE, long_filter[:-3] + "%27", ALLOWED)
    # Then its key is short and still tells the two apart
    assert len(request.cache_key) < 100
    assert request.cache_key.startswith("v2#sha256:")
    assert request.cache_key != other.cache_key
    assert len(request.target) > 2048
