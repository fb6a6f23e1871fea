"""Posts a slash command's delayed answer to its response_url.

Only https URLs on an allow-listed host (Slack's hooks host by default) are
ever contacted: the URL arrives in a request, and must never let anyone aim
the relay at an internal address. Redirects are not followed. The URL is a
capability for the user's channel, so it is never logged.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Mapping
from typing import Any
from urllib.parse import urlsplit

import urllib3

from endpoint_relay.adapters.http import BudgetedRetry, HttpClient, RetryAfterTooLongError, TransportError
from endpoint_relay.core.deadline import Deadline
from endpoint_relay.core.errors import DeadlineExceededError
from endpoint_relay.core.slack_followup import AnswerRefusedError

logger = logging.getLogger(__name__)

_RETRY_STATUSES = frozenset({429})
"""Only a 429 says the post was not taken. After a 5xx Slack may already show the answer, and a
response_url allows five uses: the relay posts each answer at most once and reports the rest."""
_UNCERTAIN_STATUSES = frozenset({500, 502, 503, 504})
_MAX_RETRY_AFTER = 2.0


class ResponseUrlRejectedError(AnswerRefusedError, ValueError):
    """The response_url is not an https URL on an allowed host."""


class SlackResponseError(Exception):
    """Slack did not take the answer, even after retries; worth trying again later."""


class SlackResponseRefusedError(SlackResponseError, AnswerRefusedError):
    """Slack refused the answer for good (for example an expired response_url): do not retry."""


class SlackResponder:
    def __init__(
        self,
        allowed_hosts: Collection[str] = ("hooks.slack.com",),
        *,
        allow_http: bool = False,
        pool: urllib3.PoolManager | None = None,
        connect_timeout: float = 2.0,
        read_timeout: float = 5.0,
        max_retries: int = 2,
        deadline: Deadline | None = None,
    ) -> None:
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._max_retries = max_retries
        self._allowed_hosts = frozenset(host.lower() for host in allowed_hosts)
        self._schemes = frozenset({"https", "http"} if allow_http else {"https"})
        retry = BudgetedRetry(
            total=max_retries,
            connect=max_retries,
            read=0,  # the POST may have been delivered; a read retry could show the answer twice
            status=max_retries,
            other=0,
            redirect=False,
            allowed_methods=frozenset({"POST"}),
            status_forcelist=_RETRY_STATUSES,
            backoff_factor=0.2,
            backoff_max=_MAX_RETRY_AFTER,
            raise_on_status=False,
            respect_retry_after_header=True,
            max_retry_after=_MAX_RETRY_AFTER,
        )
        self._http = HttpClient(
            retry=retry,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            headers={"Content-Type": "application/json; charset=utf-8"},
            deadline=deadline,
            pool=pool,
            what="posting to the response_url",
        )

    def worst_case_seconds(self) -> float:
        """What to keep back for one answer: a connect retry and one full attempt (later retries are capped)."""
        return 2 * self._connect_timeout + self._read_timeout

    def is_allowed(self, url: str) -> bool:
        try:
            parts = urlsplit(url)
            host = (parts.hostname or "").lower()
            _ = parts.port  # raises ValueError for a garbled port
        except ValueError:
            return False
        return (
            parts.scheme in self._schemes
            and host in self._allowed_hosts
            and not parts.username
            and not parts.password
            and not any(char.isspace() or ord(char) < 0x20 for char in url)
        )

    def post(self, url: str, message: Mapping[str, Any]) -> None:
        if not self.is_allowed(url):
            raise ResponseUrlRejectedError("response_url is not an https URL on an allowed Slack host")
        body = json.dumps(message, separators=(",", ":")).encode("utf-8")
        try:
            response = self._http.request("POST", url, body=body, capability=True)
        except RetryAfterTooLongError:
            raise SlackResponseError("Slack asked the relay to retry later") from None
        except TransportError as exc:
            logger.warning("posting to the response_url failed", extra={"error_kind": exc.kind.error_kind})
            raise SlackResponseError("Slack could not be reached") from None
        except DeadlineExceededError:
            raise SlackResponseError("too little time left to post to Slack") from None
        status = response.status
        response.drain_conn()  # the body is only a word ("ok", "expired_url"); the connection goes back to the pool
        response.release_conn()
        if 200 <= status < 300:
            return
        logger.warning("Slack refused the response_url post", extra={"status": status})
        if status in _RETRY_STATUSES | _UNCERTAIN_STATUSES:
            raise SlackResponseError(f"Slack answered {status}")
        # 404 expired_url, 400 invalid_blocks, 410 used_url...: trying again cannot help.
        raise SlackResponseRefusedError(f"Slack answered {status}")
