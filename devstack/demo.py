"""`make demo`: the relay's three functions end to end on a local stack, as a readable transcript.

It starts moto server, the Together simulator and a Slack receiver, provisions
what template.yaml defines, then drives the three triggers: an HTTP lookup
(MISS, then HIT), a signed slash command and a scheduled sweep that alerts. It
prints what callers, Slack and SNS receive, stops everything and exits 0.

A step whose feature is not in this checkout yet is skipped, and says so.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TextIO

from devstack import demo_costs, demo_digest, demo_fleet, demo_idle
from devstack import stack as local
from devstack.events import http_event
from devstack.local_lambda import FUNCTION_NAMES, WORKER, function_for
from devstack.slack_receiver import ReceivedMessage
from devstack.stack import DevStack, StackOptions
from devstack.together_sim import TogetherSimulator
from devstack.v2_seed import V2_DEGRADED_ID, V2_FAILED_ID, V2_FIRING_IDS, V2_HEALTHY_ID, V2_PROVISIONING_ID

WIDTH = 100
ASYNC_WAIT_SECONDS = 15.0
"""Upper bound for an asynchronous follow-up to finish; it normally takes milliseconds."""


class DemoStepError(RuntimeError):
    """A step ran and the relay did not behave as the demo expects."""


class StepSkippedError(Exception):
    """The feature behind a step is not in this checkout yet."""


# -- the relay's own output --------------------------------------------------------------------------------------------


class RelayOutput(io.TextIOBase):
    """Stands in for stdout while the relay runs: its JSON logs and EMF metrics are kept, not printed.

    Powertools binds its log stream to ``sys.stdout`` when the handler is imported,
    so this is installed first; the transcript then shows a digest of each invocation.
    """

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._lines: list[str] = []
        self._partial = ""

    def write(self, text: str) -> int:
        with self._lock:
            self._partial += text
            *complete, self._partial = self._partial.split("\n")
            self._lines.extend(line for line in complete if line.strip())
        return len(text)

    def take(self) -> list[str]:
        with self._lock:
            lines, self._lines = self._lines, []
        return lines


@dataclass
class Invocation:
    metrics: dict[str, float] = field(default_factory=dict)
    logs: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def parse(cls, lines: list[str]) -> Invocation:
        digest = cls()
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if not isinstance(record, dict):
                continue
            if "_aws" in record:
                for directive in record["_aws"].get("CloudWatchMetrics", []):
                    for metric in directive.get("Metrics", []):
                        values = record.get(metric["Name"])
                        values = values if isinstance(values, list) else [values]
                        total = sum(value for value in values if isinstance(value, int | float))
                        digest.metrics[metric["Name"]] = digest.metrics.get(metric["Name"], 0) + total
            elif "level" in record:
                digest.logs.append(record)
        return digest


# -- the transcript ----------------------------------------------------------------------------------------------------


class Transcript:
    def __init__(self, stream: TextIO, verbose: bool) -> None:
        self.stream = stream
        self.verbose = verbose
        self.started = time.monotonic()

    def say(self, text: str = "", indent: int = 0) -> None:
        pad = " " * indent
        for line in text.split("\n") or [""]:
            print(f"{pad}{line}".rstrip(), file=self.stream, flush=True)

    def section(self, title: str) -> None:
        elapsed = time.monotonic() - self.started
        self.say()
        self.say(f"== {title} ".ljust(WIDTH - 8, "=") + f" {elapsed:5.1f}s")

    def invocation(self, digest: Invocation) -> None:
        if digest.metrics:
            shown = " ".join(f"{name}={_number(value, name)}" for name, value in sorted(digest.metrics.items()))
            self.say(f"metrics (EMF): {shown}", 6)
        for record in digest.logs:
            if self.verbose or record.get("level") in ("WARNING", "ERROR", "CRITICAL"):
                extras = {k: v for k, v in record.items() if k not in _LOG_BOILERPLATE}
                if "exception" in extras:  # the traceback's last line says enough here
                    extras["exception"] = str(extras["exception"]).strip().rsplit("\n", 1)[-1]
                    extras.pop("stack_trace", None)
                self.say(f"log {record.get('level')}: {record.get('message')} {json.dumps(extras)[: WIDTH * 3]}", 6)


_LOG_BOILERPLATE = frozenset(
    {
        "level",
        "location",
        "message",
        "timestamp",
        "service",
        "name",
        "cold_start",
        "function_name",
        "function_memory_size",
        "function_arn",
        "function_request_id",
        "correlation_id",
        "xray_trace_id",
        "sampling_rate",
    }
)


def _number(value: float, name: str) -> str:
    if name.endswith(("Latency", "Duration")):
        return f"{value:.1f}ms"
    return f"{value:g}"


def render_slack(message: dict[str, Any]) -> list[str]:
    """A Block Kit message as plain lines, roughly as Slack lays it out."""
    lines: list[str] = []
    for block in message.get("blocks") or []:
        kind = block.get("type")
        text = (block.get("text") or {}).get("text", "")
        if kind == "header":
            lines.append(f"# {text}")
        elif kind == "section":
            if text:
                lines.extend(text.split("\n"))
            lines.extend(f"  {item.get('text', '')}".replace("\n", " ") for item in block.get("fields") or [])
        elif kind == "context":
            lines.append("  " + " | ".join(item.get("text", "") for item in block.get("elements") or []))
        elif kind == "divider":
            lines.append("-" * 40)
    if not lines and message.get("text"):
        lines.append(str(message["text"]))
    return [readable(line) for line in lines]


_SLACK_DATE = re.compile(r"<!date\^[^|>]*\|([^>]*)>")
_SLACK_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]*)>")


def readable(mrkdwn: str) -> str:
    """Slack mrkdwn as a terminal shows it: dates by their fallback text, links as text <url>, no escapes."""
    text = _SLACK_DATE.sub(r"\1", mrkdwn.replace("\u200b", ""))
    text = _SLACK_LINK.sub(r"\2 <\1>", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


# -- the steps ---------------------------------------------------------------------------------------------------------


@dataclass
class Demo:
    stack: DevStack
    out: Transcript
    relay_output: RelayOutput
    outcomes: list[tuple[str, str]] = field(default_factory=list)
    _last: Invocation = field(default_factory=Invocation)
    _webhooks_shown: int = 0

    def invoke(self, event: dict[str, Any]) -> Any:
        """Invoke the relay; :meth:`digest` then shows what it logged and measured."""
        self.relay_output.take()
        function = FUNCTION_NAMES[function_for(event)]
        self.out.say(f"=> {function} (the function template.yaml wires this trigger to)", 4)
        result = self.stack.relay.invoke(event)
        self._last = Invocation.parse(self.relay_output.take())
        return result

    def digest(self) -> None:
        self.out.invocation(self._last)

    def sweep(self, label: str, event: dict[str, Any]) -> Any:
        """Announce ``label``, invoke the sweep with ``event``, show what it returned and logged, await follow-ups."""
        self.out.say(label, 2)
        result = self.invoke(event)
        self.out.say(f"-> handler returned: {json.dumps(result)[: WIDTH * 3]}", 4)
        self.digest()
        self.after_async()
        return result

    def after_async(self) -> None:
        """Wait for the Slack worker's asynchronous invocations, then show their digest."""
        if not self.stack.relay.wait_idle(ASYNC_WAIT_SECONDS):
            raise DemoStepError(f"an asynchronous invocation was still running after {ASYNC_WAIT_SECONDS:.0f}s")
        lines = self.relay_output.take()
        if lines:
            self.out.say(f"asynchronous follow-up invocation of {FUNCTION_NAMES[WORKER]}:", 4)
            self.out.invocation(Invocation.parse(lines))

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        try:
            yield
            self.outcomes.append((name, "ran"))
        except StepSkippedError as skipped:
            self.out.say(f"SKIPPED: {name}: {skipped}", 2)
            self.outcomes.append((name, f"skipped: {skipped}"))

    # 1-2 -------------------------------------------------------------------------------------------------------------

    def show_stack(self) -> None:
        stack, say = self.stack, self.out.say
        self.out.section("1. Local stack (everything on 127.0.0.1, fake AWS credentials)")
        say(f"moto server   {stack.moto.url}  pid {stack.moto.pid}  (Secrets Manager, DynamoDB, SNS, SQS, SSM)", 2)
        if stack.together is not None:
            say(f"Together sim  {stack.together.base_url}  seeded with:", 2)
            for document in local.seeded_endpoints():
                bounds = document.get("autoscaling") or {}
                replicas = f"replicas {bounds.get('min_replicas')}..{bounds.get('max_replicas')}"
                say(f"{document['id']:<32} {document['state']:<9} {replicas:<15} {document['display_name']}", 16)
        say(f"Slack         {stack.slack.url}  (incoming webhook and response_url receiver)", 2)
        say(f"Lambda Invoke {stack.lambda_invoke.url}  (runs the Slack worker's asynchronous invocations)", 2)
        resources = stack.resources
        assert resources is not None  # noqa: S101 - started
        self.out.section("2. Provisioned as template.yaml defines it")
        say(f"secret  {resources.secret_arn}", 2)
        say("        keys: together_api_key, relay_token_sha256, slack_signing_secret, slack_webhook_url", 2)
        say(f"table   {resources.cache_table}  (shared cache: key pk, TTL attribute expires_at)", 2)
        say(f"table   {resources.alert_table}  (alert state: key pk, TTL attribute expires_at)", 2)
        say(f"ssm     {resources.policy_parameter}  (alert policy):", 2)
        say(json.dumps(stack.options.policy), 10)
        say(f"topic   {resources.topic_arn}", 2)
        say(f"        -> SQS subscription {resources.sns_queue_url.rsplit('/', 1)[-1]} (to show what SNS publishes)", 2)
        say("relay environment (as the template sets it; AWS_ENDPOINT_URL points at moto):", 2)
        names = sorted(stack.env)
        for start in range(0, len(names), 4):
            say("  ".join(f"{name:<30}" for name in names[start : start + 4]), 4)

    # 3 ---------------------------------------------------------------------------------------------------------------

    def http_lookup(self) -> None:
        self.out.section("3. HTTP lookup through API Gateway's event (payload 2.0)")
        path = f"/v1/endpoints/{local.HEALTHY_ID}"
        headers = {"Authorization": f"Bearer {self.stack.options.relay_token}", "User-Agent": "demo"}
        expected = ("MISS", "HIT")
        for attempt, wanted in enumerate(expected, start=1):
            self.out.say(f"GET {path}  (Authorization: Bearer <relay token>)  #{attempt}", 2)
            calls_before = self._upstream_calls()
            response = self.invoke(http_event("GET", path, headers=headers))
            status, cache = response["statusCode"], response["headers"].get("X-Cache")
            calls_after = self._upstream_calls()
            upstream = "?" if calls_before is None or calls_after is None else str(calls_after - calls_before)
            self.out.say(
                f"-> {status}  X-Cache: {cache}  Age: {response['headers'].get('Age')}  "
                f"Cache-Control: {response['headers'].get('Cache-Control')}  upstream calls: {upstream}",
                4,
            )
            self.digest()
            if attempt == 1:
                document = json.loads(response["body"])
                summary = {key: document.get(key) for key in ("id", "display_name", "state", "autoscaling")}
                self.out.say(f"body: {json.dumps(summary)} ... ({len(response['body'])} bytes, as Together sent it)", 4)
            if status != 200 or cache != wanted:
                raise DemoStepError(f"lookup #{attempt} answered {status} X-Cache {cache}; expected 200 {wanted}")
        self.out.say("GET without a token", 2)
        refused = self.invoke(http_event("GET", path))
        self.out.say(f"-> {refused['statusCode']}  {refused['body']}", 4)
        self.digest()

    def _upstream_calls(self) -> int | None:
        return self.stack.together.call_count() if self.stack.together is not None else None

    # 4 ---------------------------------------------------------------------------------------------------------------

    def slash_commands(self) -> None:
        self.out.section("4. Slack slash command (signed form body, base64 as API Gateway sends it)")
        for text in (f"status {local.HEALTHY_ID}", f"status {local.ERROR_ID}"):
            self._slash_command(text)
        self.out.say("alerts meanwhile (every retrieval evaluates the policy; the alert state decides who hears):", 2)
        self.notifications()

    def _slash_command(self, text: str) -> None:
        event = local.slash_command_event(self.stack, text, command="/together")
        if event is None:
            raise StepSkippedError(f"not built yet (no events/{local.SLASH_COMMAND_SAMPLE})")
        command = local.form_field(event, "command") or "/command"
        self.out.say(f"POST {event.get('rawPath')}  {command} {text}  (signed: X-Slack-Signature v0)", 2)
        replies_before = len(self.stack.slack.messages("/commands"))
        response = self.invoke(event)
        if response.get("statusCode") == 404:
            raise StepSkippedError("not built yet (the relay has no route for POST /slack/commands)")
        body = response.get("body") or ""
        self.out.say(f"-> {response.get('statusCode')}  (the HTTP reply Slack shows)", 4)
        self._show_reply(body, 6)
        self.digest()
        if response.get("statusCode") != 200:
            raise DemoStepError(f"the slash command answered {response.get('statusCode')}")
        self.after_async()
        replies = self.stack.slack.messages("/commands")[replies_before:]
        for reply in replies:
            self.out.say("-> posted to response_url by the follow-up invocation:", 4)
            self._show_message(reply, 6)

    def _show_reply(self, body: str, indent: int) -> None:
        try:
            document = json.loads(body) if body else {}
        except ValueError:
            self.out.say(body, indent)
            return
        if isinstance(document, dict):
            if document.get("response_type"):
                self.out.say(f"response_type: {document['response_type']}", indent)
            for line in render_slack(document):
                self.out.say(line, indent)

    def _show_message(self, message: ReceivedMessage, indent: int) -> None:
        try:
            document = message.json()
        except ValueError:
            self.out.say(message.body.decode("utf-8", "replace"), indent)
            return
        for line in render_slack(document) if isinstance(document, dict) else [json.dumps(document)]:
            self.out.say(line, indent)

    # 5 ---------------------------------------------------------------------------------------------------------------

    def scheduled_sweep(self) -> None:
        self.out.section("5. Scheduled sweep (EventBridge Scheduler -> SweepFunction)")
        labels = (
            "first sweep (of the v1 endpoints, named in the event; section 8 sweeps them all):",
            "second sweep: what was notified is not repeated; the stuck endpoint is now STARTING for longer"
            " than its policy allows (0.01 min here, so the demo need not wait 30):",
        )
        for attempt, label in enumerate(labels, start=1):
            event = local.scheduled_event(self.stack)
            if event is None:
                raise StepSkippedError(f"not built yet (no events/{local.SCHEDULED_SWEEP_SAMPLE})")
            if self.stack.options.uses_simulator:
                event["endpoints"] = list(self.stack.options.sweep_ids)
            if attempt == 2:
                self._wait_until_stuck()
            self.sweep(label, event)
            delivered = self.notifications()
            if attempt == 1 and not delivered:
                raise DemoStepError("the first sweep sent no notification for the broken endpoints")

    # 6-8 -----------------------------------------------------------------------------------------------------------

    def _relay_get(self, path: str, *, refresh: bool = False) -> dict[str, Any]:
        """GET through the relay as API Gateway routes it (template.yaml's routes, as make serve builds events)."""
        from devstack.serve import build_event, template_routes

        headers = [("Authorization", f"Bearer {self.stack.options.relay_token}"), ("User-Agent", "demo")]
        if refresh:
            headers.append(("Cache-Control", "no-cache"))
        event = build_event("GET", path, headers, b"", "127.0.0.1", template_routes())
        shown = "  Cache-Control: no-cache" if refresh else ""
        self.out.say(f"GET {path}  (Authorization: Bearer <relay token>){shown}", 2)
        if event["routeKey"] == "$default":  # template.yaml has no route for it: the feature is not built
            raise StepSkippedError(f"not built yet (no route for GET {path})")
        response: dict[str, Any] = self.invoke(event)
        return response

    def v2_simulator(self) -> tuple[str, TogetherSimulator]:
        """The default project and the simulator its v2 endpoints live in; without them the step is skipped."""
        project, sim = self.stack.options.default_project_id, self.stack.together
        if project is None or sim is None:
            raise StepSkippedError("no v2 project: the demo's v2 endpoints live in the simulator's default project")
        return project, sim

    def v2_lookup(self) -> None:
        self.out.section("6. v2 lookup, as the SDK 3.x's client.endpoints.retrieve makes it")
        project, _ = self.v2_simulator()
        self.out.say(
            f"Together(base_url=<relay>, api_key=<relay token>, project_id={project!r})"
            f".endpoints.retrieve({V2_HEALTHY_ID!r}) sends:",
            2,
        )
        response = self._relay_get(f"/v2/projects/{project}/endpoints/{V2_HEALTHY_ID}")
        headers = response.get("headers") or {}
        self.out.say(f"-> {response['statusCode']}  X-Cache: {headers.get('X-Cache')}", 4)
        self.digest()
        if response["statusCode"] != 200:
            raise DemoStepError(f"the v2 lookup answered {response['statusCode']}: {response.get('body')}")
        document = json.loads(response["body"])
        self.out.say(f"body: id {document.get('id')}, name {document.get('name')!r} ({len(response['body'])} bytes,", 4)
        self.out.say("as Together sent it); its deployments:", 4)
        for deployment in document.get("deployments") or []:
            bounds = deployment.get("autoscaling") or {}
            ready = f"ready {deployment.get('readyReplicas')}/{deployment.get('desiredReplicas')}"
            replicas = f"replicas {bounds.get('minReplicas')}..{bounds.get('maxReplicas')}"
            state, hardware = deployment.get("state"), deployment.get("hardware")
            self.out.say(f"{deployment.get('id')}  {state}  {ready}  {replicas}  {hardware}", 6)

    def v1_view(self) -> None:
        self.out.section("7. The v1 view of v2 endpoints (for v1 tools and the SDK 2.x)")
        for endpoint_id in (V2_HEALTHY_ID, V2_FAILED_ID):
            response = self._relay_get(f"/v1/endpoints/{endpoint_id}")
            headers = response.get("headers") or {}
            translated, cache = headers.get("X-Relay-Translated-From"), headers.get("X-Cache")
            self.out.say(f"-> {response['statusCode']}  X-Relay-Translated-From: {translated}  X-Cache: {cache}", 4)
            self.digest()
            if response["statusCode"] != 200:
                raise DemoStepError(f"the v1 view answered {response['statusCode']}: {response.get('body')}")
            document = json.loads(response["body"])
            summary = {key: document.get(key) for key in ("object", "id", "state", "hardware", "autoscaling")}
            self.out.say(f"body (v1 DedicatedEndpoint): {json.dumps(summary)}", 4)
            if not translated:
                raise DemoStepError("the v1 view's answer is not marked as translated")

    def v2_notices(self) -> None:
        self.out.section("8. v2 notices: lookups of the v2 endpoints, then the scheduled sweep of everything")
        project, _ = self.v2_simulator()
        self.out.say("a lookup of each v2 endpoint the policy finds something wrong with (lookups evaluate it too):", 2)
        for endpoint_id in V2_FIRING_IDS:
            response = self._relay_get(f"/v2/projects/{project}/endpoints/{endpoint_id}")
            self.out.say(f"-> {response['statusCode']}  X-Cache: {(response.get('headers') or {}).get('X-Cache')}", 4)
            self.digest()
        self.after_async()
        self.out.say("alerts since section 5 (the lookups above, and those of sections 6 and 7):", 2)
        delivered = self.notifications()
        labels = (
            'the scheduled sweep, as the sample event sends it ("all", v1 and v2): what was notified is not'
            " repeated; what has been stuck or short of replicas for longer than the policy allows (0.01 min here)"
            " fires",
            "the sweep again, once those short clocks (they start when the relay first sees a state) have surely run"
            " out: only what the first sweep started is still owed",
        )
        for attempt, label in enumerate(labels, start=1):
            event = local.scheduled_event(self.stack)
            if event is None:
                raise StepSkippedError(f"not built yet (no events/{local.SCHEDULED_SWEEP_SAMPLE})")
            event["endpoints"] = "all"
            if attempt == 2:
                self._wait_until_stuck()
            result = self.sweep(label, event)
            delivered += self.notifications()
            if "ep_" not in json.dumps(result):
                self.out.say("this checkout's sweep covers v1 endpoints only; no second sweep", 4)
                delivered += self._lookups_once_overdue(project)
                break
        self.out.say("/together status of a v2 endpoint:", 2)
        self._slash_command(f"status {V2_DEGRADED_ID}")
        if not delivered:
            raise StepSkippedError(
                "no notices for v2 endpoints: neither lookups nor the sweep evaluate v2 in this checkout yet"
            )

    def _lookups_once_overdue(self, project: str) -> int:
        """Without a v2 sweep, lookups are what evaluate v2: look again once the short clocks have run out."""
        self._wait_until_stuck()
        self.out.say(
            "the lookups again, fresh from Together, once the short clocks (0.01 min here) have run out: the"
            " degraded endpoint short of replicas, the provisioning one stuck",
            2,
        )
        for endpoint_id in (V2_DEGRADED_ID, V2_PROVISIONING_ID):
            response = self._relay_get(f"/v2/projects/{project}/endpoints/{endpoint_id}", refresh=True)
            self.out.say(f"-> {response['statusCode']}  X-Cache: {(response.get('headers') or {}).get('X-Cache')}", 4)
            self.digest()
        self.after_async()
        return self.notifications()

    def _wait_until_stuck(self) -> None:
        """The policy gives the stuck endpoint a limit of well under a second; make sure it has passed."""
        stuck_after = self.stack.options.policy.get("endpoints", {}).get(local.STUCK_ID, {})
        minutes = float(stuck_after.get("stuck_after_minutes", 0))
        if minutes * 60 <= 5:
            time.sleep(minutes * 60 + 0.1)

    def notifications(self) -> int:
        """Show what Slack's webhook and the SNS topic received since the last call; returns how many."""
        webhooks = self.stack.slack.messages("/services")[self._webhooks_shown :]
        self._webhooks_shown += len(webhooks)
        published = self.stack.sns_messages(max_messages=20, wait_seconds=1)
        self.out.say(f"Slack incoming webhook received {len(webhooks)} message(s)", 4)
        for message in webhooks:
            self._show_message(message, 6)
            self.out.say()
        self.out.say(f"SNS topic published {len(published)} message(s) (read from its SQS subscription)", 4)
        for envelope in published:
            self._show_sns(envelope, 6)
        return len(webhooks) + len(published)

    def _show_sns(self, envelope: dict[str, Any], indent: int) -> None:
        attributes = {name: value.get("Value") for name, value in (envelope.get("MessageAttributes") or {}).items()}
        self.out.say(f"Subject: {envelope.get('Subject')}", indent)
        self.out.say(f"MessageAttributes: {json.dumps(attributes, sort_keys=True)}", indent)
        message = envelope.get("Message") or ""
        try:
            document = json.loads(message)
        except ValueError:
            self.out.say(f"Message: {message[: WIDTH * 2]}", indent)
            return
        content = document.get("content") if isinstance(document, dict) else None
        if isinstance(content, dict):
            self.out.say(f"Message (Amazon Q custom notification, {document.get('source')}):", indent)
            for key in ("title", "description"):
                if content.get(key):
                    for line in readable(str(content[key])).split("\n"):
                        self.out.say(f"{key}: {line}" if key == "title" else f"  {line}", indent + 2)
        else:
            self.out.say(f"Message: {json.dumps(document)[: WIDTH * 2]}", indent)
        self.out.say()


