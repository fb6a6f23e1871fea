"""Hostile input, property-based: whatever arrives, the relay answers with ErrorData and does nothing it should not.

Hypothesis generates endpoint ids, paths, query strings, headers, Slack bodies,
Slack timestamps and signatures, and each example goes through ``lambda_handler``
against moto server and the Together simulator. Over all of them:

- never a 5xx from the relay's own code;
- never an upstream call or a secret fetch for an invalid id;
- never a signature-verification bypass (only the exact, fresh HMAC is accepted);
- never a reflected secret (checked per example, and by the autouse leak check).

Runs are derandomized, so `make test` is repeatable; `make soak` runs many more
examples. Every example is counted for the reliability report.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import operator
import time
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import pytest
from hypothesis import HealthCheck, currently_in_test_context, event, given, settings
from hypothesis import strategies as st

from devstack.events import http_event
from devstack.together_sim import TogetherSimulator, make_endpoint
from endpoint_relay.core.endpoint_id import is_valid_endpoint_id
from tests.integration.conftest import Relay
from tests.integration.slack_support import TEAM_ID, USER_ID, SlackHarness, command_event, slack_form
from tests.leakcheck import COLLECTOR
from tests.reliability.figures import SOAK, tried

pytestmark = pytest.mark.integration

EXAMPLES = 20_000 if SOAK else 1_000
HOSTILE = settings(
    max_examples=EXAMPLES,
    derandomize=True,  # the same cases on every run of `make test`
    database=None,
    deadline=None,  # a busy 2-core machine must not turn into failures; speed is the benchmarks' business
    # One relay serves all examples of a property on purpose: counters are read as deltas per example.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
KNOWN = "endpoint-d23901de-ef8f-44bf-b3e7-de9c1ca8f2d7"

# -- strategies ------------------------------------------------------------------------------------------------------

# Every Unicode scalar value (no lone surrogates: an event is JSON), weighted towards what breaks parsers:
# separators, escapes, controls, invisible and bidi characters, Cyrillic and fullwidth look-alikes of "e".
TRICKY = "-./\\%?#&=;:@!$'()*+,~ \t\r\n\x00\x7f\u0085\u00a0\u200b\u2028\u202e\ufeff\u0415\u0435\uff25\U0001f600"
text = st.one_of(
    st.text(st.characters(codec="utf-8"), max_size=120),
    st.text(st.sampled_from("endpoint-abcdefz0129ABC" + TRICKY), max_size=120),
)
near_ids = st.builds(
    lambda middle, tail: f"endpoint-{middle}{tail}",
    st.text(st.sampled_from("abcdef0123456789-"), max_size=100),
    st.text(st.sampled_from("abcz09-" + TRICKY), max_size=4),
)
endpoint_ids = st.one_of(near_ids, text, st.just(KNOWN))
header_names = st.one_of(
    st.sampled_from(
        [
            "authorization",
            "Authorization",
            "cache-control",
            "content-type",
            "cookie",
            "host",
            "x-forwarded-for",
            "x-forwarded-host",
            "x-amz-security-token",
            "x-slack-signature",
            "x-api-key",
            "proxy-authorization",
        ]
    ),
    st.text(st.sampled_from("abcxyz-_.~!#$%&'*+^`|ABC0123"), min_size=1, max_size=30),
)
headers = st.dictionaries(header_names, text, max_size=8)


# -- what holds for every answer -------------------------------------------------------------------------------------


def _upstream_requests(together: TogetherSimulator) -> int:
    return together.call_count() + together.auth_failures


def _checked(response: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
    """The status and (for errors) the ErrorData; asserts what holds for every answer."""
    status = int(response["statusCode"])
    if currently_in_test_context():
        event(f"HTTP {status}")  # the spread of answers, shown by --hypothesis-show-statistics
    assert status < 500, response  # never a 5xx from the relay's own code
    body = str(response.get("body") or "")
    shown = body + json.dumps(response.get("headers") or {})
    assert not [secret for secret in COLLECTOR.secrets if secret in shown], "a secret was reflected"
    if status < 400:
        return status, None
    error: dict[str, Any] = json.loads(body)["error"]
    assert set(error) == {"message", "type", "param", "code"}
    return status, error


# -- HTTP lookups ----------------------------------------------------------------------------------------------------


@pytest.fixture
def served(relay_env: dict[str, str], together: TogetherSimulator, request: pytest.FixtureRequest) -> Relay:
    """The relay with KNOWN cached (for longer than all examples take), so later lookups are cache hits."""
    relay_env["CACHE_TTL_SECONDS"] = "86400"
    relay: Relay = request.getfixturevalue("relay")
    together.put(make_endpoint(KNOWN))
    assert relay.get(f"/v1/endpoints/{KNOWN}")["statusCode"] == 200
    return relay


@HOSTILE
@given(endpoint_id=endpoint_ids, encoded=st.booleans())
def test_endpoint_ids(served: Relay, together: TogetherSimulator, endpoint_id: str, encoded: bool) -> None:
    tried("endpoint ids")
    # Given any id, sent percent-encoded (as a client library would) or raw
    segment = quote(endpoint_id, safe="") if encoded else endpoint_id
    before = (_upstream_requests(together), served.secret_fetches)
    # When it is looked up with a valid token
    status, error = _checked(served.get(f"/v1/endpoints/{segment}"))
    # Then an invalid id is a 400 that cost no secret fetch and no upstream call
    if not is_valid_endpoint_id(endpoint_id):
        assert status == 400 and error is not None and error["param"] == "endpointId"
        assert (_upstream_requests(together), served.secret_fetches) == before
    else:
        assert status == (200 if endpoint_id == KNOWN else 404)


LOOKUP_PATH = f"/v1/endpoints/{KNOWN}"


@pytest.mark.parametrize("line_break", ["\n", "\r\n", "%0A"])
def test_a_trailing_line_break_is_part_of_the_id(served: Relay, line_break: str) -> None:
    # Found by test_endpoint_ids: Powertools' route pattern ends in `$`, which also matches before a
    # trailing newline, so "<known id>\n" was served as the known id instead of refused.
    status, error = _checked(served.get(LOOKUP_PATH + line_break))
    assert status == 400 and error is not None and error["param"] == "endpointId"


ROUTE_PREFIXES = st.sampled_from(
    [
        *("/", "/v1/", "/v1/endpoints/", "/v1/endpoints", "/healthz", "/slack/commands", "//", "/v1/endpoints/../"),
        *("/./v1/", "/V1/ENDPOINTS/", "/v1//endpoints/", "/v1/endpoints/%2e%2e/", "/v1/endpoints/endpoint-abc/"),
        "\\v1\\endpoints\\",
    ]
)


@HOSTILE
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "get", "CONNECT"]),
    path=st.builds(operator.add, ROUTE_PREFIXES, st.one_of(st.just(""), text, endpoint_ids)),
)
def test_paths(served: Relay, together: TogetherSimulator, method: str, path: str) -> None:
    tried("paths")
    before = (_upstream_requests(together), served.secret_fetches)
    # Given any method and path, with a valid token
    event = http_event(method, path, headers={"Authorization": f"Bearer {served.token}"})
    status, _ = _checked(served.invoke(event))
    # Then only the lookup route with a valid id may reach the secret or Together
    prefix = "/v1/endpoints/"
    get = method.upper() == "GET"  # methods are matched case-insensitively
    if not (get and path.startswith(prefix) and is_valid_endpoint_id(path[len(prefix) :])):
        assert (_upstream_requests(together), served.secret_fetches) == before
        # (Powertools' route patterns end in `$`, so "/healthz\n" is the health check too: harmless.)
        assert status in (400, 401, 404, 405) or (get and path in ("/healthz", "/healthz\n")), (method, path, status)


@HOSTILE
@given(query=text, parameters=st.dictionaries(text, text, max_size=5))
def test_query_strings(served: Relay, together: TogetherSimulator, query: str, parameters: dict[str, str]) -> None:
    tried("query strings")
    # Given a lookup of a known endpoint carrying any query string
    event = http_event("GET", LOOKUP_PATH, headers={"Authorization": f"Bearer {served.token}"})
    event["rawQueryString"] = query
    event["queryStringParameters"] = parameters or dict(parse_qsl(query)) or None
    status, _ = _checked(served.invoke(event))
    # Then it is answered as without one, and the cache still holds: one upstream call in all
    assert status == 200
    assert together.call_count(KNOWN) == 1


@HOSTILE
@given(extra=headers, with_token=st.booleans())
def test_headers(served: Relay, together: TogetherSimulator, extra: dict[str, str], with_token: bool) -> None:
    tried("headers")
    # Given a lookup with any headers, and the valid token or not
    event = http_event("GET", LOOKUP_PATH, headers=extra)
    if with_token:
        event["headers"]["authorization"] = f"Bearer {served.token}"
    before = _upstream_requests(together)
    status, error = _checked(served.invoke(event))
    # Then nothing but the token authenticates, and a refused request costs no upstream call
    if with_token:
        assert status == 200
        refreshes = int("no-cache" in event["headers"].get("cache-control", "").lower())
        assert _upstream_requests(together) - before <= refreshes
    else:
        assert status == 401 and error is not None and error["type"] == "authentication_error"
        assert _upstream_requests(together) == before


# -- Slack -----------------------------------------------------------------------------------------------------------

REFUSED_RESPONSE_URLS = st.sampled_from(
    [
        "",
        "https://hooks.slack.com/commands/T0/1/x",  # Slack's host, but this relay allows only the loopback receiver
        "http://169.254.169.254/latest/meta-data/",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "https://127.0.0.1.evil.example/x",
        "//127.0.0.1/x",
    ]
)
commands = st.builds(
    lambda word, argument, duration: " ".join(part for part in (word, argument, duration) if part),
    st.sampled_from(["status", "check", "mute", "unmute", "help", "STATUS", "", "statuses", "mute\u00a0"]),
    st.one_of(endpoint_ids, st.just("")),
    st.one_of(st.sampled_from(["", "2h", "30m", "0m", "-1h", "99999d", "1e9h", "2 h"]), text),
)
forms = st.one_of(
    st.builds(
        lambda command, response_url, team: slack_form(
            command, team_id=team, user_id=USER_ID, response_url=response_url
        ),
        commands,
        REFUSED_RESPONSE_URLS,
        st.one_of(st.just(TEAM_ID), text),
    ),
    st.builds(lambda fields: urlencode(fields).encode(), st.dictionaries(text, text, max_size=12)),
    st.binary(max_size=2_000),
    st.builds(lambda pad: b"text=help&pad=" + b"x" * pad, st.integers(16_000, 40_000)),
)


def _sign(secret: str, timestamp: str, body: bytes) -> str:
    """Slack's scheme, computed here independently of the relay's code: v0= HMAC-SHA256 of v0:{ts}:{body}."""
    return "v0=" + hmac.new(secret.encode(), f"v0:{timestamp}:".encode() + body, hashlib.sha256).hexdigest()


@HOSTILE
@given(body=forms, base64_body=st.booleans())
def test_slack_bodies(slack: SlackHarness, together: TogetherSimulator, body: bytes, base64_body: bool) -> None:
    tried("slack bodies")
    base64_body = base64_body or not _is_utf8(body)  # a plain (not base64) body is text by definition
    # Given any body, correctly signed just now
    stamp = str(int(time.time()))
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": stamp}
    headers["X-Slack-Signature"] = _sign(slack.signing_secret, stamp, body)
    # When it is posted to the slash command route
    status, error = _checked(slack.send(command_event(body, headers, base64_body=base64_body)))
    # Then it gets a 200 reply (or a bare 401 for a body no slash command has), and nothing reaches
    # Together or a response_url outside the allow-list
    assert status in (200, 401)
    if status == 401:
        assert error is not None and error["code"] == "invalid_signature"
    assert _upstream_requests(together) == 0
    assert slack.invoker.events == []


timestamps = st.one_of(
    st.integers(-290, 290).map(lambda offset: str(int(time.time()) + offset)),
    st.integers(310, 10**10)
    .flatmap(lambda offset: st.sampled_from([offset, -offset]))
    .map(lambda offset: str(int(time.time()) + offset)),
    st.sampled_from(
        ["", " ", "0", "-1", "+1700000000", "1.7e9", "0x6553f100", "\u0661\u0667" + "\u0660" * 8, "9" * 40]
    ),
    text,
)


@HOSTILE
@given(
    timestamp=timestamps,
    how=st.sampled_from(["correct", "other-secret", "other-body", "other-timestamp", "garbage", "mutated", "upper"]),
    garbage=text,
    name_case=st.sampled_from([str.lower, str.upper, str.title]),
)
def test_slack_signatures(
    slack: SlackHarness, together: TogetherSimulator, timestamp: str, how: str, garbage: str, name_case: Any
) -> None:
    tried("slack timestamps and signatures")
    # Given a signed `help` command, whose timestamp and signature are then chosen by an attacker
    body = slack_form("help", team_id=TEAM_ID, user_id=USER_ID, response_url=slack.response_url)
    right = _sign(slack.signing_secret, timestamp, body)
    presented = {
        "correct": right,
        "other-secret": _sign(slack.signing_secret + "x", timestamp, body),
        "other-body": _sign(slack.signing_secret, timestamp, body + b"&x=1"),
        "other-timestamp": _sign(slack.signing_secret, timestamp + "0", body),
        "garbage": garbage,
        "mutated": right[:-1] + ("0" if right[-1] != "0" else "1"),
        "upper": right.upper(),
    }[how]
    headers = {name_case("X-Slack-Request-Timestamp"): timestamp, name_case("X-Slack-Signature"): presented}
    # When it is posted
    status, error = _checked(slack.send(command_event(body, headers)))
    # Then only the exact HMAC over a fresh timestamp is accepted; anything else is a bare 401
    fresh = timestamp.isascii() and timestamp.isdigit() and abs(time.time() - int(timestamp)) <= 300
    if how == "correct" and fresh:
        assert status == 200
    else:
        assert status == 401 and error is not None and error["code"] == "invalid_signature", (timestamp, presented)
    assert _upstream_requests(together) == 0 and slack.invoker.events == []


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
