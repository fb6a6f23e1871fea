"""Cache freshness rules and the per-container LRU store."""

from __future__ import annotations

import threading

import pytest

from endpoint_relay.core.cache import CacheEntry, CachePolicy, CacheStatus, LocalCache
from endpoint_relay.core.models import Endpoint

ENDPOINT = Endpoint(
    id="endpoint-abc",
    name="n",
    display_name="d",
    model="m",
    hardware="h",
    owner="o",
    state="STARTED",
    autoscaling=None,
    created_at="",
)
POLICY = CachePolicy(fresh_ttl=30, stale_window=900, negative_ttl=10)
T0 = 1_700_000_000.0


def _positive(fetched_at: float = T0, body: str = "{}") -> CacheEntry:
    return CacheEntry(fetched_at=fetched_at, body=body, value=ENDPOINT)


def _negative(fetched_at: float = T0) -> CacheEntry:
    return CacheEntry(fetched_at=fetched_at)


def test_status_values_are_the_x_cache_header_values() -> None:
    assert [status.value for status in CacheStatus] == ["HIT", "MISS", "STALE", "REFRESH"]


def test_an_entry_without_an_endpoint_is_negative() -> None:
    assert _negative().is_negative
    assert not _positive().is_negative


# -- freshness -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("age", "fresh"),
    [(0.0, True), (29.999, True), (30.0, False), (30.001, False), (899.0, False)],
)
def test_positive_entry_is_fresh_strictly_before_its_ttl(age: float, fresh: bool) -> None:
    assert POLICY.is_fresh(_positive(), T0 + age) is fresh


@pytest.mark.parametrize(("age", "fresh"), [(0.0, True), (9.999, True), (10.0, False), (29.0, False)])
def test_negative_entry_uses_the_negative_ttl(age: float, fresh: bool) -> None:
    assert POLICY.is_fresh(_negative(), T0 + age) is fresh


@pytest.mark.parametrize(("age", "servable"), [(0.0, True), (30.0, True), (899.999, True), (900.0, False)])
def test_positive_entry_is_servable_stale_until_the_stale_window_closes(age: float, servable: bool) -> None:
    assert POLICY.is_servable_stale(_positive(), T0 + age) is servable


def test_a_remembered_404_is_never_served_stale() -> None:
    assert not POLICY.is_servable_stale(_negative(), T0)


def test_stale_window_shorter_than_the_ttl_still_covers_the_fresh_period() -> None:
    policy = CachePolicy(fresh_ttl=60, stale_window=5, negative_ttl=10)
    assert policy.is_servable_stale(_positive(), T0 + 59)
    assert not policy.is_servable_stale(_positive(), T0 + 60)


def test_zero_ttl_is_never_fresh_but_may_be_served_stale() -> None:
    policy = CachePolicy(fresh_ttl=0, stale_window=900, negative_ttl=0)
    assert not policy.is_fresh(_positive(), T0)
    assert not policy.is_fresh(_negative(), T0)
    assert policy.is_servable_stale(_positive(), T0)


def test_a_clock_that_went_backwards_counts_as_age_zero() -> None:
    # Entries from the shared tier carry another container's clock.
    assert POLICY.age(_positive(), T0 - 5) == 0.0
    assert POLICY.is_fresh(_positive(), T0 - 5)
    assert POLICY.remaining_fresh(_positive(), T0 - 5) == 30


# -- retention and headers -----------------------------------------------------------------------------------------


def test_retain_until_keeps_a_positive_entry_for_the_stale_window() -> None:
    assert POLICY.retain_until(_positive()) == T0 + 900


def test_retain_until_keeps_a_positive_entry_at_least_for_its_ttl() -> None:
    policy = CachePolicy(fresh_ttl=60, stale_window=5, negative_ttl=10)
    assert policy.retain_until(_positive()) == T0 + 60


def test_retain_until_keeps_a_negative_entry_for_the_negative_ttl() -> None:
    assert POLICY.retain_until(_negative()) == T0 + 10


@pytest.mark.parametrize(
    ("age", "remaining"),
    [(0.0, 30), (0.4, 29), (1.0, 29), (29.0, 1), (29.5, 0), (30.0, 0), (500.0, 0)],
)
def test_remaining_fresh_is_whole_seconds_rounded_down_and_never_negative(age: float, remaining: int) -> None:
    assert POLICY.remaining_fresh(_positive(), T0 + age) == remaining


def test_remaining_fresh_of_a_negative_entry_uses_the_negative_ttl() -> None:
    assert POLICY.remaining_fresh(_negative(), T0 + 3) == 7


def test_ttl_depends_on_the_kind_of_entry() -> None:
    assert POLICY.ttl(_positive()) == 30
    assert POLICY.ttl(_negative()) == 10


# -- LocalCache ----------------------------------------------------------------------------------------------------


def test_get_of_an_unknown_key_is_none() -> None:
    assert LocalCache().get("endpoint-none") is None


