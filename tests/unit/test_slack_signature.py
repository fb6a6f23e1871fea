"""Slack's v0 request signatures: the published vector, tampering, the replay window and bad headers."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from endpoint_relay.core.slack_signature import (
    SignatureFailure,
    SlackSignatureError,
    SlackSignatureVerifier,
    signature,
)

# Slack's worked example, from "Verifying requests from Slack"
# (https://docs.slack.dev/authentication/verifying-requests-from-slack).
DOC_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
DOC_TIMESTAMP = "1531420618"
DOC_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
    b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
    b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
DOC_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
DOC_NOW = float(DOC_TIMESTAMP)


def _verifier(now: float = DOC_NOW) -> SlackSignatureVerifier:
    return SlackSignatureVerifier(clock=lambda: now)


def _headers(timestamp: str = DOC_TIMESTAMP, sig: str = DOC_SIGNATURE) -> dict[str, str]:
    return {"x-slack-request-timestamp": timestamp, "x-slack-signature": sig}


def _failure(verifier: SlackSignatureVerifier, headers: dict[str, str], body: bytes, secret: str | None) -> str:
    with pytest.raises(SlackSignatureError) as caught:
        verifier.verify(headers, body, secret)
    return caught.value.reason


def test_published_test_vector_reproduces_and_verifies() -> None:
    # Given Slack's documented secret, timestamp and body
    # When the relay computes and checks the signature
    # Then it reproduces Slack's documented value, and the request verifies
    assert signature(DOC_SECRET, DOC_TIMESTAMP, DOC_BODY) == DOC_SIGNATURE
    verified = _verifier().verify(_headers(), DOC_BODY, DOC_SECRET)
    # And the caller learns which request it was, and until when the same bytes would verify again
    assert verified.signature == DOC_SIGNATURE
    assert verified.replayable_until == int(DOC_TIMESTAMP) + 300


@pytest.mark.parametrize(
    "tampered",
    [
        DOC_BODY.replace(b"text=", b"text=mute+endpoint-x+7d"),
        DOC_BODY + b"&",
        DOC_BODY[:-1],
        DOC_BODY.replace(b"T1DC2JH3J", b"T1DC2JH3K", 1),
        b"",
    ],
    ids=["text-added", "byte-appended", "byte-removed", "team-changed", "empty"],
)
def test_tampered_body_is_refused(tampered: bytes) -> None:
    assert _failure(_verifier(), _headers(), tampered, DOC_SECRET) == SignatureFailure.MISMATCH


def test_wrong_secret_is_refused() -> None:
    assert _failure(_verifier(), _headers(), DOC_BODY, DOC_SECRET + "x") == SignatureFailure.MISMATCH


@pytest.mark.parametrize(
    ("offset", "reason"),
    [(301, SignatureFailure.TIMESTAMP_TOO_OLD), (-301, SignatureFailure.TIMESTAMP_IN_FUTURE)],
    ids=["301s-old", "301s-in-future"],
)
def test_timestamp_more_than_five_minutes_away_is_refused(offset: int, reason: SignatureFailure) -> None:
    # Given a correctly signed request whose timestamp is 301 s from the verifier's clock
    verifier = _verifier(now=DOC_NOW + offset)
    # Then it is refused, though the signature itself is right
    assert _failure(verifier, _headers(), DOC_BODY, DOC_SECRET) == reason


@pytest.mark.parametrize("offset", [-300, -1, 0, 1, 300])
def test_timestamp_within_five_minutes_is_accepted(offset: int) -> None:
    _verifier(now=DOC_NOW + offset).verify(_headers(), DOC_BODY, DOC_SECRET)


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, SignatureFailure.MISSING_TIMESTAMP),
        ({"x-slack-signature": DOC_SIGNATURE}, SignatureFailure.MISSING_TIMESTAMP),
        ({"x-slack-request-timestamp": DOC_TIMESTAMP}, SignatureFailure.MISSING_SIGNATURE),
        (_headers(timestamp=""), SignatureFailure.MISSING_TIMESTAMP),
        (_headers(sig=""), SignatureFailure.MISSING_SIGNATURE),
        (_headers(sig="   "), SignatureFailure.MISSING_SIGNATURE),
    ],
    ids=["none", "no-timestamp", "no-signature", "empty-timestamp", "empty-signature", "blank-signature"],
)
def test_missing_headers_are_refused(headers: dict[str, str], reason: SignatureFailure) -> None:
    assert _failure(_verifier(), headers, DOC_BODY, DOC_SECRET) == reason


@pytest.mark.parametrize(
    "timestamp",
    ["abc", "1531420618.0", "-1531420618", "+1531420618", "1531420618x", "1e9", "0x5B4794CA", "١٥٣١٤٢٠٦١٨", "1" * 13],
    ids=["letters", "decimal", "negative", "plus", "suffix", "exponent", "hex", "arabic-digits", "too-long"],
)
def test_non_numeric_timestamp_is_refused(timestamp: str) -> None:
    assert _failure(_verifier(), _headers(timestamp=timestamp), DOC_BODY, DOC_SECRET) == (
        SignatureFailure.MALFORMED_TIMESTAMP
    )


@pytest.mark.parametrize(
    "presented",
    [DOC_SIGNATURE.replace("v0=", "v1="), DOC_SIGNATURE.replace("v0=", "V0="), DOC_SIGNATURE[3:], "sha256=abc"],
    ids=["v1", "upper-v0", "bare-hex", "other-scheme"],
)
def test_other_signature_versions_are_refused(presented: str) -> None:
    assert _failure(_verifier(), _headers(sig=presented), DOC_BODY, DOC_SECRET) == SignatureFailure.UNSUPPORTED_VERSION


@pytest.mark.parametrize(
    "presented",
    [DOC_SIGNATURE[:-1], DOC_SIGNATURE + "0", DOC_SIGNATURE.upper().replace("V0=", "v0="), "v0=ünïcödé", "v0="],
    ids=["short", "long", "upper-hex", "non-ascii", "empty-digest"],
)
def test_garbled_signature_is_refused(presented: str) -> None:
    assert _failure(_verifier(), _headers(sig=presented), DOC_BODY, DOC_SECRET) == SignatureFailure.MISMATCH


@pytest.mark.parametrize(
    ("timestamp_name", "signature_name"),
    [
        ("X-Slack-Request-Timestamp", "X-Slack-Signature"),
        ("X-SLACK-REQUEST-TIMESTAMP", "X-SLACK-SIGNATURE"),
        ("x-slack-request-timestamp", "X-Slack-Signature"),
    ],
    ids=["canonical", "upper", "mixed"],
)
def test_header_names_are_case_insensitive(timestamp_name: str, signature_name: str) -> None:
    headers = {timestamp_name: DOC_TIMESTAMP, signature_name: DOC_SIGNATURE}
    _verifier().verify(headers, DOC_BODY, DOC_SECRET)


def test_secret_is_fetched_only_after_the_cheap_checks_pass() -> None:
    # Given a secret source that counts how often it is read
    reads: list[int] = []

    def secret() -> str:
        reads.append(1)
        return DOC_SECRET

    # When requests with bad headers arrive, the secret is not read at all
    for headers in ({}, _headers(timestamp="x"), _headers(sig="v1=00")):
        with pytest.raises(SlackSignatureError):
            _verifier().verify(headers, DOC_BODY, secret)
    assert reads == []
    # And a well-formed request reads it once
    _verifier().verify(_headers(), DOC_BODY, secret)
    assert reads == [1]


@pytest.mark.parametrize("secret", [None, ""], ids=["none", "empty"])
def test_missing_signing_secret_refuses_everything(secret: str | None) -> None:
    assert _failure(_verifier(), _headers(), DOC_BODY, secret) == SignatureFailure.NO_SIGNING_SECRET


def test_failures_say_nothing_in_their_error_data() -> None:
    # Every reason renders the same bare 401 body: the reason is for logs only.
    bodies = {SlackSignatureError(reason).body() for reason in SignatureFailure}
    assert bodies == {
        '{"error":{"message":"unauthorized","type":"authentication_error","param":null,"code":"invalid_signature"}}'
    }
    assert SlackSignatureError(SignatureFailure.MISMATCH).status == 401


@settings(deadline=None)  # no per-example deadline: the machine is shared and noisy
@given(body=st.binary(max_size=2048), position=st.integers(min_value=0), flip=st.integers(min_value=1, max_value=255))
def test_any_byte_flip_breaks_the_signature(body: bytes, position: int, flip: int) -> None:
    # Given any body signed by Slack
    secret = "a-signing-secret"
    headers = _headers(sig=signature(secret, DOC_TIMESTAMP, body))
    _verifier().verify(headers, body, secret)
    if not body:
        return
    # When any one byte is changed
    index = position % len(body)
    tampered = body[:index] + bytes([body[index] ^ flip]) + body[index + 1 :]
    # Then the signature no longer matches
    with pytest.raises(SlackSignatureError) as caught:
        _verifier().verify(headers, tampered, secret)
    assert caught.value.reason == SignatureFailure.MISMATCH


@settings(deadline=None)  # no per-example deadline: the machine is shared and noisy
@given(skew=st.integers(min_value=-10_000, max_value=10_000))
def test_window_is_symmetric_and_five_minutes_wide(skew: int) -> None:
    headers = _headers()
    verifier = _verifier(now=DOC_NOW + skew)
    if abs(skew) <= 300:
        verifier.verify(headers, DOC_BODY, DOC_SECRET)
    else:
        with pytest.raises(SlackSignatureError):
            verifier.verify(headers, DOC_BODY, DOC_SECRET)
