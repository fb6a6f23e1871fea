"""The one way the relay speaks HTTP: a pooled urllib3 client with bounded retries, a time budget and redaction.

- Retries are urllib3's ``Retry``, extended to give up (rather than sleep) on a Retry-After longer
  than the caller accepts, and to start no retry whose worst case no longer fits the ``Deadline``.
- Every failure below HTTP (refused, reset, timed out, garbled) is one ``TransportError`` whose
  ``kind`` says which, so each client maps it to its own error type in one line.
- Capability URLs (Slack's webhook and response_url) are credentials in their path. urllib3 logs
  request paths at DEBUG and connect retries at WARNING; one filter on its loggers rewrites them.
"""

from __future__ import annotations

import logging
import math
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

import urllib3
from urllib3.exceptions import (
    HTTPError,
    InvalidHeader,
    MaxRetryError,
    NewConnectionError,
    ResponseError,
)
from urllib3.exceptions import TimeoutError as Urllib3TimeoutError
from urllib3.util.retry import Retry

from endpoint_relay.core.deadline import Deadline

USER_AGENT = "endpoint-relay/1"
REDACTED = "<redacted>"


# -- failures ------------------------------------------------------------------------------------------------------


class TransportKind(StrEnum):
    TIMEOUT = "timeout"
    CONNECTION = "connection"
    """Nothing was sent: refused, unreachable, name not resolved."""
    PROTOCOL = "protocol"
    """The exchange broke after it started: reset, cut short, not HTTP."""

    @property
    def error_kind(self) -> str:
        """The relay's label for metrics and delivery errors: ``timeout`` or ``unavailable``."""
        return "timeout" if self is TransportKind.TIMEOUT else "unavailable"


class TransportError(Exception):
    def __init__(self, kind: TransportKind) -> None:
        super().__init__(f"HTTP transport failed ({kind})")
        self.kind = kind


