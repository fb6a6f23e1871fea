"""Relay caller tokens: bearer parsing and digest comparison."""

from __future__ import annotations

import hashlib

import pytest

from endpoint_relay.core.tokens import bearer_token, token_digest, token_is_valid

TOKEN = "relay-3f1c0d2b9a8e7f6a"
OTHER = "relay-0000000000000000"


def test_digest_is_the_lowercase_sha256_hex_of_the_utf8_token() -> None:
    assert token_digest(TOKEN) == hashlib.sha256(TOKEN.encode("utf-8")).hexdigest()
    assert token_digest("ключ") == hashlib.sha256("ключ".encode()).hexdigest()
    assert token_digest(TOKEN) == token_digest(TOKEN).lower()
    assert len(token_digest(TOKEN)) == 64


@pytest.mark.parametrize(
    ("header", "token"),
    [
        (f"Bearer {TOKEN}", TOKEN),
        (f"bearer {TOKEN}", TOKEN),
        (f"BEARER {TOKEN}", TOKEN),
        (f"  Bearer   {TOKEN}  ", TOKEN),
        ("Bearer a b", "a b"),
    ],
    ids=["canonical", "lower", "upper", "padded", "inner-space"],
)
def test_bearer_token_is_extracted(header: str, token: str) -> None:
    assert bearer_token(header) == token


@pytest.mark.parametrize(
    "header",
    [None, "", "   ", "Bearer", "Bearer ", "Bearer    ", f"Basic {TOKEN}", TOKEN, f"Token {TOKEN}", f"Bearer\t{TOKEN}"],
    ids=["none", "empty", "blank", "scheme-only", "scheme-space", "scheme-spaces", "basic", "bare", "token", "tab"],
)
def test_headers_without_a_bearer_token_give_none(header: str | None) -> None:
    assert bearer_token(header) is None


def test_a_token_matching_one_of_the_digests_is_valid() -> None:
    digests = [token_digest(OTHER), token_digest(TOKEN)]
    assert token_is_valid(TOKEN, digests)
    assert token_is_valid(OTHER, digests)


def test_digests_stored_in_uppercase_still_match() -> None:
    assert token_is_valid(TOKEN, [token_digest(TOKEN).upper()])


def test_digests_accept_any_iterable_once() -> None:
    assert token_is_valid(TOKEN, (digest for digest in [token_digest(OTHER), token_digest(TOKEN)]))


@pytest.mark.parametrize(
    ("token", "digests"),
    [
        (None, [token_digest(TOKEN)]),
        ("", [token_digest(TOKEN)]),
        (TOKEN, []),
        (OTHER, [token_digest(TOKEN)]),
        (TOKEN.upper(), [token_digest(TOKEN)]),
        (TOKEN + " ", [token_digest(TOKEN)]),
        (token_digest(TOKEN), [token_digest(TOKEN)]),
    ],
    ids=["none", "empty", "no-digests", "other", "case-changed", "trailing-space", "digest-as-token"],
)
def test_anything_else_is_invalid(token: str | None, digests: list[str]) -> None:
    assert not token_is_valid(token, digests)