# -- main --------------------------------------------------------------------------------------------------------------


def _run(demo: Demo) -> None:
    demo.show_stack()
    steps: list[tuple[str, Callable[[], None]]] = [
        ("HTTP lookup", demo.http_lookup),
        ("slash command", demo.slash_commands),
        ("scheduled sweep", demo.scheduled_sweep),
        ("v2 lookup", demo.v2_lookup),
        ("v1 view", demo.v1_view),
        ("v2 notices", demo.v2_notices),
        ("costed notice", lambda: demo_costs.run(demo)),
        ("idle deployment", lambda: demo_idle.run(demo)),
        ("fleet spend", lambda: demo_fleet.run(demo)),
        ("daily digest", lambda: demo_digest.run(demo)),
    ]
    for name, run in steps:
        with demo.step(name):
            run()


def _stopped(pids: list[int]) -> list[int]:
    """The given child PIDs that are still running (there should be none)."""
    alive = []
    for pid in pids:
        try:
            os.kill(pid, 0)
            alive.append(pid)
        except ProcessLookupError:
            pass
    return alive


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--verbose", action="store_true", help="also show the relay's INFO log lines")
    args = parser.parse_args(argv)
    terminal = sys.stdout
    out = Transcript(terminal, verbose=args.verbose)
    relay_output = RelayOutput()
    sys.stdout = relay_output  # before the handler is imported: see RelayOutput
    out.say(
        "endpoint-relay demo: the three functions' real handlers, end to end, with no AWS account, Docker or internet"
    )
    stack = DevStack(StackOptions(log_level="INFO"))
    demo = Demo(stack, out, relay_output)
    failure: Exception | None = None
    try:
        stack.start()
        stack.apply_env()
        _run(demo)
    except Exception as exc:  # reported below, after everything started has been stopped
        failure = exc
    finally:
        pids = stack.child_pids
        stack.stop()
        sys.stdout = terminal
    out.section("Stopped")
    alive = _stopped(pids)
    if pids:
        out.say(f"moto server (pid {', '.join(map(str, pids))}): {f'STILL RUNNING {alive}' if alive else 'exited'}", 2)
    out.say("Together simulator, Slack receiver, Lambda Invoke API: stopped (in-process)", 2)
    out.say()
    for name, outcome in demo.outcomes:
        out.say(f"{name:<16} {outcome}", 2)
    if failure is not None:
        kind = "" if isinstance(failure, DemoStepError) else f"{type(failure).__name__}: "
        out.say(f"FAILED: {kind}{failure}", 2)
        return 1
    return 1 if alive else 0


if __name__ == "__main__":
    sys.exit(main())