class RetryAfterTooLongError(Exception):
    """The server asked to come back later than the caller accepts; nothing was retried."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"retry after {seconds:.0f}s")
        self.seconds = seconds


def classify(exc: BaseException | None) -> TransportKind:
    """Timeout, connection or protocol, for any urllib3 failure (a MaxRetryError is judged by its reason)."""
    if isinstance(exc, MaxRetryError):
        exc = exc.reason
    # NewConnectionError subclasses ConnectTimeoutError, but a refused connection is not slow.
    if isinstance(exc, NewConnectionError):
        return TransportKind.CONNECTION
    if isinstance(exc, Urllib3TimeoutError):
        return TransportKind.TIMEOUT
    return TransportKind.PROTOCOL


# -- retries -------------------------------------------------------------------------------------------------------


class BudgetedRetry(Retry):
    """urllib3 Retry that refuses to sleep past the caller's limits.

    Stock Retry either sleeps the full Retry-After or clamps it and retries anyway;
    we give up and tell the caller when to come back. A garbled Retry-After falls
    back to exponential backoff instead of raising. With a ``Deadline``, a retry
    whose wait plus one more attempt would not fit is not started: the last failure
    stands, as if the retries were used up.
    """

    def __init__(
        self,
        *args: Any,
        max_retry_after: float = 3.0,
        deadline: Deadline | None = None,
        attempt_seconds: float = 0.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.max_retry_after = max_retry_after
        self.deadline = deadline
        self.attempt_seconds = attempt_seconds

    def new(self, **kw: Any) -> BudgetedRetry:
        kw.setdefault("max_retry_after", self.max_retry_after)
        kw.setdefault("deadline", self.deadline)
        kw.setdefault("attempt_seconds", self.attempt_seconds)
        return super().new(**kw)

    def get_retry_after(self, response: urllib3.BaseHTTPResponse) -> float | None:
        try:
            return super().get_retry_after(response)
        except InvalidHeader:
            return None

    def sleep_for_retry(self, response: urllib3.BaseHTTPResponse) -> bool:
        retry_after = self.get_retry_after(response)
        if retry_after is not None and retry_after > self.max_retry_after:
            raise RetryAfterTooLongError(retry_after)
        return super().sleep_for_retry(response)

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: urllib3.BaseHTTPResponse | None = None,
        error: Exception | None = None,
        _pool: Any = None,
        _stacktrace: Any = None,
    ) -> BudgetedRetry:
        retry: BudgetedRetry = super().increment(method, url, response, error, _pool, _stacktrace)
        if retry.deadline is not None and not retry.deadline.allows(retry._next_wait(response) + retry.attempt_seconds):
            reason = error or ResponseError(f"no time left to retry after status {response and response.status}")
            raise MaxRetryError(_pool, url or "", reason) from reason
        return retry

    def _next_wait(self, response: urllib3.BaseHTTPResponse | None) -> float:
        if response is not None and self.respect_retry_after_header:
            retry_after = self.get_retry_after(response)
            if retry_after is not None:
                # A Retry-After over the limit is never slept: sleep_for_retry gives up with it instead.
                return retry_after if retry_after <= self.max_retry_after else 0.0
        return self.get_backoff_time()


# -- redaction -----------------------------------------------------------------------------------------------------

_CAPABILITY_PATHS = re.compile(
    r"(?:https?://[^/\s'\"]+)?/(?:services|commands|actions)/[^\s'\"()<>]+|hooks\.slack\.com/[^\s'\"()<>]+"
)
_URLLIB3_LOGGERS = ("urllib3.connectionpool", "urllib3.util.retry", "urllib3.poolmanager", "urllib3.connection")


class CapabilityRedactor(logging.Filter):
    """Rewrites capability URLs and their paths in urllib3's log records.

    Slack's hook paths are recognised by shape; any other capability URL is
    registered by the client that sends it. Registration is bounded: a warm
    container sees a new response_url with every command.
    """

    def __init__(self, capacity: int = 64) -> None:
        super().__init__()
        self._capacity = capacity
        self._lock = threading.Lock()
        self._registered: OrderedDict[str, None] = OrderedDict()

    def register(self, url: str) -> None:
        parts = urlsplit(url)
        with self._lock:
            for secret in (url, parts.path + (f"?{parts.query}" if parts.query else ""), parts.path):
                if len(secret) > 1:
                    self._registered[secret] = None
                    self._registered.move_to_end(secret)
            while len(self._registered) > self._capacity:
                self._registered.popitem(last=False)

    def redact(self, text: str) -> str:
        with self._lock:
            secrets = sorted(self._registered, key=len, reverse=True)  # a URL before its own path
        for secret in secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return _CAPABILITY_PATHS.sub(REDACTED, text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except (TypeError, ValueError):
            return True
        redacted = self.redact(text)
        if redacted != text:
            record.msg, record.args = redacted, None
        return True


REDACTOR = CapabilityRedactor()
for _name in _URLLIB3_LOGGERS:
    logging.getLogger(_name).addFilter(REDACTOR)


# -- the client ----------------------------------------------------------------------------------------------------


class HttpClient:
    """One pool, one retry policy, fixed headers and an optional time budget for every request.

    Redirects are never followed (a redirect could carry a credential to another
    host). Responses are returned unread (``preload_content=False``): the caller
    reads, bounds and releases them.
    """

    def __init__(
        self,
        *,
        retry: BudgetedRetry,
        connect_timeout: float,
        read_timeout: float,
        headers: Mapping[str, str] | None = None,
        pool_size: int = 4,
        num_pools: int = 2,
        deadline: Deadline | None = None,
        pool: urllib3.PoolManager | None = None,
        what: str = "an HTTP request",
    ) -> None:
        self._retry = retry
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        # urllib3's per-request headers replace the pool's rather than merge, so the full set goes with each request.
        self._headers = {"User-Agent": USER_AGENT, **(headers or {})}
        self.deadline = deadline or Deadline()
        self._what = what
        self._pool = pool or urllib3.PoolManager(num_pools=num_pools, maxsize=pool_size, block=False)

    def read_timeout(self) -> float:
        """The read timeout a request starting now gets: the configured one, or what is left if less."""
        return min(self._read_timeout, self.deadline.remaining())

    def request(
        self,
        method: str,
        url: str,
        *,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        capability: bool = False,
    ) -> urllib3.BaseHTTPResponse:
        """Send one request with retries; raise TransportError, RetryAfterTooLongError or DeadlineExceededError.

        ``capability`` marks a URL that is itself a credential: it is redacted from urllib3's logs.
        """
        if capability:
            REDACTOR.register(url)
        connect = self.deadline.cap(self._connect_timeout, self._what)
        read = self.deadline.cap(self._read_timeout, self._what)
        left = self.deadline.remaining()
        # ``total`` bounds the attempt as a whole (connect plus every read) by what the invocation has left.
        timeout = urllib3.Timeout(connect=connect, read=read, total=None if math.isinf(left) else left)
        try:
            return self._pool.request(
                method,
                url,
                body=body,
                headers={**self._headers, **(headers or {})},
                timeout=timeout,
                retries=self._retry.new(deadline=self.deadline, attempt_seconds=connect + read),
                redirect=False,
                preload_content=False,
            )
        except (MaxRetryError, Urllib3TimeoutError, HTTPError) as exc:
            raise TransportError(classify(exc)) from None
