"""LookupService with in-memory fakes and an injected clock: every cache path, no network."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from endpoint_relay.core import errors
from endpoint_relay.core.cache import CacheEntry, CachePolicy, CacheStatus, LocalCache
from endpoint_relay.core.lookup import LookupService, Resource, SharedCacheError
from endpoint_relay.core.models import Endpoint
from endpoint_relay.core.secrets import RelaySecrets
from endpoint_relay.core.v2_models import Deployment
from endpoint_relay.core.v2_request import parse_v2_request
from endpoint_relay.core.v2_resources import not_found, parse_body
from tests.fakes import T0, FakeClock, FakeSecrets, FakeUpstream

ENDPOINT_ID = "endpoint-d23901de-ef8f-44bf-b3e7-de9c1ca8f2d7"
OLD_KEY = "tgp-unit-old-key"
NEW_KEY = "tgp-unit-new-key"
POLICY = CachePolicy(fresh_ttl=30, stale_window=900, negative_ttl=10)


def _body(endpoint_id: str = ENDPOINT_ID, state: str = "STARTED") -> str:
    return json.dumps({"object": "endpoint", "id": endpoint_id, "state": state, "name": "n", "extra": [1, 2]})


# -- fakes ---------------------------------------------------------------------------------------------------------


@dataclass
class FakeSharedCache:
    entries: dict[str, CacheEntry[Any]] = field(default_factory=dict)
    retain: dict[str, float] = field(default_factory=dict)
    failing: bool = False
    reads: int = 0
    writes: int = 0
    leases: dict[str, tuple[float, float]] = field(default_factory=dict)
    """endpoint id -> (fetched_at the lease is for, lease end)"""

    def get[T](self, endpoint_id: str, parse: Callable[[str], T]) -> CacheEntry[T] | None:
        self.reads += 1
        if self.failing:
            raise SharedCacheError("ProvisionedThroughputExceededException")
        entry = self.entries.get(endpoint_id)
        if entry is None or entry.body is None:
            return entry
        # Like the DynamoDB tier, hand back what the caller's parser reads from the stored body, or nothing.
        try:
            return CacheEntry(fetched_at=entry.fetched_at, body=entry.body, value=parse(entry.body))
        except ValueError:
            return None

    def put(self, endpoint_id: str, entry: CacheEntry[Any], retain_until: float) -> None:
        self.writes += 1
        if self.failing:
            raise SharedCacheError("ProvisionedThroughputExceededException")
        current = self.entries.get(endpoint_id)
        if current is None or current.fetched_at < entry.fetched_at:
            self.entries[endpoint_id] = entry
            self.retain[endpoint_id] = retain_until
            self.leases.pop(endpoint_id, None)

    def claim_refresh(self, endpoint_id: str, seen_fetched_at: float, now: float, until: float) -> bool:
        if self.failing:
            raise SharedCacheError("ProvisionedThroughputExceededException")
        current = self.entries.get(endpoint_id)
        lease = self.leases.get(endpoint_id)
        if current is None or current.fetched_at != seen_fetched_at or (lease is not None and lease[1] >= now):
            return False
        self.leases[endpoint_id] = (seen_fetched_at, until)
        return True


class NoSecrets:
    def get(self, *, force_refresh: bool = False) -> RelaySecrets:
        raise AssertionError("the secret must not be read")


class NoUpstream:
    def get_endpoint(self, endpoint_id: str, api_key: str) -> tuple[str, Endpoint]:
        raise AssertionError("upstream must not be called")


class NoSharedCache:
    def get[T](self, endpoint_id: str, parse: Callable[[str], T]) -> CacheEntry[T] | None:
        raise AssertionError("the shared tier must not be read")

    def put(self, endpoint_id: str, entry: CacheEntry[Any], retain_until: float) -> None:
        raise AssertionError("the shared tier must not be written")

    def claim_refresh(self, endpoint_id: str, seen_fetched_at: float, now: float, until: float) -> bool:
        raise AssertionError("the shared tier must not be leased")


@dataclass
class World:
    clock: FakeClock
    secrets: FakeSecrets
    upstream: FakeUpstream
    shared: FakeSharedCache
    service: LookupService


def _world(*, shared: bool = True, policy: CachePolicy = POLICY, refresh_lease: float = 0.0) -> World:
    clock, secrets, upstream, shared_cache = (
        FakeClock(),
        FakeSecrets(OLD_KEY),
        FakeUpstream({OLD_KEY}),
        FakeSharedCache(),
    )
    upstream.bodies[ENDPOINT_ID] = _body()
    service = LookupService(
        upstream=upstream,
        secrets=secrets,
        policy=policy,
        local=LocalCache(),
        shared=shared_cache if shared else None,
        refresh_lease_seconds=refresh_lease,
        clock=clock,
    )
    return World(clock, secrets, upstream, shared_cache, service)


@pytest.fixture
def world() -> World:
    return _world()


@pytest.fixture
def local_only() -> World:
    return _world(shared=False)


def _positive(fetched_at: float, body: str | None = None) -> CacheEntry:
    text = body or _body()
    return CacheEntry(fetched_at=fetched_at, body=text, value=Endpoint.from_json(text))


# -- local tier ----------------------------------------------------------------------------------------------------


def test_first_lookup_is_a_miss_and_passes_the_body_through(local_only: World) -> None:
    result = local_only.service.lookup(ENDPOINT_ID)

    assert result.status is CacheStatus.MISS
    assert result.body == _body()
    assert result.endpoint.id == ENDPOINT_ID
    assert (result.age, result.max_age) == (0, 30)
    assert local_only.upstream.calls == [(ENDPOINT_ID, OLD_KEY)]


def test_second_lookup_within_the_ttl_is_a_hit_with_no_upstream_and_no_secret_call(local_only: World) -> None:
    # Given an endpoint looked up once
    local_only.service.lookup(ENDPOINT_ID)
    calls = (len(local_only.upstream.calls), len(local_only.secrets.calls))
    # When it is looked up again 12 seconds later
    local_only.clock.advance(12)
    result = local_only.service.lookup(ENDPOINT_ID)
    # Then it comes from the cache, with its age and the remaining freshness
    assert result.status is CacheStatus.HIT
    assert (result.age, result.max_age) == (12, 18)
    assert result.body == _body()
    assert (len(local_only.upstream.calls), len(local_only.secrets.calls)) == calls == (1, 1)


def test_after_the_ttl_the_next_lookup_goes_upstream_again(local_only: World) -> None:
    local_only.service.lookup(ENDPOINT_ID)
    local_only.upstream.bodies[ENDPOINT_ID] = _body(state="STOPPED")
    local_only.clock.advance(30)

    result = local_only.service.lookup(ENDPOINT_ID)

    assert result.status is CacheStatus.MISS
    assert result.endpoint.state == "STOPPED"
    assert len(local_only.upstream.calls) == 2


def test_force_refresh_goes_upstream_even_when_fresh(local_only: World) -> None:
    local_only.service.lookup(ENDPOINT_ID)
    local_only.upstream.bodies[ENDPOINT_ID] = _body(state="STOPPING")
    local_only.clock.advance(1)

    refreshed = local_only.service.lookup(ENDPOINT_ID, force_refresh=True)
    then = local_only.service.lookup(ENDPOINT_ID)

    assert refreshed.status is CacheStatus.REFRESH
    assert refreshed.endpoint.state == "STOPPING"
    assert (then.status, then.endpoint.state) == (CacheStatus.HIT, "STOPPING")
    assert len(local_only.upstream.calls) == 2


# -- stale ---------------------------------------------------------------------------------------------------------

UPSTREAM_FAILURES = [
    errors.UpstreamUnavailableError("down"),
    errors.UpstreamTimeoutError("slow"),
    errors.UpstreamRateLimitedError("429", retry_after=1),
    errors.UpstreamBusyError("busy", retry_after=60),
    errors.InvalidUpstreamResponseError("garbled"),
    errors.UpstreamAuthError("rejected"),
]


@pytest.mark.parametrize("failure", UPSTREAM_FAILURES, ids=lambda failure: type(failure).__name__)
def test_an_expired_entry_is_served_stale_when_upstream_fails(local_only: World, failure: Exception) -> None:
    # Given an entry past its TTL but inside the stale window
    local_only.service.lookup(ENDPOINT_ID)
    local_only.clock.advance(600)
    # When upstream fails (an auth failure fails twice: before and after the secret refresh)
    local_only.upstream.failures = [failure, failure]
    result = local_only.service.lookup(ENDPOINT_ID)
    # Then the old answer is served, marked stale and not cacheable
    assert result.status is CacheStatus.STALE
    assert result.body == _body()
    assert (result.age, result.max_age) == (600, 0)


def test_a_forced_refresh_that_fails_falls_back_to_stale(local_only: World) -> None:
    local_only.service.lookup(ENDPOINT_ID)
    local_only.upstream.failures = [errors.UpstreamUnavailableError("down")]
    result = local_only.service.lookup(ENDPOINT_ID, force_refresh=True)
    assert result.status is CacheStatus.STALE


def test_once_the_stale_window_closes_the_upstream_error_is_raised(local_only: World) -> None:
    local_only.service.lookup(ENDPOINT_ID)
    local_only.clock.advance(899)
    local_only.upstream.failures = [errors.UpstreamTimeoutError("slow")]
    assert local_only.service.lookup(ENDPOINT_ID).status is CacheStatus.STALE

    local_only.clock.advance(1)  # 900 s after the fetch
    local_only.upstream.failures = [errors.UpstreamTimeoutError("slow")]
    with pytest.raises(errors.UpstreamTimeoutError):
        local_only.service.lookup(ENDPOINT_ID)


def test_with_nothing_cached_the_upstream_error_is_raised(local_only: World) -> None:
    local_only.upstream.failures = [errors.UpstreamUnavailableError("down")]
    with pytest.raises(errors.UpstreamUnavailableError):
        local_only.service.lookup(ENDPOINT_ID)


def test_a_secret_store_failure_is_raised_not_hidden(local_only: World) -> None:
    local_only.secrets.error = errors.SecretUnavailableError("busy", retry_after=1)
    with pytest.raises(errors.SecretUnavailableError):
        local_only.service.lookup(ENDPOINT_ID)
    assert local_only.upstream.calls == []


# -- negative cache ------------------------------------------------------------------------------------------------


def test_a_404_is_remembered_for_the_negative_ttl(local_only: World) -> None:
    unknown = "endpoint-unknown"
    with pytest.raises(errors.EndpointNotFoundError):
        local_only.service.lookup(unknown)
    local_only.clock.advance(9.9)
    with pytest.raises(errors.EndpointNotFoundError) as caught:
        local_only.service.lookup(unknown)
    assert caught.value.param == "endpointId"
    assert len(local_only.upstream.calls) == 1

    local_only.clock.advance(0.1)  # negative TTL over
    with pytest.raises(errors.EndpointNotFoundError):
        local_only.service.lookup(unknown)
    assert len(local_only.upstream.calls) == 2


def test_a_remembered_404_is_never_served_stale(local_only: World) -> None:
    with pytest.raises(errors.EndpointNotFoundError):
        local_only.service.lookup("endpoint-unknown")
    local_only.clock.advance(11)
    local_only.upstream.failures = [errors.UpstreamUnavailableError("down")]
    with pytest.raises(errors.UpstreamUnavailableError):
        local_only.service.lookup("endpoint-unknown")


def test_an_endpoint_deleted_upstream_turns_into_a_404(local_only: World) -> None:
    local_only.service.lookup(ENDPOINT_ID)
    del local_only.upstream.bodies[ENDPOINT_ID]
    local_only.clock.advance(31)
    with pytest.raises(errors.EndpointNotFoundError):
        local_only.service.lookup(ENDPOINT_ID)
    local_only.clock.advance(1)
    with pytest.raises(errors.EndpointNotFoundError):
        local_only.service.lookup(ENDPOINT_ID)
    assert len(local_only.upstream.calls) == 2


def test_a_forced_refresh_bypasses_the_negative_cache(local_only: World) -> None:
    with pytest.raises(errors.EndpointNotFoundError):
        local_only.service.lookup("endpoint-new")
    local_only.upstream.bodies["endpoint-new"] = _body("endpoint-new")
    assert local_only.service.lookup("endpoint-new", force_refresh=True).status is CacheStatus.REFRESH


# -- key rotation --------------------------------------------------------------------------------------------------


def test_a_rejected_key_causes_exactly_one_secret_refresh_and_one_retry(local_only: World) -> None:
    # Given a cached secret, and then the key is rotated (the client turns Together's 401 or 403 into
    # UpstreamAuthError; tests/integration/test_together_client.py checks that mapping)
    local_only.secrets.get()
    local_only.secrets.calls.clear()
    local_only.secrets.stored_key = NEW_KEY
    local_only.upstream.accepted_keys = {NEW_KEY}
    # When an endpoint is looked up
    result = local_only.service.lookup(ENDPOINT_ID)
    # Then the secret was re-read once, forced, and the request retried once with the new key
    assert result.status is CacheStatus.MISS
    assert local_only.secrets.calls == [False, True]
    assert local_only.upstream.calls == [(ENDPOINT_ID, OLD_KEY), (ENDPOINT_ID, NEW_KEY)]


def test_a_key_rejected_after_the_refresh_is_raised_without_more_retries(local_only: World) -> None:
    local_only.upstream.accepted_keys = set()
    with pytest.raises(errors.UpstreamAuthError):
        local_only.service.lookup(ENDPOINT_ID)
    assert local_only.secrets.calls == [False, True]
    assert len(local_only.upstream.calls) == 2


def test_other_upstream_errors_do_not_refresh_the_secret(local_only: World) -> None:
    local_only.upstream.failures = [errors.UpstreamUnavailableError("down")]
    with pytest.raises(errors.UpstreamUnavailableError):
        local_only.service.lookup(ENDPOINT_ID)
    assert local_only.secrets.calls == [False]
    assert len(local_only.upstream.calls) == 1


def test_a_404_after_the_refresh_is_remembered(local_only: World) -> None:
    local_only.upstream.failures = [errors.UpstreamAuthError("rejected")]
    with pytest.raises(errors.EndpointNotFoundError):
        local_only.service.lookup("endpoint-unknown")
    with pytest.raises(errors.EndpointNotFoundError):
        local_only.service.lookup("endpoint-unknown")
    assert len(local_only.upstream.calls) == 2


# -- shared tier ---------------------------------------------------------------------------------------------------


def test_a_fresh_shared_entry_is_a_hit_with_no_upstream_and_no_secret_call(world: World) -> None:
    # Given another container fetched the endpoint 5 seconds ago
    world.shared.entries[ENDPOINT_ID] = _positive(T0 - 5)
    # When this container looks it up
    result = world.service.lookup(ENDPOINT_ID)
    # Then it is served from the shared tier
    assert (result.status, result.age, result.max_age) == (CacheStatus.HIT, 5, 25)
    assert world.upstream.calls == [] and world.secrets.calls == []


def test_a_fresh_shared_entry_is_copied_to_the_local_tier(world: World) -> None:
    world.shared.entries[ENDPOINT_ID] = _positive(T0 - 5)
    world.service.lookup(ENDPOINT_ID)
    world.shared.failing = True
    reads = world.shared.reads

    assert world.service.lookup(ENDPOINT_ID).status is CacheStatus.HIT
    assert world.shared.reads == reads  # the local tier answered first


def test_a_miss_is_written_to_the_shared_tier_until_the_stale_window_ends(world: World) -> None:
    world.service.lookup(ENDPOINT_ID)
    entry = world.shared.entries[ENDPOINT_ID]
    assert (entry.fetched_at, entry.body) == (T0, _body())
    assert world.shared.retain[ENDPOINT_ID] == T0 + 900


def test_a_404_is_written_to_the_shared_tier_for_the_negative_ttl(world: World) -> None:
    with pytest.raises(errors.EndpointNotFoundError):
        world.service.lookup("endpoint-unknown")
    assert world.shared.entries["endpoint-unknown"].is_negative
    assert world.shared.retain["endpoint-unknown"] == T0 + 10


def test_an_expired_shared_entry_leads_to_an_upstream_call(world: World) -> None:
    world.shared.entries[ENDPOINT_ID] = _positive(T0 - 31, _body(state="STARTING"))
    result = world.service.lookup(ENDPOINT_ID)
    assert result.status is CacheStatus.MISS
    assert result.endpoint.state == "STARTED"
    assert world.shared.entries[ENDPOINT_ID].fetched_at == T0


def test_an_expired_shared_entry_is_served_stale_when_upstream_fails(world: World) -> None:
    world.shared.entries[ENDPOINT_ID] = _positive(T0 - 100, _body(state="STARTING"))
    world.upstream.failures = [errors.UpstreamUnavailableError("down")]
    result = world.service.lookup(ENDPOINT_ID)
    assert (result.status, result.age, result.endpoint.state) == (CacheStatus.STALE, 100, "STARTING")


def test_the_newer_of_the_two_stale_entries_is_served(world: World) -> None:
    # Given a local entry from 200 s ago and a shared one from 100 s ago, both expired
    world.service.lookup(ENDPOINT_ID)
    world.clock.advance(100)
    world.shared.entries[ENDPOINT_ID] = _positive(T0 + 100, _body(state="STOPPING"))
    world.clock.advance(100)
    # When upstream fails
    world.upstream.failures = [errors.UpstreamUnavailableError("down")]
    result = world.service.lookup(ENDPOINT_ID)
    # Then the shared (newer) one is served
    assert (result.status, result.endpoint.state, result.age) == (CacheStatus.STALE, "STOPPING", 100)


def test_an_older_shared_entry_does_not_replace_a_newer_local_stale_one(world: World) -> None:
    world.service.lookup(ENDPOINT_ID)
    world.shared.entries[ENDPOINT_ID] = _positive(T0 - 50, _body(state="PENDING"))
    world.clock.advance(200)
    world.upstream.failures = [errors.UpstreamUnavailableError("down")]
    result = world.service.lookup(ENDPOINT_ID)
    assert (result.status, result.endpoint.state) == (CacheStatus.STALE, "STARTED")


def test_a_fresh_negative_shared_entry_is_a_404_with_no_upstream_call(world: World) -> None:
    world.shared.entries["endpoint-unknown"] = CacheEntry(fetched_at=T0 - 3)
    with pytest.raises(errors.EndpointNotFoundError):
        world.service.lookup("endpoint-unknown")
    assert world.upstream.calls == []
    # and it is remembered locally for the rest of its TTL
    world.shared.failing = True
    with pytest.raises(errors.EndpointNotFoundError):
        world.service.lookup("endpoint-unknown")
    assert world.upstream.calls == []


def test_an_expired_negative_shared_entry_leads_to_an_upstream_call(world: World) -> None:
    world.shared.entries[ENDPOINT_ID] = CacheEntry(fetched_at=T0 - 10)
    assert world.service.lookup(ENDPOINT_ID).status is CacheStatus.MISS
    assert len(world.upstream.calls) == 1


def test_a_forced_refresh_skips_the_shared_tier_read(world: World) -> None:
    world.shared.entries[ENDPOINT_ID] = _positive(T0 - 1, _body(state="PENDING"))
    result = world.service.lookup(ENDPOINT_ID, force_refresh=True)
    assert (result.status, result.endpoint.state) == (CacheStatus.REFRESH, "STARTED")
    assert world.shared.reads == 0
    assert world.shared.entries[ENDPOINT_ID].endpoint is not None
    assert world.shared.entries[ENDPOINT_ID].fetched_at == T0


def test_a_failing_shared_tier_degrades_to_the_local_tier(world: World, caplog: pytest.LogCaptureFixture) -> None:
    # Given the shared tier fails every read and write
    world.shared.failing = True
    # When an endpoint is looked up twice
    with caplog.at_level(logging.WARNING, logger="endpoint_relay.core.lookup"):
        first = world.service.lookup(ENDPOINT_ID)
        second = world.service.lookup(ENDPOINT_ID)
    # Then both answer, the second from the local tier, and the failures were logged
    assert (first.status, second.status) == (CacheStatus.MISS, CacheStatus.HIT)
    assert len(world.upstream.calls) == 1
    messages = [record.getMessage() for record in caplog.records]
    assert any("shared cache read failed" in message for message in messages)
    assert any("shared cache write failed" in message for message in messages)


def test_a_failing_shared_tier_still_allows_stale_from_the_local_tier(world: World) -> None:
    world.service.lookup(ENDPOINT_ID)
    world.clock.advance(60)
    world.shared.failing = True
    world.upstream.failures = [errors.UpstreamUnavailableError("down")]
    assert world.service.lookup(ENDPOINT_ID).status is CacheStatus.STALE


def test_a_404_with_a_failing_shared_tier_is_still_remembered_locally(world: World) -> None:
    world.shared.failing = True
    for _ in range(2):
        with pytest.raises(errors.EndpointNotFoundError):
            world.service.lookup("endpoint-unknown")
    assert len(world.upstream.calls) == 1


# -- cached(): the no-network path ---------------------------------------------------------------------------------


def _untouchable_service(local: LocalCache, clock: FakeClock) -> LookupService:
    return LookupService(
        upstream=NoUpstream(), secrets=NoSecrets(), policy=POLICY, local=local, shared=NoSharedCache(), clock=clock
    )


def test_cached_returns_a_fresh_local_entry_as_a_hit() -> None:
    local, clock = LocalCache(), FakeClock()
    local.put(ENDPOINT_ID, _positive(T0 - 4))
    result = _untouchable_service(local, clock).cached(ENDPOINT_ID)
    assert result is not None
    assert (result.status, result.age, result.max_age, result.body) == (CacheStatus.HIT, 4, 26, _body())


@pytest.mark.parametrize("age", [30, 100, 10_000], ids=["just-expired", "stale", "ancient"])
def test_cached_returns_none_for_an_expired_entry(age: int) -> None:
    local, clock = LocalCache(), FakeClock()
    local.put(ENDPOINT_ID, _positive(T0 - age))
    assert _untouchable_service(local, clock).cached(ENDPOINT_ID) is None


def test_cached_returns_none_for_an_unknown_endpoint() -> None:
    assert _untouchable_service(LocalCache(), FakeClock()).cached(ENDPOINT_ID) is None


def test_cached_reports_a_remembered_404_as_not_found() -> None:
    local, clock = LocalCache(), FakeClock()
    local.put("endpoint-unknown", CacheEntry(fetched_at=T0 - 1))
    with pytest.raises(errors.EndpointNotFoundError):
        _untouchable_service(local, clock).cached("endpoint-unknown")
    clock.advance(10)
    assert _untouchable_service(local, clock).cached("endpoint-unknown") is None


# -- refresh lease: one container refreshes an expired shared entry ------------------------------------------------


def _second_container(world: World) -> LookupService:
    """Another warm container: same shared tier and upstream, its own local tier."""
    return LookupService(
        upstream=world.upstream,
        secrets=world.secrets,
        policy=POLICY,
        local=LocalCache(),
        shared=world.shared,
        refresh_lease_seconds=20,
        clock=world.clock,
    )


def test_when_a_shared_entry_expires_only_the_lease_holder_goes_upstream() -> None:
    # Given two containers that both saw the same shared entry expire
    world = _world(refresh_lease=20)
    world.shared.entries[ENDPOINT_ID] = _positive(T0 - POLICY.fresh_ttl - 1)
    other = _second_container(world)
    # When the first claims the refresh (and is still fetching) and the second asks meanwhile
    world.shared.claim_refresh(ENDPOINT_ID, T0 - POLICY.fresh_ttl - 1, T0, T0 + 20)
    result = other.lookup(ENDPOINT_ID)
    # Then the second serves the stale entry instead of going upstream too
    assert result.status is CacheStatus.STALE
    assert result.max_age == 0
    assert world.upstream.calls == []


def test_the_container_that_wins_the_lease_refreshes_and_releases_it() -> None:
    world = _world(refresh_lease=20)
    world.shared.entries[ENDPOINT_ID] = _positive(T0 - POLICY.fresh_ttl - 1)

    first = world.service.lookup(ENDPOINT_ID)
    second = _second_container(world).lookup(ENDPOINT_ID)

    assert first.status is CacheStatus.MISS
    assert second.status is CacheStatus.HIT  # the refreshed entry, from the shared tier
    assert len(world.upstream.calls) == 1
    assert ENDPOINT_ID not in world.shared.leases


def test_an_expired_lease_lets_another_container_refresh() -> None:
    world = _world(refresh_lease=20)
    fetched_at = T0 - POLICY.fresh_ttl - 1
    world.shared.entries[ENDPOINT_ID] = _positive(fetched_at)
    world.shared.claim_refresh(ENDPOINT_ID, fetched_at, T0 - 30, T0 - 10)  # its holder died long ago
    assert world.service.lookup(ENDPOINT_ID).status is CacheStatus.MISS
    assert len(world.upstream.calls) == 1


def test_without_a_servable_stale_entry_nobody_waits_for_a_lease() -> None:
    world = _world(refresh_lease=20)
    fetched_at = T0 - POLICY.stale_window - 1  # too old to serve even as stale
    world.shared.entries[ENDPOINT_ID] = _positive(fetched_at)
    world.shared.claim_refresh(ENDPOINT_ID, fetched_at, T0, T0 + 20)
    assert world.service.lookup(ENDPOINT_ID).status is CacheStatus.MISS


def test_a_failing_lease_means_refreshing_ourselves() -> None:
    world = _world(refresh_lease=20)
    world.shared.entries[ENDPOINT_ID] = _positive(T0 - POLICY.fresh_ttl - 1)
    world.shared.failing = True
    assert world.service.lookup(ENDPOINT_ID).status is CacheStatus.MISS


# -- any resource, by key ----------------------------------------------------------------------------------------


class V2Upstream:
    """A v2 resource's upstream in memory: the body it answers, or the error it raises, counting calls."""

    def __init__(self, body: str | None) -> None:
        self.body = body
        self.error: Exception | None = None
        self.keys: list[str] = []

    def fetch(self, api_key: str) -> tuple[str, object]:
        self.keys.append(api_key)
        if self.error is not None:
            raise self.error
        if self.body is None:
            raise errors.DeploymentNotFoundError("deployment not found", param="id")
        return self.body, parse_body(DEPLOYMENT, self.body)


