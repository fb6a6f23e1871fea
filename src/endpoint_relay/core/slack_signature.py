"""Slack request signatures (scheme v0): is this request really from our Slack app?

``X-Slack-Signature`` is ``v0=`` + hex HMAC-SHA256 of ``v0:{timestamp}:{raw body}``,
keyed with the app's signing secret. The timestamp must be within five minutes
of now, in either direction, so a captured request cannot be replayed later;
within that window the caller refuses a signature's second use (``REPLAYED``).

The failure reason is typed for logs; callers only ever learn "401".
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from endpoint_relay.core.errors import SlackSignatureError

__all__ = ["SignatureFailure", "SlackSignatureError", "SlackSignatureVerifier", "signature"]

SIGNATURE_HEADER = "x-slack-signature"
TIMESTAMP_HEADER = "x-slack-request-timestamp"
VERSION = "v0"
TOLERANCE_SECONDS = 300
"""Slack's documented replay window: five minutes."""

# ASCII digits only: int() would also accept "+1", " 1", "1_0" and non-ASCII digits.
_TIMESTAMP = re.compile(r"[0-9]{1,12}")


class SignatureFailure(StrEnum):
    MISSING_TIMESTAMP = "missing_timestamp"
    MISSING_SIGNATURE = "missing_signature"
    MALFORMED_TIMESTAMP = "malformed_timestamp"
    TIMESTAMP_TOO_OLD = "timestamp_too_old"
    TIMESTAMP_IN_FUTURE = "timestamp_in_future"
    UNSUPPORTED_VERSION = "unsupported_version"
    MISMATCH = "mismatch"
    NO_SIGNING_SECRET = "no_signing_secret"  # noqa: S105 - a reason name, not a credential
    MALFORMED_BODY = "malformed_body"
    REPLAYED = "replayed"


def signature(signing_secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Slack-Signature`` value Slack would send for this timestamp and body."""
    base = f"{VERSION}:{timestamp}:".encode("ascii") + body
    digest = hmac.new(signing_secret.encode("utf-8"), base, hashlib.sha256).hexdigest()
    return f"{VERSION}={digest}"


SecretSource = str | None | Callable[[], str | None]
"""The signing secret, or a callable fetching it (only once the cheap header checks passed)."""


@dataclass(frozen=True, slots=True)
class VerifiedRequest:
    signature: str
    """The request's ``X-Slack-Signature``: it names this one request (its timestamp and body)."""
    replayable_until: int
    """When its timestamp leaves the window; until then the same bytes would verify again."""


class SlackSignatureVerifier:
    def __init__(self, *, clock: Callable[[], float] = time.time, tolerance: int = TOLERANCE_SECONDS) -> None:
        self._clock = clock
        self._tolerance = tolerance

    def verify(self, headers: Mapping[str, str], body: bytes, signing_secret: SecretSource) -> VerifiedRequest:
        """The request, if ``body`` was signed by Slack just now; raise SlackSignatureError otherwise."""
        timestamp, presented = self._checked_headers(headers)
        secret = signing_secret() if callable(signing_secret) else signing_secret
        if not secret:
            raise SlackSignatureError(SignatureFailure.NO_SIGNING_SECRET)
        expected = signature(secret, timestamp, body).encode("ascii")
        # Constant time; bytes because compare_digest refuses non-ASCII str.
        if not hmac.compare_digest(expected, presented.encode("utf-8", "surrogatepass")):
            raise SlackSignatureError(SignatureFailure.MISMATCH)
        return VerifiedRequest(signature=presented, replayable_until=int(timestamp) + self._tolerance)

    def _checked_headers(self, headers: Mapping[str, str]) -> tuple[str, str]:
        lowered = {name.lower(): value for name, value in headers.items()}
        timestamp = (lowered.get(TIMESTAMP_HEADER) or "").strip()
        presented = (lowered.get(SIGNATURE_HEADER) or "").strip()
        if not timestamp:
            raise SlackSignatureError(SignatureFailure.MISSING_TIMESTAMP)
        if not presented:
            raise SlackSignatureError(SignatureFailure.MISSING_SIGNATURE)
        if not _TIMESTAMP.fullmatch(timestamp):
            raise SlackSignatureError(SignatureFailure.MALFORMED_TIMESTAMP)
        skew = self._clock() - int(timestamp)
        if skew > self._tolerance:
            raise SlackSignatureError(SignatureFailure.TIMESTAMP_TOO_OLD)
        if skew < -self._tolerance:
            raise SlackSignatureError(SignatureFailure.TIMESTAMP_IN_FUTURE)
        if not presented.startswith(f"{VERSION}="):
            raise SlackSignatureError(SignatureFailure.UNSUPPORTED_VERSION)
        return timestamp, presented
