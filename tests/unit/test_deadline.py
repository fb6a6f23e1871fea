"""The per-invocation time budget: arming, reserving, refusing and capping, on a fake clock."""

from __future__ import annotations

import math

import pytest

from endpoint_relay.core.deadline import Deadline
from endpoint_relay.core.errors import DeadlineExceededError
from tests.fakes import FakeClock


def _deadline() -> tuple[Deadline, FakeClock]:
    clock = FakeClock(1_000.0)
    return Deadline(clock), clock


def test_an_unarmed_deadline_limits_nothing() -> None:
    deadline, _ = _deadline()
    assert deadline.remaining() == math.inf
    deadline.require(3_600, "anything")


def test_arming_keeps_the_reserve_back_and_time_runs_down() -> None:
    # Given an invocation with 10 s left, 1 s of it kept to shape the answer
    deadline, clock = _deadline()
    deadline.arm(10_000, reserve_ms=1_000)
    # When 4 s pass
    clock.advance(4)
    # Then 5 s are left for remote calls
    assert deadline.remaining() == pytest.approx(5.0)


def test_a_call_whose_worst_case_does_not_fit_is_refused_naming_it() -> None:
    deadline, _ = _deadline()
    deadline.arm(5_000)
    deadline.require(5, "a call that just fits")
    with pytest.raises(DeadlineExceededError, match="reading the secret"):
        deadline.require(6, "reading the secret")


def test_a_timeout_is_capped_by_what_is_left_and_refused_when_nothing_is() -> None:
    deadline, clock = _deadline()
    deadline.arm(3_000)
    assert deadline.cap(10, "a slow GET") == pytest.approx(3.0)
    assert deadline.cap(1, "a quick GET") == 1
    clock.advance(3)
    with pytest.raises(DeadlineExceededError):
        deadline.cap(1, "a GET with no time left")


def test_a_reservation_holds_time_back_only_inside_its_block() -> None:
    # Given a sweep with 60 s, which keeps 15 s for delivery while it checks
    deadline, _ = _deadline()
    deadline.arm(60_000)
    with deadline.reserving(15):
        assert deadline.remaining() == pytest.approx(45.0)
    # Then delivery gets the whole remainder
    assert deadline.remaining() == pytest.approx(60.0)


def test_an_invocation_arms_and_always_disarms() -> None:
    deadline, _ = _deadline()
    with pytest.raises(RuntimeError), deadline.invocation(2_000, reserve_ms=500):
        assert deadline.remaining() == pytest.approx(1.5)
        raise RuntimeError("the handler failed")
    assert deadline.remaining() == math.inf