def test_put_then_get_returns_the_entry() -> None:
    cache = LocalCache()
    entry = _positive()
    cache.put("endpoint-a", entry)
    assert cache.get("endpoint-a") is entry
    assert len(cache) == 1


def test_the_store_is_bounded_and_evicts_the_least_recently_put() -> None:
    cache = LocalCache(max_entries=3)
    for index in range(5):
        cache.put(f"endpoint-{index}", _positive())
    assert len(cache) == 3
    assert [cache.get(f"endpoint-{index}") is not None for index in range(5)] == [False, False, True, True, True]


def test_reading_an_entry_protects_it_from_eviction() -> None:
    # Given a full cache whose oldest entry was just read
    cache = LocalCache(max_entries=2)
    cache.put("endpoint-a", _positive())
    cache.put("endpoint-b", _positive())
    cache.get("endpoint-a")
    # When a third entry arrives
    cache.put("endpoint-c", _positive())
    # Then the least recently used one (b) went, not the oldest one (a)
    assert cache.get("endpoint-a") is not None
    assert cache.get("endpoint-b") is None
    assert cache.get("endpoint-c") is not None


def test_replacing_an_entry_refreshes_its_recency() -> None:
    cache = LocalCache(max_entries=2)
    cache.put("endpoint-a", _positive(T0))
    cache.put("endpoint-b", _positive(T0))
    cache.put("endpoint-a", _positive(T0 + 1))
    cache.put("endpoint-c", _positive(T0))
    assert cache.get("endpoint-a") is not None
    assert cache.get("endpoint-b") is None


def test_an_older_fetch_never_overwrites_a_newer_one() -> None:
    # Given a newer answer already stored
    cache = LocalCache()
    newer = _positive(T0 + 5, body='{"v":2}')
    cache.put("endpoint-a", newer)
    # When a slower request that started earlier finishes
    cache.put("endpoint-a", _positive(T0, body='{"v":1}'))
    cache.put("endpoint-a", _negative(T0 + 1))
    # Then the newer answer is kept
    assert cache.get("endpoint-a") is newer


def test_a_newer_or_equally_new_fetch_replaces_the_entry() -> None:
    cache = LocalCache()
    cache.put("endpoint-a", _positive(T0, body='{"v":1}'))
    same_time = _positive(T0, body='{"v":2}')
    cache.put("endpoint-a", same_time)
    assert cache.get("endpoint-a") is same_time
    newer_404 = _negative(T0 + 1)
    cache.put("endpoint-a", newer_404)
    assert cache.get("endpoint-a") is newer_404


def test_full_size_pages_are_evicted_before_their_bodies_outgrow_the_function() -> None:
    # Given a cache filled with list pages as large as the response cap allows (1 MiB each)
    cache = LocalCache()
    page = "x" * (1024 * 1024)
    for index in range(100):
        cache.put(f"page-{index}", _positive(body=page))
    # Then it holds at most 32 MiB of bodies, the most recently put ones
    assert len(cache) == 32
    assert cache.get("page-99") is not None and cache.get("page-68") is not None and cache.get("page-67") is None


def test_the_body_bound_counts_a_replaced_entry_once_and_a_remembered_404_as_nothing() -> None:
    cache = LocalCache(max_body_chars=10)
    cache.put("endpoint-a", _positive(T0, body="12345"))
    cache.put("endpoint-a", _positive(T0 + 1, body="123456"))
    cache.put("endpoint-b", _negative(T0))
    cache.put("endpoint-c", _positive(T0, body="1234"))
    assert len(cache) == 3
    cache.put("endpoint-d", _positive(T0, body="1"))
    assert cache.get("endpoint-a") is None and len(cache) == 3


def test_clear_empties_the_store() -> None:
    cache = LocalCache()
    cache.put("endpoint-a", _positive())
    cache.clear()
    assert len(cache) == 0
    assert cache.get("endpoint-a") is None


def test_concurrent_writers_keep_the_bound_and_the_newest_entry() -> None:
    # Given worker threads writing overlapping keys with increasing fetch times
    cache = LocalCache(max_entries=50)
    barrier = threading.Barrier(4)

    def write(worker: int) -> None:
        barrier.wait()
        for step in range(500):
            cache.put(f"endpoint-{step % 80}", _positive(T0 + step, body=str(worker)))
            cache.get(f"endpoint-{(step * 7) % 80}")

    threads = [threading.Thread(target=write, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    # Then the bound holds and every surviving entry is the newest written for its key
    assert not any(thread.is_alive() for thread in threads)
    assert len(cache) == 50
    survivors = {key: cache.get(f"endpoint-{key}") for key in range(80)}
    assert sum(entry is not None for entry in survivors.values()) == 50
    for key, entry in survivors.items():
        newest_step = max(step for step in range(500) if step % 80 == key)
        assert entry is None or entry.fetched_at == T0 + newest_step
