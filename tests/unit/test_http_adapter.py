"""The HTTP adapter's pure parts: which failure is which, and what the log redaction rewrites."""

from __future__ import annotations

import pytest
from urllib3.exceptions import (
    ConnectTimeoutError,
    MaxRetryError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)

from endpoint_relay.adapters.http import REDACTED, CapabilityRedactor, TransportKind, classify


@pytest.mark.parametrize(
    ("failure", "kind"),
    [
        (NewConnectionError(None, "refused"), TransportKind.CONNECTION),  # type: ignore[arg-type]
        (ConnectTimeoutError(), TransportKind.TIMEOUT),
        (ReadTimeoutError(None, "/", "slow"), TransportKind.TIMEOUT),  # type: ignore[arg-type]
        (ProtocolError("reset"), TransportKind.PROTOCOL),
        (MaxRetryError(None, "/", NewConnectionError(None, "refused")), TransportKind.CONNECTION),  # type: ignore[arg-type]
        (MaxRetryError(None, "/", ReadTimeoutError(None, "/", "slow")), TransportKind.TIMEOUT),  # type: ignore[arg-type]
    ],
    ids=["refused", "connect-timeout", "read-timeout", "reset", "retries-refused", "retries-timeout"],
)
def test_every_transport_failure_is_a_timeout_a_connection_or_a_protocol_failure(
    failure: Exception, kind: TransportKind
) -> None:
    assert classify(failure) is kind


def test_only_timeouts_are_reported_as_timeouts() -> None:
    assert [kind.error_kind for kind in TransportKind] == ["timeout", "unavailable", "unavailable"]


@pytest.mark.parametrize(
    "text",
    [
        "Retrying (Retry(total=0)) after connection broken by 'x': /services/T0/B0/abcdef",
        'https://hooks.slack.com:443 "POST /commands/T0/123/abcdef HTTP/1.1" 404 11',
        "Incremented Retry for (url='/actions/T0/123/abcdef')",
        "Max retries exceeded with url: https://hooks.slack.com/services/T0/B0/abcdef",
    ],
)
def test_slack_hook_paths_are_redacted_by_shape(text: str) -> None:
    redacted = CapabilityRedactor().redact(text)
    assert "abcdef" not in redacted
    assert REDACTED in redacted


def test_a_registered_url_is_redacted_with_its_path_and_query() -> None:
    redactor = CapabilityRedactor()
    redactor.register("https://example.test/hook/secret-path?token=secret-query")
    text = redactor.redact("POST /hook/secret-path?token=secret-query and /hook/secret-path")
    assert "secret" not in text


def test_registration_is_bounded_to_the_newest_urls() -> None:
    redactor = CapabilityRedactor(capacity=6)  # a URL takes up to three entries: itself, path+query, path
    for index in range(5):
        redactor.register(f"https://example.test/hook/secret-{index}")
    assert "secret-4" not in redactor.redact("/hook/secret-4")
    assert "secret-0" in redactor.redact("/hook/secret-0")
