"""Together API client over the relay's one HTTP adapter: bounded retries and body size, typed failures."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import quote

import urllib3
from urllib3.exceptions import HTTPError, ReadTimeoutError
from urllib3.exceptions import TimeoutError as Urllib3TimeoutError

from endpoint_relay.adapters.http import (
    BudgetedRetry,
    HttpClient,
    RetryAfterTooLongError,
    TransportError,
    TransportKind,
)
from endpoint_relay.adapters.together_v2 import TogetherV2Reads
from endpoint_relay.core.deadline import Deadline
from endpoint_relay.core.endpoint_id import invalid_endpoint_id
from endpoint_relay.core.errors import (
    EndpointNotFoundError,
    InvalidQueryError,
    InvalidUpstreamResponseError,
    NotFoundError,
    UpstreamAuthError,
    UpstreamBusyError,
    UpstreamError,
    UpstreamRateLimitedError,
    UpstreamTimeoutError,
    UpstreamUnavailableError,
    V1RetiredError,
)
from endpoint_relay.core.models import Endpoint, EndpointParseError
from endpoint_relay.settings import UpstreamSettings

if TYPE_CHECKING:
    from endpoint_relay.core.v2_request import V2Request

UpstreamObserver = Callable[[float, str | None], None]
"""Called after every upstream request with (latency in ms, error kind or None)."""

_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class Refusals(NamedTuple):
    """How one API's refusals read: which 404 it is, and whether a 400 body says something worth passing on."""

    not_found: Callable[[], NotFoundError]
    explains_bad_request: bool = False
    retired_statuses: frozenset[int] = frozenset()
    """Statuses that may mean the API is gone (v1): each raises V1RetiredError (a 403 only when its code says so)."""


_V1_RETIRED_STATUSES = frozenset({403, 410})
# A 404 for one endpoint is that endpoint's; for the list, it is the API's.
_V1_REFUSALS = Refusals(
    not_found=lambda: EndpointNotFoundError("endpoint not found", param="endpointId"),
    retired_statuses=_V1_RETIRED_STATUSES,
)
_V1_LIST_REFUSALS = Refusals(not_found=_V1_REFUSALS.not_found, retired_statuses=_V1_RETIRED_STATUSES | {404})
_HARDWARE_REFUSALS = Refusals(not_found=lambda: NotFoundError("Together has no hardware list", param=None))
V1_RETIRED_CODE = "endpoints_v1_create_access_disabled"
"""The code of Together's 403 once an organisation's v1 endpoint access is switched off."""