DEPLOYMENT = parse_v2_request("/v2/projects/proj_p1/endpoints/ep_e1/deployments/dep_d1", "", frozenset({"proj_p1"}))
DEPLOYMENT_BODY = json.dumps({"id": "dep_d1", "status": {"state": "DEPLOYMENT_STATE_READY"}, "extra": [1]})


def _resource(upstream: V2Upstream) -> Resource[object]:
    return Resource(
        key=DEPLOYMENT.cache_key,
        fetch=upstream.fetch,
        parse=lambda body: parse_body(DEPLOYMENT, body),
        not_found=lambda: not_found(DEPLOYMENT),
    )


def test_any_resource_is_cached_by_its_key_in_both_tiers(world: World) -> None:
    upstream = V2Upstream(DEPLOYMENT_BODY)
    first = world.service.fetch(_resource(upstream))
    second = world.service.fetch(_resource(upstream))
    assert (first.status, second.status) == (CacheStatus.MISS, CacheStatus.HIT)
    assert first.body == second.body == DEPLOYMENT_BODY
    assert isinstance(first.value, Deployment) and first.value.id == "dep_d1"
    assert upstream.keys == [OLD_KEY]
    # The shared tier holds it under its own key, beside v1 ids, and another container reads it back parsed
    assert world.shared.entries[DEPLOYMENT.cache_key].body == DEPLOYMENT_BODY
    other = LookupService(
        upstream=world.upstream, secrets=world.secrets, policy=POLICY, shared=world.shared, clock=world.clock
    )
    from_shared = other.fetch(_resource(upstream))
    assert (from_shared.status, from_shared.value) == (CacheStatus.HIT, first.value)
    assert upstream.keys == [OLD_KEY]


