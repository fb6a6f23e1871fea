"""Relay caller tokens: the secret stores SHA-256 hex digests, never the tokens."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


def token_is_valid(token: str | None, allowed_digests: Iterable[str]) -> bool:
    if not token:
        return False
    presented = token_digest(token)
    matched = False
    # Compare against every digest so timing does not reveal which one matched.
    for digest in allowed_digests:
        matched |= hmac.compare_digest(presented, digest.lower())
    return matched
