"""The one HTTP adapter: capability URLs never reach a log line, and the invocation's deadline bounds every request.

Connect failures are real (a loopback port nobody listens on), with urllib3's own Retry, so urllib3
writes its "Retrying ... after connection broken" warning, which carries the request path.
"""

from __future__ import annotations

import secrets
import socket
from collections.abc import Callable

import pytest

from devstack.together_sim import Fault, TogetherSimulator, make_endpoint
from endpoint_relay.adapters.http import REDACTED
from endpoint_relay.adapters.slack_response import SlackResponder, SlackResponseError
from endpoint_relay.adapters.slack_webhook import SlackWebhookClient
from endpoint_relay.adapters.together import TogetherClient
from endpoint_relay.core import errors
from endpoint_relay.core.alerting import DeliveryError
from endpoint_relay.core.deadline import Deadline
from endpoint_relay.settings import SlackWebhookSettings, UpstreamSettings
from tests.fakes import FakeClock
from tests.leakcheck import COLLECTOR

pytestmark = pytest.mark.integration

KEY = "sim-together-key"
ENDPOINT_ID = "endpoint-5b1e0c4e-8f0a-4c55-9d7e-2f6a1b3c4d5e"


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # nothing listens here any more: connecting is refused at once


def _together(base_url: str, deadline: Deadline | None = None, **overrides: float) -> TogetherClient:
    settings = {"connect_timeout": 0.5, "read_timeout": 0.5, "max_retries": 2, "backoff_factor": 0.0, **overrides}
    return TogetherClient(UpstreamSettings(base_url=base_url, **settings), deadline=deadline)  # type: ignore[arg-type]


def _retry_warnings() -> list[str]:
    return [text for text in COLLECTOR.texts if "Retrying" in text and "connection broken" in text]


# -- redaction -----------------------------------------------------------------------------------------------------


def _post_to_webhook(url: str) -> None:
    with pytest.raises(DeliveryError):
        SlackWebhookClient(lambda: url, SlackWebhookSettings(connect_timeout=0.5, read_timeout=0.5)).post({"text": "x"})


def _post_to_response_url(url: str) -> None:
    with pytest.raises(SlackResponseError):
        SlackResponder(["127.0.0.1"], allow_http=True, connect_timeout=0.5, read_timeout=0.5).post(url, {"text": "x"})


@pytest.mark.parametrize(
    ("path", "send"),
    [
        ("/services/T0RELAY01/B0RELAY01/{secret}", _post_to_webhook),
        ("/commands/T0RELAY01/1000000001/{secret}", _post_to_response_url),
        ("/any/capability/{secret}", _post_to_response_url),
    ],
    ids=["webhook", "response-url", "response-url-any-path"],
)
def test_a_capability_url_never_reaches_urllib3s_retry_warning(path: str, send: Callable[[str], None]) -> None:
    # Given a capability URL on a loopback port where nothing listens
    secret = "capability-" + secrets.token_urlsafe(12)
    COLLECTOR.register_secret(secret, KEY)
    url = f"http://127.0.0.1:{_closed_port()}{path.format(secret=secret)}"
    # When a client sends to it and urllib3 retries the refused connection
    send(url)
    # Then urllib3 did log its retry warning, with the path redacted
    warnings = _retry_warnings()
    assert warnings, "urllib3 logged no connect retry: the test did not exercise the leak"
    assert all(REDACTED in text for text in warnings)
    # And the suite-wide sweep finds the secret nowhere
    assert not COLLECTOR.leak_sources()


def test_togethers_key_never_reaches_urllib3s_retry_warning() -> None:
    # Together's URL is no credential; its key travels in a header, which urllib3 does not log
    COLLECTOR.register_secret(KEY)
    with pytest.raises(errors.UpstreamUnavailableError):
        _together(f"http://127.0.0.1:{_closed_port()}/v1").get_endpoint(ENDPOINT_ID, KEY)
    assert _retry_warnings(), "urllib3 logged no connect retry: the test did not exercise the leak"
    assert not COLLECTOR.leak_sources()


# -- deadline ------------------------------------------------------------------------------------------------------


@pytest.fixture
def sim(together: TogetherSimulator) -> TogetherSimulator:
    together.put(make_endpoint(ENDPOINT_ID))
    return together


def _armed(seconds: float) -> Deadline:
    deadline = Deadline(FakeClock())  # a clock that stands still: what is left is exactly ``seconds``
    deadline.arm(int(seconds * 1000))
    return deadline


def test_a_request_that_cannot_start_raises_deadline_exceeded_and_sends_nothing(sim: TogetherSimulator) -> None:
    with pytest.raises(errors.DeadlineExceededError):
        _together(sim.base_url, _armed(0.01)).get_endpoint(ENDPOINT_ID, KEY)
    assert sim.call_count(ENDPOINT_ID) == 0


def test_a_retry_whose_worst_case_no_longer_fits_is_not_started(sim: TogetherSimulator) -> None:
    # Given upstream fails twice, and the client would retry twice
    sim.inject(Fault(status=503), Fault(status=503))
    # When 0.9 s are left and one attempt may take 0.5 s connect + 0.5 s read
    with pytest.raises(errors.UpstreamUnavailableError):
        _together(sim.base_url, _armed(0.9)).get_endpoint(ENDPOINT_ID, KEY)
    # Then the first failure stands: no retry was started
    assert sim.call_count(ENDPOINT_ID) == 1


def test_a_retry_that_fits_is_made(sim: TogetherSimulator) -> None:
    sim.inject(Fault(status=503), Fault(status=503))
    _, endpoint = _together(sim.base_url, _armed(5.0)).get_endpoint(ENDPOINT_ID, KEY)
    assert endpoint.id == ENDPOINT_ID
    assert sim.call_count(ENDPOINT_ID) == 3


def test_the_read_timeout_is_capped_by_what_is_left(sim: TogetherSimulator) -> None:
    # Given upstream answers after 1.5 s, inside the client's own 5 s read timeout
    sim.inject(*[Fault(status=200, delay=1.5)] * 3)
    # When only 0.5 s are left, the request times out instead of outliving the invocation
    with pytest.raises(errors.UpstreamTimeoutError):
        _together(sim.base_url, _armed(0.5), read_timeout=5.0).get_endpoint(ENDPOINT_ID, KEY)
    assert sim.call_count(ENDPOINT_ID) == 1


def test_a_webhook_post_without_time_left_stays_owed() -> None:
    client = SlackWebhookClient(lambda: f"http://127.0.0.1:{_closed_port()}/services/T0/B0/x", deadline=_armed(0.0))
    with pytest.raises(DeliveryError) as caught:
        client.post({"text": "x"})
    assert (caught.value.kind, caught.value.permanent) == ("deadline_exceeded", False)


def test_a_response_url_post_without_time_left_is_worth_retrying() -> None:
    responder = SlackResponder(["127.0.0.1"], allow_http=True, deadline=_armed(0.0))
    with pytest.raises(SlackResponseError):
        responder.post(f"http://127.0.0.1:{_closed_port()}/commands/T0/1/x", {"text": "x"})
