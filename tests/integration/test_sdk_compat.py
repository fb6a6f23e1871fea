"""The official Together SDKs, unchanged, through `make serve`'s front: 3.x reads v2, 2.x reads ``ep_`` via the v1 view.

Each SDK runs in a venv of its own (``make test`` builds ``.venv-sdk2`` and ``.venv-sdk3``), so neither is ever a
dependency of the relay. `make serve` is pointed at a simulator this test seeds, with TOGETHER_PROJECT_ID set,
and every SDK result is compared with what that simulator answers directly.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import urllib3

from devstack.together_sim import TogetherSimulator, make_endpoint
from devstack.together_v2_docs import make_v2_deployment, make_v2_endpoint, make_v2_event
from endpoint_relay.core.v1_view import to_v1_document
from endpoint_relay.core.v2_models import Endpoint, load_json
from tests.integration.serve_support import ROOT, Served, start_serve, stop_serve
from tests.leakcheck import COLLECTOR

SDK3 = ROOT / ".venv-sdk3" / "bin" / "python"
SDK2 = ROOT / ".venv-sdk2" / "bin" / "python"
PROBES = ROOT / "tests" / "sdk"
KEY = "tgp-sdk-compat-" + "k" * 16
PROJECT = "proj_3Fv7QpN2sK8wYd5Rb1Tm"
EP = "ep_8Hq2mZk4TnR7vXw1Lc9Pd"
DEP = "dep_5Jm2Qx8Rt4Wn7Ky1Vb3Hc"
OLD_DEP = "dep_1Aa2Bb3Cc4Dd5Ee6Ff7Gg"
V1_ID = "endpoint-d23901de-ef8f-44bf-b3e7-de9c1ca8f2d7"
ENDPOINTS = 8
PAGE_SIZE = 3
PROBE_TIMEOUT = 120.0


@pytest.fixture(scope="module")
def upstream() -> Iterator[TogetherSimulator]:
    with TogetherSimulator(api_keys={KEY}) as sim:
        live = make_v2_deployment(DEP, endpoint_id=EP, project_id=PROJECT, created_at="2026-11-20T00:00:00Z")
        old = make_v2_deployment(
            OLD_DEP,
            endpoint_id=EP,
            project_id=PROJECT,
            state="DEPLOYMENT_STATE_STOPPED",
            created_at="2026-11-10T00:00:00Z",
        )
        split = [{"deploymentId": DEP, "weight": 100}]
        sim.v2.put_endpoint(make_v2_endpoint(EP, project_id=PROJECT, deployments=[live, old], traffic_split=split))
        sim.v2.put_deployment(live)
        sim.v2.put_deployment(old)
        for n in range(ENDPOINTS - 1):
            created = f"2026-10-{n + 10}T00:00:00Z"
            sim.v2.put_endpoint(make_v2_endpoint(f"ep_sdkpage{n}", project_id=PROJECT, created_at=created))
        sim.v2.add_events(
            make_v2_event(EP, created_at="2026-12-01T12:00:00Z", level="LEVEL_INFO", message="scaled"),
            make_v2_event(EP, created_at="2026-12-01T12:05:00Z", level="LEVEL_WARN", deployment_id=DEP),
            make_v2_event(EP, created_at="2026-12-01T12:06:00Z", level="LEVEL_ERROR", message="readiness timed out"),
        )
        sim.put(make_endpoint(V1_ID))
        yield sim


@pytest.fixture(scope="module")
def served(upstream: TogetherSimulator) -> Iterator[Served]:
    serve = start_serve(
        {"TOGETHER_API_BASE_URL": upstream.base_url, "TOGETHER_API_KEY": KEY, "TOGETHER_PROJECT_ID": PROJECT}
    )
    try:
        yield serve
    finally:
        stop_serve(serve)


def _probe(python: Path, script: str, *args: str) -> dict[str, Any]:
    if not python.exists():
        pytest.fail(f"{python.parent.parent.name} is missing: `make test` builds it (see the Makefile's SDK_VENVS)")
    env = {name: value for name, value in os.environ.items() if not name.lower().endswith("_proxy")}
    env["NO_PROXY"] = "127.0.0.1,localhost"
    completed = subprocess.run(  # noqa: S603 - our own venv's python running our own probe
        [str(python), str(PROBES / script), *args],
        capture_output=True,
        text=True,
        timeout=PROBE_TIMEOUT,
        env=env,
        check=False,
    )
    COLLECTOR.add_text(completed.stdout + completed.stderr)
    assert completed.returncode == 0, completed.stderr[-3000:]
    result: dict[str, Any] = json.loads(completed.stdout)
    return result


def _together(sim: TogetherSimulator, target: str) -> Any:
    """Together's own answer, asked directly with its key."""
    response = urllib3.request("GET", sim.v2_base_url + target, headers={"Authorization": f"Bearer {KEY}"})
    assert response.status == 200
    return json.loads(response.data)


