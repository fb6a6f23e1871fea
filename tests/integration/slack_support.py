"""Helpers for the slash-command tests: signed Slack requests and an in-process stand-in for Lambda's async invoke."""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from devstack.events import http_event
from devstack.slack_receiver import SlackReceiver
from endpoint_relay.adapters.lambda_invoker import InvokeError
from endpoint_relay.core.slack_signature import signature

if TYPE_CHECKING:  # conftest imports this module: no import cycle at run time
    from tests.integration.conftest import Relay

TEAM_ID = "T0RELAY01"
USER_ID = "U0ONCALL1"


def slack_form(text: str, *, team_id: str, user_id: str, response_url: str, **extra: str) -> bytes:
    """A slash command body, with the fields Slack sends, in Slack's order."""
    fields = {
        "token": "legacy-verification-token",
        "team_id": team_id,
        "team_domain": "relay-test",
        "channel_id": "C0ONCALL1",
        "channel_name": "on-call",
        "user_id": user_id,
        "user_name": "oncall",
        "command": "/together",
        "text": text,
        "api_app_id": "A0RELAY01",
        "is_enterprise_install": "false",
        "response_url": response_url,
        # Fresh per request, as Slack's are: two commands alike in the same second are still two requests.
        "trigger_id": f"13345224609.738474920.{secrets.token_hex(16)}",
        **extra,
    }
    return urlencode(fields).encode("utf-8")


def signed_headers(secret: str, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature(secret, stamp, body),
    }


def command_event(body: bytes, headers: Mapping[str, str], *, base64_body: bool = True) -> dict[str, Any]:
    return http_event(
        "POST", "/slack/commands", headers=dict(headers), body=body, base64_body=base64_body, source_ip="203.0.113.20"
    )


class InProcessInvoker:
    """Stands in for ``lambda:Invoke`` with ``InvocationType=Event``: runs the Slack worker's handler on a thread.

    moto accepts an asynchronous invoke but never runs the function. Like Lambda,
    a container runs one invocation at a time: the follow-up waits for the
    ``handler_lock`` the foreground invocation holds. ``gate`` lets a test look at
    the acknowledgement before the follow-up starts.
    """

    def __init__(
        self,
        handler_lock: threading.Lock,
        *,
        run: Callable[[dict[str, Any]], dict[str, Any]],
        max_invocations: int = 10,
        timeout: float = 60.0,
    ) -> None:
        self.handler_lock = handler_lock
        self._run_worker = run
        self.gate = threading.Event()
        self.gate.set()
        self.events: list[dict[str, Any]] = []
        self.results: list[dict[str, Any]] = []
        self.errors: list[BaseException] = []
        self._threads: list[threading.Thread] = []
        self._max_invocations = max_invocations
        self._timeout = timeout

    def invoke_async(self, payload: Mapping[str, Any]) -> None:
        if len(self._threads) >= self._max_invocations:
            raise InvokeError("the test invoker's bound was reached")
        event = json.loads(json.dumps(payload))  # only what survives JSON crosses to the next invocation
        self.events.append(event)
        thread = threading.Thread(target=self._run, args=(event,), name="followup", daemon=True)
        self._threads.append(thread)
        thread.start()

    def _run(self, event: dict[str, Any]) -> None:
        if not self.gate.wait(self._timeout):
            self.errors.append(TimeoutError("the follow-up gate was never opened"))
            return
        with self.handler_lock:
            try:
                self.results.append(self._run_worker(event))
            except Exception as exc:  # recorded for the test to assert on, as Lambda would record it
                self.errors.append(exc)

    def join(self, timeout: float = 60.0) -> None:
        self.gate.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        stuck = [thread for thread in self._threads if thread.is_alive()]
        assert not stuck, f"{len(stuck)} follow-up invocation(s) did not finish"


@dataclass
class SlackHarness:
    relay: Relay
    signing_secret: str
    receiver: SlackReceiver
    invoker: InProcessInvoker
    handler_lock: threading.Lock
    team_id: str = TEAM_ID
    user_id: str = USER_ID
    _url_token: str = field(default_factory=lambda: secrets.token_urlsafe(12))

    @property
    def response_url(self) -> str:
        return f"{self.receiver.url}/commands/{self.team_id}/1000000001/{self._url_token}"

    def event(
        self,
        text: str,
        *,
        team_id: str | None = None,
        user_id: str | None = None,
        response_url: str | None = None,
        base64_body: bool = True,
        timestamp: int | None = None,
    ) -> dict[str, Any]:
        body = slack_form(
            text,
            team_id=team_id or self.team_id,
            user_id=user_id or self.user_id,
            response_url=response_url or self.response_url,
        )
        headers = signed_headers(self.signing_secret, body, timestamp=timestamp)
        return command_event(body, headers, base64_body=base64_body)

    def send(self, event: dict[str, Any]) -> dict[str, Any]:
        with self.handler_lock:  # one invocation at a time in this "container"
            return self.relay.invoke(event)

    def command(self, text: str, **options: Any) -> dict[str, Any]:
        """The reply Slack would show, after checking it is an HTTP 200 JSON answer."""
        response = self.send(self.event(text, **options))
        assert response["statusCode"] == 200, response
        assert response["headers"]["Content-Type"] == "application/json"
        reply: dict[str, Any] = json.loads(response["body"])
        return reply

    def followups(self, count: int, timeout: float = 30.0) -> list[dict[str, Any]]:
        """The answers posted to this harness's response_url, once ``count`` arrived."""
        path = self.response_url.removeprefix(self.receiver.url)
        messages = self.receiver.wait_for(count, timeout=timeout, path_prefix=path)
        self.invoker.join(timeout)  # the follow-ups finish (and flush their metrics) inside the test
        return [message.json() for message in messages]


def reply_text(reply: Mapping[str, Any]) -> str:
    """Everything a person would read in a reply, as one string."""
    return json.dumps(reply, ensure_ascii=False)


def mrkdwn_texts(reply: Mapping[str, Any]) -> list[str]:
    """The strings Slack parses as mrkdwn (formatting applies there, not in plain_text headers)."""
    texts = [str(reply.get("text", ""))]
    for block in reply.get("blocks", []):
        if "text" in block and block["text"].get("type") == "mrkdwn":
            texts.append(block["text"]["text"])
        texts.extend(item["text"] for item in block.get("fields", []) if item.get("type") == "mrkdwn")
        texts.extend(item["text"] for item in block.get("elements", []) if item.get("type") == "mrkdwn")
    return texts
