"""The sweep's v2 paths with the in-memory fakes: targets, listed endpoints, preload keys, v1 retirement."""

from __future__ import annotations

import dataclasses
import logging

import pytest

from devstack.together_v2_docs import make_v2_deployment, make_v2_endpoint
from endpoint_relay.app.sweep import SweepRunner
from endpoint_relay.app.sweep_targets import V1Retirement
from endpoint_relay.app.v2_listing import Listed
from endpoint_relay.core.errors import V1RetiredError
from endpoint_relay.core.v2_models import Endpoint as V2Endpoint
from tests.unit.test_alert_service import EP, World

PROJECT = "proj_unit"


def _listed(endpoint_id: str, state: str = "DEPLOYMENT_STATE_READY") -> Listed:
    deployment = make_v2_deployment(f"dep_{endpoint_id[3:]}", endpoint_id=endpoint_id, project_id=PROJECT, state=state)
    document = make_v2_endpoint(endpoint_id, project_id=PROJECT, deployments=[deployment])
    return Listed(PROJECT, V2Endpoint.from_dict(document))


def _runner(world: World, **changes: object) -> SweepRunner:
    runner = world.service().sweeps
    config = dataclasses.replace(runner.config, default_project=PROJECT)
    return dataclasses.replace(runner, config=config, v1=V1Retirement(), **changes)  # type: ignore[arg-type]


def test_all_checks_v1_ids_and_listed_v2_endpoints_without_a_get_and_preloads_both() -> None:
    world = World()
    world.upstream.put(EP, state="STARTED")
    listed = {f"{PROJECT}/ep_a": _listed("ep_a"), f"{PROJECT}/ep_b": _listed("ep_b", "DEPLOYMENT_STATE_FAILED")}
    runner = _runner(world, list_v2=lambda: listed)

    report = runner.run()

    assert sorted(check.endpoint_id for check in report.checks) == sorted([EP, *listed])
    assert [call[0] for call in world.upstream.calls] == [EP]  # the v2 endpoints came from the list
    assert world.store.batch_loads == [3]  # v2 alert keys are preloaded with the v1 id
    assert not report.failures
    assert len(world.slack.delivered) == 1


def test_a_bare_ep_target_is_its_default_project_key_and_unknown_text_fails_its_check() -> None:
    world = World()
    runner = _runner(world, list_v2=lambda: {})
    report = runner.run(["ep_x", f"{PROJECT}/ep_x", "bogus"])
    # One check for the two spellings of one endpoint; no v2 source wired here, so it fails, as does the bogus one
    assert sorted(check.endpoint_id for check in report.checks) == sorted([f"{PROJECT}/ep_x", "bogus"])
    assert {check.error for check in report.failures} == {
        "v2 endpoints are not swept by this function",
        "invalid endpoint id",
    }


def test_a_retired_v1_is_logged_once_and_not_asked_again(caplog: pytest.LogCaptureFixture) -> None:
    world = World()
    asked: list[int] = []

    def retired() -> list[str]:
        asked.append(1)
        raise V1RetiredError("Together's v1 endpoint API answered 410: it is retired")

    runner = _runner(world, list_endpoint_ids=retired, list_v2=lambda: {f"{PROJECT}/ep_a": _listed("ep_a")})
    caplog.set_level(logging.WARNING)
    reports = [runner.run(), runner.run()]

    assert [len(report.checks) for report in reports] == [1, 1]
    assert len(asked) == 1
    assert sum("v1 endpoint API is retired" in record.getMessage() for record in caplog.records) == 1