def _all_pages(sim: TogetherSimulator, target: str, limit: int) -> list[Any]:
    items: list[Any] = []
    after = ""
    for _ in range(ENDPOINTS + 1):  # bounded: at most one page per endpoint
        page = _together(sim, f"{target}?limit={limit}{after}")
        items += page["data"]
        if not page.get("next_cursor"):
            return items
        after = f"&after={page['next_cursor']}"
    raise AssertionError("the simulator kept paging")


def test_the_sdk_3_reads_exactly_what_together_returns_through_make_serve(
    served: Served, upstream: TogetherSimulator
) -> None:
    COLLECTOR.register_secret(served.token)
    # When the SDK 3.x, pointed at the relay, retrieves, auto-pages the list, reads events and deployments
    got = _probe(SDK3, "sdk3_probe.py", served.url, served.token, PROJECT, EP, DEP, str(PAGE_SIZE))
    base = f"/projects/{PROJECT}/endpoints"
    # Then every result is what Together answers directly
    assert got["retrieve"] == _together(upstream, f"{base}/{EP}")
    listed = _all_pages(upstream, base, PAGE_SIZE)
    assert len(listed) == ENDPOINTS > PAGE_SIZE  # several pages were followed through the relay
    assert got["list"] == listed
    assert got["events"] == _together(upstream, f"{base}/{EP}/events?minLevel=LEVEL_WARN")["data"]
    assert [event["level"] for event in got["events"]] == ["LEVEL_ERROR", "LEVEL_WARN"]
    assert got["deployments"] == _all_pages(upstream, f"{base}/{EP}/deployments", 50)
    assert got["deployment"] == _together(upstream, f"{base}/{EP}/deployments/{DEP}")
    assert got["instance_types"] == _together(upstream, "/public/inference-instance-types")


def test_the_sdk_2_reads_an_ep_id_through_the_v1_view(served: Served, upstream: TogetherSimulator) -> None:
    COLLECTOR.register_secret(served.token)
    # When the SDK 2.x (v1 only) retrieves a v2 endpoint and a v1 one through the relay
    got = _probe(SDK2, "sdk2_probe.py", f"{served.url}/v1", served.token, EP, V1_ID)
    # Then the v2 one reads as its v1 translation, from the primary deployment, and the v1 one as Together sent it
    expected = to_v1_document(
        Endpoint.from_dict(load_json(json.dumps(_together(upstream, f"/projects/{PROJECT}/endpoints/{EP}"))))
    )
    view = got[EP]
    for field in ("id", "object", "name", "display_name", "model", "hardware", "type", "owner", "state"):
        assert view[field] == expected[field], field
    assert view["autoscaling"] == expected["autoscaling"]
    assert (view["state"], view["hardware"]) == ("STARTED", "2xnvidia-h100-80gb")
    assert got[V1_ID]["id"] == V1_ID
    assert got[V1_ID]["state"] == make_endpoint(V1_ID)["state"]
