"""The secret-leak sweep itself: it must see every kind of output it claims to scan."""

from __future__ import annotations

import logging
import secrets
import urllib.request

import pytest

from devstack.aws import aws_client
from devstack.slack_receiver import SlackReceiver
from tests.leakcheck import COLLECTOR

pytestmark = pytest.mark.integration
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never through a proxy


def test_a_planted_secret_is_found_in_each_kind_of_output(
    moto_endpoint: str, slack_receiver: SlackReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a canary registered as a secret
    canary = "leak-canary-" + secrets.token_hex(8)
    COLLECTOR.register_secret(canary)
    # When it reaches a log record, a Slack message, an SNS notification and stdout a test read itself
    logging.getLogger("endpoint_relay.leak_sweep_test").warning("planted %s", canary)
    post = urllib.request.Request(slack_receiver.webhook_url(), data=f'{{"text": "{canary}"}}'.encode())  # noqa: S310
    with _DIRECT.open(post, timeout=10):
        pass
    sns = aws_client("sns", moto_endpoint)
    topic = sns.create_topic(Name=f"leak-sweep-{secrets.token_hex(4)}")["TopicArn"]
    sns.publish(TopicArn=topic, Message=f"message with {canary}", Subject="leak sweep")
    print(canary)
    capsys.readouterr()
    # Then the sweep finds it in every one of them
    assert COLLECTOR.leak_sources() >= {"log", "slack", "sns", "stdout"}
    # The canary was planted on purpose: forget it, so this test's own leak check passes
    COLLECTOR.reset()
