"""Posting delayed answers to response_url: the host allow-list, retries and refusals, against a loopback receiver."""

from __future__ import annotations

import pytest

from devstack.slack_receiver import ScriptedReply, SlackReceiver
from endpoint_relay.adapters.slack_response import (
    ResponseUrlRejectedError,
    SlackResponder,
    SlackResponseError,
    SlackResponseRefusedError,
)

MESSAGE = {"response_type": "ephemeral", "text": "hello"}


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.slack.com/commands/T0/1/abc",
        "https://HOOKS.SLACK.COM/commands/T0/1/abc",
        "https://hooks.slack.com:443/commands/T0/1/abc",
    ],
)
def test_slacks_hooks_host_over_https_is_allowed_by_default(url: str) -> None:
    assert SlackResponder().is_allowed(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.slack.com/commands/T0/1/abc",
        "https://hooks.slack.com.evil.example/commands",
        "https://evil.example/?u=https://hooks.slack.com/",
        "https://user:pass@hooks.slack.com/commands",
        "https://evil.example@hooks.slack.com/commands",
        "https://169.254.169.254/latest/meta-data",
        "https://127.0.0.1/commands",
        "https://hooks.slack.com:99999/commands",
        "https://hooks.slack.com/commands\r\nX-Injected: 1",
        "file:///etc/passwd",
        "hooks.slack.com/commands",
        "",
    ],
    ids=[
        "http",
        "suffix-host",
        "other-host",
        "userinfo",
        "userinfo-host",
        "metadata",
        "loopback",
        "bad-port",
        "crlf",
        "file",
        "no-scheme",
        "empty",
    ],
)
def test_anything_else_is_refused(url: str) -> None:
    responder = SlackResponder()
    assert not responder.is_allowed(url)
    with pytest.raises(ResponseUrlRejectedError):
        responder.post(url, MESSAGE)


def test_http_to_loopback_only_when_explicitly_configured(slack_receiver: SlackReceiver) -> None:
    url = f"{slack_receiver.url}/commands/T0/1/abc"
    assert not SlackResponder(["127.0.0.1"]).is_allowed(url)
    assert SlackResponder(["127.0.0.1"], allow_http=True).is_allowed(url)


def test_answer_is_posted_as_json(slack_receiver: SlackReceiver) -> None:
    SlackResponder(["127.0.0.1"], allow_http=True).post(f"{slack_receiver.url}/commands/T0/1/abc", MESSAGE)
    (message,) = slack_receiver.wait_for(1, timeout=5)
    assert message.json() == MESSAGE
    assert message.headers["content-type"].startswith("application/json")
    assert message.headers["user-agent"] == "endpoint-relay/1"


def test_a_rate_limited_post_is_retried(slack_receiver: SlackReceiver) -> None:
    # Given Slack answers 429 with a short Retry-After (the post was not taken), then accepts
    slack_receiver.script(ScriptedReply(status=429, headers={"Retry-After": "0"}))
    SlackResponder(["127.0.0.1"], allow_http=True).post(f"{slack_receiver.url}/commands/T0/1/abc", MESSAGE)
    assert len(slack_receiver.wait_for(1, timeout=5)) == 1


def test_persistent_failure_raises_a_retryable_error(slack_receiver: SlackReceiver) -> None:
    slack_receiver.script(*[ScriptedReply(status=503)] * 3)
    with pytest.raises(SlackResponseError) as caught:
        SlackResponder(["127.0.0.1"], allow_http=True).post(f"{slack_receiver.url}/commands/T0/1/abc", MESSAGE)
    assert not isinstance(caught.value, SlackResponseRefusedError)
    assert slack_receiver.messages() == []


@pytest.mark.parametrize("status", [400, 404, 410])
def test_refusals_are_not_retried(slack_receiver: SlackReceiver, status: int) -> None:
    # Given Slack refuses once, and would accept a second attempt
    slack_receiver.script(ScriptedReply(status=status, body="expired_url"), ScriptedReply(status=200, body="ok"))
    with pytest.raises(SlackResponseRefusedError):
        SlackResponder(["127.0.0.1"], allow_http=True).post(f"{slack_receiver.url}/commands/T0/1/abc", MESSAGE)
    # Then no second attempt was made (it would have been accepted and recorded)
    assert slack_receiver.messages() == []


def test_redirects_are_not_followed(slack_receiver: SlackReceiver) -> None:
    slack_receiver.script(ScriptedReply(status=302, headers={"Location": "http://169.254.169.254/"}))
    with pytest.raises(SlackResponseRefusedError):
        SlackResponder(["127.0.0.1"], allow_http=True).post(f"{slack_receiver.url}/commands/T0/1/abc", MESSAGE)
