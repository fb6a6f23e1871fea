"""POST /slack/commands through the real lambda_handler: signatures, allow-lists, replies and the deferred path."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from devstack.aws import RelaySecretValues, put_secret
from devstack.events import http_event, load_event
from devstack.together_sim import TogetherSimulator, make_endpoint
from endpoint_relay.core.slack_signature import SlackSignatureVerifier
from tests.integration.conftest import Relay
from tests.integration.slack_support import SlackHarness, command_event, reply_text, signed_headers, slack_form
from tests.leakcheck import COLLECTOR

ENDPOINT_ID = "endpoint-d23901de-ef8f-44bf-b3e7-de9c1ca8f2d7"
BARE_401 = {
    "error": {"message": "unauthorized", "type": "authentication_error", "param": None, "code": "invalid_signature"}
}


def _signed_pieces(slack: SlackHarness, text: str = "help") -> tuple[bytes, dict[str, str]]:
    body = slack_form(text, team_id=slack.team_id, user_id=slack.user_id, response_url=slack.response_url)
    return body, signed_headers(slack.signing_secret, body)


# -- signatures ---------------------------------------------------------------------------------------------------


def test_slacks_documented_request_verifies_through_the_handler(
    slack_env: dict[str, str], request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the relay holds the signing secret from Slack's documentation, and its clock reads that request's time
    doc_secret = "8f742231b10e8888abcd99yyyzzz85a5"
    values = RelaySecretValues(slack_env["_API_KEY"], (slack_env["_TOKEN"],), slack_signing_secret=doc_secret)
    put_secret(slack_env["AWS_ENDPOINT_URL"], slack_env["RELAY_SECRET_ID"], values.document())
    slack: SlackHarness = request.getfixturevalue("slack")
    slack.relay.verifier = SlackSignatureVerifier(clock=lambda: 1531420618)
    # When the sample event (Slack's documented request, base64-encoded as API Gateway sends it) arrives
    event = load_event("slack_command.json")
    assert event["isBase64Encoded"] is True
    response = slack.send(event)
    # Then it verifies, and the empty command text gets help
    assert response["statusCode"] == 200
    assert "/webhook-collect status" in reply_text(json.loads(response["body"]))


@pytest.mark.parametrize("base64_body", [True, False], ids=["base64-body", "plain-body"])
def test_signed_command_is_answered(slack: SlackHarness, together: TogetherSimulator, base64_body: bool) -> None:
    reply = slack.command("help", base64_body=base64_body)
    assert reply["response_type"] == "ephemeral"
    assert "/together status" in reply_text(reply)
    assert together.call_count() == 0


def test_upper_case_header_names_are_accepted(slack: SlackHarness) -> None:
    # Given a signed request whose header names arrive in upper case (API Gateway lowercases them today)
    event = slack.event("help")
    event["headers"] = {name.upper(): value for name, value in event["headers"].items()}
    # Then the signature is still found and checked
    response = slack.send(event)
    assert response["statusCode"] == 200


def _tampered(event: dict[str, Any]) -> None:
    body = base64.b64decode(event["body"]).replace(b"text=help", b"text=check")
    event["body"] = base64.b64encode(body).decode()


def _timestamp(offset: int) -> Any:
    def change(event: dict[str, Any], slack: SlackHarness) -> dict[str, Any]:
        body = base64.b64decode(event["body"])
        stamp = int(event["headers"]["x-slack-request-timestamp"]) + offset
        return command_event(body, signed_headers(slack.signing_secret, body, timestamp=stamp))

    return change


def _header(name: str, value: str | None) -> Any:
    def change(event: dict[str, Any], slack: SlackHarness) -> dict[str, Any]:
        if value is None:
            event["headers"].pop(name)
        else:
            event["headers"][name] = value
        return event

    return change


def _signature_version(event: dict[str, Any], slack: SlackHarness) -> dict[str, Any]:
    event["headers"]["x-slack-signature"] = event["headers"]["x-slack-signature"].replace("v0=", "v1=")
    return event


def _wrong_secret(event: dict[str, Any], slack: SlackHarness) -> dict[str, Any]:
    body = base64.b64decode(event["body"])
    return command_event(body, signed_headers(slack.signing_secret + "x", body))


def _tamper(event: dict[str, Any], slack: SlackHarness) -> dict[str, Any]:
    _tampered(event)
    return event


def _garbled_base64(event: dict[str, Any], slack: SlackHarness) -> dict[str, Any]:
    event["body"] = "%%%not-base64%%%"
    return event


def _oversized(event: dict[str, Any], slack: SlackHarness) -> dict[str, Any]:
    body = base64.b64decode(event["body"]) + b"&pad=" + b"x" * 20_000
    return command_event(body, signed_headers(slack.signing_secret, body))


@pytest.mark.parametrize(
    "change",
    [
        _tamper,
        _timestamp(-301),
        _timestamp(301),
        _header("x-slack-request-timestamp", None),
        _header("x-slack-signature", None),
        _header("x-slack-request-timestamp", "yesterday"),
        _header("x-slack-request-timestamp", "1.5e9"),
        _signature_version,
        _wrong_secret,
        _garbled_base64,
        _oversized,
    ],
    ids=[
        "tampered-body",
        "301s-old",
        "301s-in-future",
        "no-timestamp",
        "no-signature",
        "non-numeric-timestamp",
        "float-timestamp",
        "v1-prefix",
        "wrong-secret",
        "garbled-base64",
        "oversized",
    ],
)
def test_unverifiable_requests_get_a_bare_401(slack: SlackHarness, together: TogetherSimulator, change: Any) -> None:
    # Given a signed `check` request, then spoiled in one way
    together.put(make_endpoint(ENDPOINT_ID))
    event = change(slack.event("help"), slack)
    # When it arrives
    response = slack.send(event)
    # Then it is a 401 with an ErrorData body that says nothing about why, and nothing was done
    assert response["statusCode"] == 401
    assert json.loads(response["body"]) == BARE_401
    assert "Traceback" not in response["body"]
    assert together.call_count() == 0
    assert slack.invoker.events == []


def test_ssl_check_gets_200_without_reading_the_secret(slack: SlackHarness) -> None:
    event = command_event(b"ssl_check=1&token=legacy-verification-token", {})
    response = slack.send(event)
    assert response["statusCode"] == 200
    assert slack.relay.secret_fetches == 0


def test_follow_up_shape_cannot_be_reached_through_http(slack: SlackHarness, together: TogetherSimulator) -> None:
    # Given someone posts the follow-up event's fields to the public route
    body = json.dumps({"endpoint_relay": "slack_command", "command": "check", "response_url": slack.response_url})
    event = http_event("POST", "/slack/commands", body=body.encode(), headers={"Content-Type": "application/json"})
    event["endpoint_relay"] = "slack_command"  # even at the top level of the HTTP event
    # Then it is an unsigned HTTP request like any other
    response = slack.send(event)
    assert response["statusCode"] == 401
    assert slack.invoker.events == [] and together.call_count() == 0


def test_signature_and_raw_body_are_never_logged(slack: SlackHarness, together: TogetherSimulator) -> None:
    # Given a good and a tampered request, whose signatures and bodies are registered as leak markers
    body, headers = _signed_pieces(slack, "status endpoint-leak-check-marker")
    COLLECTOR.register_secret(headers["X-Slack-Signature"], body.decode(), base64.b64encode(body).decode())
    COLLECTOR.register_secret("endpoint-leak-check-marker&")
    slack.send(command_event(body, headers))
    tampered = body + b"&x=1"
    COLLECTOR.register_secret(tampered.decode())
    slack.send(command_event(tampered, headers))
    # Then the autouse leak check finds none of them in any log record or response


# -- allow-lists --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [f"status {ENDPOINT_ID}", "check", f"mute {ENDPOINT_ID} 2h", "help"])
def test_team_not_allow_listed_gets_a_polite_refusal_and_no_upstream_call(
    slack_env: dict[str, str], request: pytest.FixtureRequest, together: TogetherSimulator, text: str
) -> None:
    # Given the relay only serves workspace T0ALLOWED
    slack_env["SLACK_ALLOWED_TEAM_IDS"] = "T0ALLOWED,E0GRID001"
    slack: SlackHarness = request.getfixturevalue("slack")
    together.put(make_endpoint(ENDPOINT_ID))
    # When a correctly signed command comes from another workspace
    reply = slack.command(text, team_id="T0OTHER99")
    # Then it gets a polite, ephemeral refusal, and nothing was looked up, queued or posted
    assert reply["response_type"] == "ephemeral"
    assert "not allowed to use this relay" in reply_text(reply)
    assert together.call_count() == 0
    assert slack.invoker.events == []
    assert slack.receiver.messages() == []


def test_allow_listed_team_is_served(slack_env: dict[str, str], request: pytest.FixtureRequest) -> None:
    slack_env["SLACK_ALLOWED_TEAM_IDS"] = "T0ALLOWED"
    slack: SlackHarness = request.getfixturevalue("slack")
    assert "/together status" in reply_text(slack.command("help", team_id="T0ALLOWED"))


@pytest.mark.parametrize("text", [f"mute {ENDPOINT_ID} 2h", f"unmute {ENDPOINT_ID}"])
def test_user_not_allowed_to_mute_is_refused(
    slack_env: dict[str, str], request: pytest.FixtureRequest, text: str
) -> None:
    slack_env["SLACK_MUTE_USER_IDS"] = "U0BOSS001"
    slack: SlackHarness = request.getfixturevalue("slack")
    reply = slack.command(text, user_id="U0INTERN1")
    assert "not on the list of people who may mute" in reply_text(reply)
    # The one put records the request's signature (against replays); no mute was written
    assert slack.relay.aws_calls["dynamodb.PutItem"] == 1
    assert slack.relay.aws_calls["dynamodb.UpdateItem"] == 0


# -- replies ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("status", "usage: status"),
        ("status ../../etc/passwd", "not an endpoint id"),
        ("status <!channel>", "not an endpoint id"),
        (f"mute {ENDPOINT_ID} forever", "duration must look like"),
        (f"mute {ENDPOINT_ID} 30d", "at most 7d"),
        ("unmute", "missing arguments"),
        ("check everything", "not an endpoint id"),
        ("check ep_a ep_b", "too many arguments"),
        ("status ep_..%2Fx", "not an endpoint id"),
        ("status proj_other/ep_a", "does not serve that project"),
    ],
)
def test_bad_arguments_get_a_friendly_200(
    slack: SlackHarness, together: TogetherSimulator, text: str, hint: str
) -> None:
    reply = slack.command(text)
    assert reply["response_type"] == "ephemeral"
    assert hint in reply_text(reply)
    assert together.call_count() == 0 and slack.invoker.events == []


@pytest.mark.parametrize("text", ["", "hello there", "restart endpoint-a", "HELP"])
def test_unknown_input_gets_help(slack: SlackHarness, text: str) -> None:
    text_out = reply_text(slack.command(text))
    for word in ("status", "check", "mute", "unmute", "help"):
        assert f"/together {word}" in text_out


def test_response_url_off_the_allow_list_is_never_used(slack: SlackHarness, together: TogetherSimulator) -> None:
    # Given a signed command whose response_url points somewhere other than Slack's hooks host
    together.put(make_endpoint(ENDPOINT_ID))
    reply = slack.command(f"status {ENDPOINT_ID}", response_url="https://169.254.169.254/latest/meta-data")
    # Then the relay says it cannot answer later, and queues nothing
    assert "no usable reply address" in reply_text(reply)
    assert slack.invoker.events == [] and together.call_count() == 0


def test_failure_to_queue_the_follow_up_is_a_friendly_200(
    slack: SlackHarness, together: TogetherSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from endpoint_relay.adapters.lambda_invoker import InvokeError

    def refuse(payload: Any) -> None:
        raise InvokeError("throttled")

    monkeypatch.setattr(slack.invoker, "invoke_async", refuse)
    reply = slack.command(f"status {ENDPOINT_ID}")
    assert "could not start that check" in reply_text(reply)
    assert together.call_count() == 0


def test_sample_follow_up_event_is_handled(slack: SlackHarness, together: TogetherSimulator) -> None:
    # Given the sample follow-up event, pointed at the local receiver
    together.put(make_endpoint(ENDPOINT_ID, state="STARTED"))
    event = load_event("slack_followup.json")
    event["response_url"] = slack.response_url
    # When Lambda delivers it to the Slack worker
    with slack.handler_lock:
        result = slack.relay.invoke(event)
    # Then the answer reaches the response_url
    assert result == {"status": "delivered"}
    (answer,) = slack.followups(1)
    assert answer["response_type"] == "ephemeral"
    assert ENDPOINT_ID in reply_text(answer)


@pytest.mark.parametrize(
    "event",
    [
        {"endpoint_relay": "slack_command", "command": "status", "endpoint_id": "../admin"},
        {"endpoint_relay": "slack_command", "command": "restart", "endpoint_id": ENDPOINT_ID},
        {"endpoint_relay": "slack_command", "command": "status"},
        {"endpoint_relay": "slack_command", "command": "check", "response_url": "https://evil.example/x"},
    ],
    ids=["bad-id", "unknown-command", "no-id", "foreign-response-url"],
)
def test_malformed_follow_up_events_are_ignored(
    slack: SlackHarness, together: TogetherSimulator, event: dict[str, Any]
) -> None:
    full = {"response_url": slack.response_url, "user_id": "U0ONCALL1", "team_id": "T0RELAY01", **event}
    with slack.handler_lock:
        assert slack.relay.invoke(full) == {"status": "ignored"}
    assert together.call_count() == 0
    assert slack.receiver.messages() == []


def test_relay_secret_without_a_signing_secret_refuses_commands(relay: Relay, together: TogetherSimulator) -> None:
    # Given a relay whose secret has no slack_signing_secret (the relay_env fixture's secret)
    body = slack_form("help", team_id="T0RELAY01", user_id="U0ONCALL1", response_url="https://hooks.slack.com/x")
    response = relay.invoke(command_event(body, signed_headers("any-guess", body)))
    assert response["statusCode"] == 401
    assert json.loads(response["body"]) == BARE_401