class TogetherClient(TogetherV2Reads):
    def __init__(
        self,
        config: UpstreamSettings,
        *,
        pool_size: int = 10,
        pool: urllib3.PoolManager | None = None,
        observer: UpstreamObserver | None = None,
        deadline: Deadline | None = None,
    ) -> None:
        self._config = config
        self._base_url = config.base_url.rstrip("/")
        self._v2_base_url = config.v2_base_url
        self._observer = observer
        self._retry = BudgetedRetry(
            total=config.max_retries,
            connect=config.max_retries,
            read=config.max_retries,
            status=config.max_retries,
            other=0,
            redirect=False,
            allowed_methods=frozenset({"GET"}),
            status_forcelist=_RETRY_STATUSES,
            backoff_factor=config.backoff_factor,
            backoff_max=config.max_retry_after,
            raise_on_status=False,
            respect_retry_after_header=True,
            max_retry_after=config.max_retry_after,
        )
        self._http = HttpClient(
            retry=self._retry,
            connect_timeout=config.connect_timeout,
            read_timeout=config.read_timeout,
            headers={"Accept": "application/json"},
            pool_size=pool_size,
            num_pools=4,
            deadline=deadline,
            pool=pool,
            what="calling Together",
        )

    def get_endpoint(self, endpoint_id: str, api_key: str) -> tuple[str, Endpoint]:
        # The id was validated by the caller; quoting is belt and braces.
        segment = quote(endpoint_id, safe="")
        if segment in ("", ".", ".."):
            # Quoting keeps dots, and urllib3 resolves dot segments: /endpoints/.. would request /v1/.
            raise invalid_endpoint_id()

        def parse(body: str) -> tuple[str, Endpoint]:
            try:
                endpoint = Endpoint.from_json(body)
            except EndpointParseError as exc:
                raise InvalidUpstreamResponseError("upstream sent an endpoint the relay cannot read") from exc
            if endpoint.id != endpoint_id:
                raise InvalidUpstreamResponseError("upstream answered for a different endpoint id")
            return body, endpoint

        return self._get(f"{self._base_url}/endpoints/{segment}", api_key, parse)

    def list_endpoint_ids(self, api_key: str) -> list[str]:
        """Ids of the organisation's dedicated endpoints (list items lack autoscaling)."""
        return self._get(f"{self._base_url}/endpoints?type=dedicated", api_key, _endpoint_ids, _V1_LIST_REFUSALS)

    def list_v1_hardware(self, api_key: str) -> str:
        """The raw ``GET /v1/hardware`` body: each hardware id with its ``pricing.cents_per_minute``."""
        return self._get(f"{self._base_url}/hardware", api_key, _identity, _HARDWARE_REFUSALS)

    def _get_v2[T](self, request: V2Request, api_key: str, parse: Callable[[str], T]) -> T:
        from endpoint_relay.core.v2_resources import not_found  # v2 stays off a v1 lookup's cold start

        refusals = Refusals(not_found=lambda: not_found(request), explains_bad_request=True)
        return self._get(self._v2_base_url + request.target, api_key, parse, refusals)

    def _get[T](self, url: str, api_key: str, parse: Callable[[str], T], refusals: Refusals = _V1_REFUSALS) -> T:
        # Parsing is inside the observed span, so unreadable answers count as upstream errors by kind.
        started = time.perf_counter()
        error_kind: str | None = None
        try:
            return parse(self._request(url, api_key, refusals))
        except (UpstreamError, NotFoundError, InvalidQueryError) as exc:
            error_kind = exc.kind if isinstance(exc, UpstreamError) else None
            raise
        finally:
            if self._observer is not None:
                self._observer((time.perf_counter() - started) * 1000.0, error_kind)

    def _request(self, url: str, api_key: str, refusals: Refusals) -> str:
        try:
            response = self._http.request("GET", url, headers={"Authorization": f"Bearer {api_key}"})
        except RetryAfterTooLongError as exc:
            raise UpstreamBusyError(
                "Together asked the relay to retry later", retry_after=_whole_seconds(exc.seconds)
            ) from None
        except TransportError as exc:
            raise _transport_error(exc.kind) from None
        try:
            return self._read_answer(response, refusals)
        finally:
            if not response.closed:
                # A body left partly unread (refused, too big, timed out) would be read as the next
                # answer on this pooled connection: drop the connection instead of reusing it.
                response.close()
            response.release_conn()

    def _read_answer(self, response: urllib3.BaseHTTPResponse, refusals: Refusals) -> str:
        status = response.status
        if status == 200:
            return self._read_capped(response)
        if status == 400 and refusals.explains_bad_request:
            from endpoint_relay.core.v2_errors import bad_request

            raise bad_request(self._read_capped(response))
        if status in refusals.retired_statuses:
            retired = status != 403 or _error_code(self._read_capped(response)) == V1_RETIRED_CODE
            if retired:
                raise V1RetiredError(f"Together's v1 endpoint API answered {status}: it is retired")
        response.drain_conn()
        if status == 404:
            raise refusals.not_found()
        if status in (401, 403):
            raise UpstreamAuthError("Together rejected the relay's API key")
        retry_after = self._retry.get_retry_after(response)
        if status == 429:
            raise UpstreamRateLimitedError(
                "Together is rate limiting the relay", retry_after=_whole_seconds(retry_after or 1.0)
            )
        if status == 503 and retry_after is not None:
            raise UpstreamBusyError("Together is temporarily unavailable", retry_after=_whole_seconds(retry_after))
        if status >= 500:
            raise UpstreamUnavailableError(f"Together answered {status}")
        if 300 <= status < 400:
            raise InvalidUpstreamResponseError("Together answered with a redirect, which the relay does not follow")
        raise InvalidUpstreamResponseError(f"Together answered with unexpected status {status}")

    def _read_capped(self, response: urllib3.BaseHTTPResponse) -> str:
        limit = self._config.max_response_bytes
        declared = response.headers.get("Content-Length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise InvalidUpstreamResponseError("Together's answer is larger than the relay accepts")
        chunks: list[bytes] = []
        size = 0
        # The read timeout bounds each socket read, not the body: a server dripping a byte at a time
        # could hold us until Lambda times out. read1 returns after one socket read, so the whole
        # body must arrive within one read timeout.
        give_up_at = time.monotonic() + self._http.read_timeout()
        try:
            while chunk := response.read1(64 * 1024):
                size += len(chunk)
                if size > limit:
                    raise InvalidUpstreamResponseError("Together's answer is larger than the relay accepts")
                if time.monotonic() > give_up_at:
                    raise UpstreamTimeoutError("Together did not finish its answer in time")
                chunks.append(chunk)
        except (ReadTimeoutError, Urllib3TimeoutError) as exc:
            raise UpstreamTimeoutError("Together did not answer in time") from exc
        except HTTPError as exc:
            raise UpstreamUnavailableError("the connection to Together broke mid-answer") from exc
        try:
            return b"".join(chunks).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidUpstreamResponseError("Together's answer is not UTF-8") from exc


def _error_code(body: str) -> str | None:
    try:
        envelope = json.loads(body).get("error")
    except (ValueError, AttributeError, RecursionError):
        return None
    code = envelope.get("code") if isinstance(envelope, dict) else None
    return code if isinstance(code, str) else None


def _identity(body: str) -> str:
    return body


def _endpoint_ids(body: str) -> list[str]:
    try:
        items = json.loads(body)["data"]
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        raise InvalidUpstreamResponseError("upstream sent an endpoint list the relay cannot read") from exc
    if not isinstance(items, list):
        raise InvalidUpstreamResponseError("upstream sent an endpoint list the relay cannot read")
    return [item["id"] for item in items if isinstance(item, dict) and isinstance(item.get("id"), str)]


def _transport_error(kind: TransportKind) -> UpstreamError:
    if kind is TransportKind.TIMEOUT:
        return UpstreamTimeoutError("Together did not answer in time")
    return UpstreamUnavailableError("could not reach Together")


def _whole_seconds(seconds: float) -> int:
    return max(1, int(seconds + 0.999))
