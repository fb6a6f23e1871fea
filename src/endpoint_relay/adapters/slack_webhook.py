"""Slack incoming-webhook sink: Block Kit messages over urllib3, the URL read from the relay secret.

- 429 is retried after its Retry-After when that fits the budget (Slack did not post the message).
- Any other 4xx (``invalid_payload``, ``channel_not_found``, ``channel_is_archived``...) is not
  retried: the same request would fail the same way. 5xx and timeouts are not retried at once either,
  because Slack may have posted the message; the notice stays owed and the next sweep delivers it.
- The webhook URL is a credential. It is never logged: the HTTP adapter redacts it from urllib3's
  own log lines, and errors name a status and Slack's error code only.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

import urllib3
from urllib3.exceptions import HTTPError
from urllib3.exceptions import TimeoutError as Urllib3TimeoutError

from endpoint_relay.adapters.http import (
    BudgetedRetry,
    HttpClient,
    RetryAfterTooLongError,
    TransportError,
    TransportKind,
    classify,
)
from endpoint_relay.core.alerting import DeliveryError, Notice
from endpoint_relay.core.deadline import Deadline
from endpoint_relay.core.digest import Digest
from endpoint_relay.core.digest_render import slack_payload
from endpoint_relay.core.errors import DeadlineExceededError, RelayError
from endpoint_relay.core.loopback import is_secure_url
from endpoint_relay.core.slack_blocks import render_messages
from endpoint_relay.settings import SlackWebhookSettings

logger = logging.getLogger(__name__)

_SLACK_ERROR_CODE = re.compile(r"[a-z][a-z0-9_]{0,63}")
_MAX_ERROR_BODY_BYTES = 1024
_MESSAGE_ERRORS = frozenset({"invalid_payload", "invalid_blocks", "invalid_blocks_format", "no_text"})
"""Slack's codes for a fault of the one message posted (a Block Kit rule it breaks), not of the webhook."""


class SlackWebhookClient:
    def __init__(
        self,
        webhook_url: Callable[[], str | None],
        config: SlackWebhookSettings | None = None,
        *,
        pool: urllib3.PoolManager | None = None,
        deadline: Deadline | None = None,
    ) -> None:
        self._webhook_url = webhook_url
        self._config = config or SlackWebhookSettings()
        self._retry = BudgetedRetry(
            total=self._config.rate_limit_retries + 1,
            connect=1,  # nothing was sent yet: safe to try once more
            read=0,  # the message may have been posted: never resend within one attempt
            status=self._config.rate_limit_retries,
            other=0,
            redirect=False,
            allowed_methods=frozenset({"POST"}),
            status_forcelist=frozenset({429}),
            backoff_factor=0.5,
            backoff_max=self._config.max_retry_after,
            raise_on_status=False,
            respect_retry_after_header=True,
            max_retry_after=self._config.max_retry_after,
        )
        self._http = HttpClient(
            retry=self._retry,
            connect_timeout=self._config.connect_timeout,
            read_timeout=self._config.read_timeout,
            headers={"Content-Type": "application/json; charset=utf-8"},
            pool_size=2,
            deadline=deadline,
            pool=pool,
            what="posting to the Slack webhook",
        )

    def post(self, payload: dict[str, Any]) -> None:
        url = self._checked_url()
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        try:
            response = self._http.request("POST", url, body=body, capability=True)
        except RetryAfterTooLongError as exc:
            raise _failed(f"Slack asked to retry after {exc.seconds:.0f}s", "rate_limited") from None
        except TransportError as exc:
            raise _transport_failure(exc.kind) from None
        except DeadlineExceededError:
            # Not started, so not posted: the notice stays owed for the next sweep.
            raise _failed("too little time left to post to Slack", "deadline_exceeded") from None
        try:
            status = response.status
            text = response.read(_MAX_ERROR_BODY_BYTES, decode_content=True).decode("utf-8", "replace").strip()
        except (Urllib3TimeoutError, HTTPError) as exc:
            raise _transport_failure(classify(exc)) from None
        finally:
            response.release_conn()
        if 200 <= status < 300:
            return
        raise _status_failure(status, text)

    def _checked_url(self) -> str:
        try:
            url = self._webhook_url()
        except RelayError as exc:
            raise _failed("the relay secret is unavailable", exc.code or "secret_unavailable") from None
        if not url:
            raise _failed("the relay secret has no slack_webhook_url", "not_configured", permanent=True)
        parts = urlsplit(url)
        if not is_secure_url(parts) or not parts.hostname:
            raise _failed("slack_webhook_url must be an https URL", "invalid_webhook_url", permanent=True)
        return url


def _failed(message: str, kind: str, *, permanent: bool = False, status: int | None = None) -> DeliveryError:
    logger.warning(
        "Slack webhook delivery failed",
        extra={"error_kind": kind, "http_status": status, "permanent": permanent},
    )
    return DeliveryError(message, kind=kind, permanent=permanent)


def _status_failure(status: int, body: str) -> DeliveryError:
    if status == 429:
        return _failed("Slack kept rate limiting the webhook", "rate_limited", status=status)
    if 400 <= status < 500:
        # Slack answers 4xx with a bare error code: invalid_payload, channel_not_found, channel_is_archived...
        code = body if _SLACK_ERROR_CODE.fullmatch(body) else f"http_{status}"
        return _failed(f"Slack refused the message ({code})", code, permanent=True, status=status)
    if status >= 500:
        return _failed(f"Slack answered {status}", "server_error", status=status)
    return _failed(f"Slack answered with unexpected status {status}", "unexpected_status", status=status)


def _transport_failure(kind: TransportKind) -> DeliveryError:
    if kind is TransportKind.CONNECTION:
        return _failed("could not reach Slack", kind.error_kind)
    if kind is TransportKind.TIMEOUT:
        return _failed("Slack did not answer in time", kind.error_kind)
    return _failed("the connection to Slack failed", kind.error_kind)


class SlackSink:
    """Packs notices into as few Block Kit messages as Slack's limits allow, and posts them."""

    name = "slack"

    def __init__(self, client: SlackWebhookClient, console_url: Callable[[str], str]) -> None:
        self._client = client
        self._console_url = console_url

    def deliver(self, notices: Sequence[Notice]) -> dict[str, DeliveryError | None]:
        results: dict[str, DeliveryError | None] = {notice.id: None for notice in notices}
        blocking: DeliveryError | None = None
        for message in render_messages(notices, self._console_url):
            if blocking is None:
                try:
                    self._client.post(message.payload)
                    continue
                except DeliveryError as exc:
                    # Only a bad payload is specific to one message; anything else will fail the rest too.
                    blocking = None if exc.kind in _MESSAGE_ERRORS else exc
                    error = exc
            else:
                error = blocking
            for notice_id in message.notice_ids:
                results[notice_id] = error
        return results

    def deliver_digest(self, digest: Digest) -> DeliveryError | None:
        """The daily digest, as one message."""
        try:
            self._client.post(slack_payload(digest))
        except DeliveryError as exc:
            return exc
        return None