def test_a_resources_404_is_remembered_and_answered_with_its_own_error(world: World) -> None:
    upstream = V2Upstream(None)
    for _ in range(2):
        with pytest.raises(errors.DeploymentNotFoundError):
            world.service.fetch(_resource(upstream))
    assert len(upstream.keys) == 1
    world.clock.advance(POLICY.negative_ttl)
    upstream.body = DEPLOYMENT_BODY
    assert world.service.fetch(_resource(upstream)).status is CacheStatus.MISS


def test_a_resource_is_served_stale_when_upstream_fails_and_refreshed_on_request(world: World) -> None:
    upstream = V2Upstream(DEPLOYMENT_BODY)
    world.service.fetch(_resource(upstream))
    assert world.service.fetch(_resource(upstream), force_refresh=True).status is CacheStatus.REFRESH
    world.clock.advance(POLICY.fresh_ttl + 1)
    upstream.error = errors.UpstreamUnavailableError("Together answered 503")
    stale = world.service.fetch(_resource(upstream))
    assert (stale.status, stale.max_age, stale.body) == (CacheStatus.STALE, 0, DEPLOYMENT_BODY)


def test_a_rotated_key_is_re_read_once_for_any_resource(world: World) -> None:
    # Given a container that cached the key before it was rotated
    secrets = FakeSecrets(OLD_KEY)
    secrets.get()
    secrets.stored_key = NEW_KEY
    upstream = V2Upstream(DEPLOYMENT_BODY)

    def fetch(api_key: str) -> tuple[str, object]:
        if api_key != NEW_KEY:
            upstream.keys.append(api_key)
            raise errors.UpstreamAuthError("Together rejected the relay's API key")
        return upstream.fetch(api_key)

    service = LookupService(upstream=world.upstream, secrets=secrets, policy=POLICY, clock=world.clock)
    resource = Resource(
        key=DEPLOYMENT.cache_key,
        fetch=fetch,
        parse=lambda body: parse_body(DEPLOYMENT, body),
        not_found=lambda: not_found(DEPLOYMENT),
    )
    # When the resource is fetched, the secret is re-read once and the call retried once
    assert service.fetch(resource).status is CacheStatus.MISS
    assert upstream.keys == [OLD_KEY, NEW_KEY]
    assert secrets.calls == [False, False, True]


def test_an_unreadable_shared_body_is_ignored_and_fetched_again(world: World) -> None:
    # Given a shared item the resource's parser refuses (about another deployment)
    world.shared.entries[DEPLOYMENT.cache_key] = CacheEntry(fetched_at=T0, body='{"id": "dep_other"}')
    upstream = V2Upstream(DEPLOYMENT_BODY)
    # Then it is treated as absent
    assert world.service.fetch(_resource(upstream)).status is CacheStatus.MISS
    assert upstream.keys == [OLD_KEY]
