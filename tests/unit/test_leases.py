"""LocalLeases: the per-container fallback for the Slack abuse controls when no table is configured."""

from __future__ import annotations

from endpoint_relay.core.leases import LocalLeases
from tests.fakes import T0, FakeClock


def test_a_key_is_held_until_its_claim_expires() -> None:
    clock = FakeClock()
    leases = LocalLeases(clock=clock)
    assert leases.claim("#check#T1", until=T0 + 300) is not None
    assert leases.claim("#check#T1", until=T0 + 300) is None
    assert leases.claim("#check#T2", until=T0 + 300) is not None  # another key is free
    clock.advance(300)
    assert leases.claim("#check#T1", until=T0 + 600) is not None


def test_only_the_holders_token_releases_a_key() -> None:
    leases = LocalLeases(clock=FakeClock())
    token = leases.claim("k", until=T0 + 60)
    assert token is not None
    leases.release("k", "someone-else")
    assert leases.claim("k", until=T0 + 60) is None
    leases.release("k", token)
    assert leases.claim("k", until=T0 + 60) is not None


def test_a_full_container_forgets_expired_keys_and_refuses_when_every_key_is_live() -> None:
    # Given room for two keys, both claimed, one of them expiring first
    clock = FakeClock()
    leases = LocalLeases(clock=clock, max_keys=2)
    assert leases.claim("a", until=T0 + 10) and leases.claim("b", until=T0 + 100)
    # When a third key is claimed while both are live, it is refused (a guard errs on the safe side)
    assert leases.claim("c", until=T0 + 100) is None
    # Then, once one has expired, it makes room
    clock.advance(10)
    assert leases.claim("c", until=T0 + 100) is not None
    assert leases.claim("b", until=T0 + 100) is None
