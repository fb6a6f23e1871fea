"""The local stack behind `make demo` and `make serve`: AWS, Together and Slack, all on 127.0.0.1.

- moto in server mode, as a child process in its own process group (Secrets
  Manager, DynamoDB, SNS, SQS and SSM over real HTTP);
- the Together simulator (in-process), seeded with one endpoint per story the
  demo tells, v1 and v2 (devstack/v2_seed.py), unless a real upstream is configured;
- the Slack receiver (in-process) for incoming webhooks and response_urls;
- a local stand-in for Lambda's Invoke API, so ApiFunction's asynchronous
  invocation of the Slack worker runs the worker's entry point, as Lambda would.

It provisions what template.yaml defines, with the same secret layout, table
keys and environment variables, and returns the environment for the relay.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from devstack import aws
from devstack.aws import RelaySecretValues
from devstack.events import EVENTS_DIR
from devstack.local_lambda import FUNCTION_NAMES, WORKER, LambdaInvokeServer, LocalLambda
from devstack.moto_process import (
    AWS_IDENTITY,
    HOST,
    LOOPBACK_ENV,
    SECRET_INPUTS,
    MotoServer,
    bypass_proxies_for_loopback,
)
from devstack.slack_receiver import SlackReceiver
from devstack.together_sim import TogetherSimulator, make_endpoint
from devstack.together_v2_docs import DEFAULT_PROJECT_ID
from devstack.v2_seed import demo_policy_v2, seeded_instance_types, seeded_v2_endpoints

SIM_API_KEY_PREFIX = "tgp-local-"

# One endpoint per story the demo tells; ids are fixed so the docs can use them.
HEALTHY_ID = "endpoint-demo-healthy"
ERROR_ID = "endpoint-demo-error"
BAD_REPLICAS_ID = "endpoint-demo-bad-replicas"
STUCK_ID = "endpoint-demo-stuck-starting"
SEEDED_IDS = (HEALTHY_ID, ERROR_ID, BAD_REPLICAS_ID, STUCK_ID)


def seeded_endpoints() -> list[dict[str, Any]]:
    return [
        make_endpoint(HEALTHY_ID, display_name="Chat (healthy)", min_replicas=1, max_replicas=2),
        make_endpoint(ERROR_ID, display_name="Embeddings (error)", state="ERROR"),
        # min above max: no scaling policy can satisfy it.
        make_endpoint(BAD_REPLICAS_ID, display_name="Rerank (bad replica bounds)", min_replicas=4, max_replicas=1),
        make_endpoint(STUCK_ID, display_name="Vision (stuck starting)", state="STARTING"),
    ]


POLICY_PARAMETER = "/endpoint-relay/local/policy"
TEMPLATE = Path(__file__).resolve().parent.parent / "template.yaml"
FUNCTION_TYPE = "AWS::Serverless::Function"
# The pseudo parameters the function's environment refers to, as a local stack would see them.
LOCAL_PSEUDO_PARAMETERS = {"AWS::StackName": "endpoint-relay-local"}


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    """template.yaml, with CloudFormation's short-form intrinsics kept as ``{"!Ref": ...}``-style mappings."""
    import yaml

    loader = type("TemplateLoader", (yaml.SafeLoader,), {})

    def intrinsic(constructor: Any, suffix: str, node: Any) -> dict[str, Any]:
        if isinstance(node, yaml.ScalarNode):
            return {f"!{suffix}": constructor.construct_scalar(node)}
        if isinstance(node, yaml.SequenceNode):
            return {f"!{suffix}": constructor.construct_sequence(node, deep=True)}
        return {f"!{suffix}": constructor.construct_mapping(node, deep=True)}

    yaml.add_multi_constructor("!", intrinsic, Loader=loader)
    document: dict[str, Any] = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)  # noqa: S506 - SafeLoader
    return document


def declared_environments(template: dict[str, Any]) -> dict[str, tuple[dict[str, str], list[str]]]:
    """Per function: its variables with literal values or parameter defaults, and the names bound to anything else."""
    globals_env = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    return {
        name: _resolve({**globals_env, **resource["Properties"].get("Environment", {}).get("Variables", {})}, template)
        for name, resource in template["Resources"].items()
        if resource.get("Type") == FUNCTION_TYPE
    }


def declared_environment(template: dict[str, Any]) -> tuple[dict[str, str], list[str]]:
    """Every function's variables together: the local stack runs one relay process that serves every trigger."""
    values: dict[str, str] = {}
    bound: set[str] = set()
    for function_values, function_bound in declared_environments(template).values():
        values.update(function_values)
        bound.update(function_bound)
    return values, sorted(bound - set(values))


def _resolve(declared: dict[str, Any], template: dict[str, Any]) -> tuple[dict[str, str], list[str]]:
    parameters = template.get("Parameters", {})
    values: dict[str, str] = {}
    bound: list[str] = []
    for name, value in declared.items():
        resolved = _literal_or_default(value, parameters, template.get("Mappings", {}))
        if resolved is None:
            bound.append(name)
        else:
            values[name] = resolved
    return values, bound


def _literal_or_default(value: Any, parameters: dict[str, Any], mappings: dict[str, Any]) -> str | None:
    """A literal, a parameter's default, a pseudo parameter's local value, or a mapping looked up by one of them."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str | int | float):
        return str(value)
    reference = value.get("!Ref") if isinstance(value, dict) else None
    if isinstance(reference, str) and reference in parameters:
        return str(parameters[reference].get("Default", ""))
    if isinstance(reference, str) and reference in LOCAL_PSEUDO_PARAMETERS:
        return LOCAL_PSEUDO_PARAMETERS[reference]
    lookup = value.get("!FindInMap") if isinstance(value, dict) else None
    if isinstance(lookup, list) and len(lookup) == 3:
        mapping, key, attribute = lookup
        key = _literal_or_default(key, parameters, mappings)
        entry = mappings.get(mapping, {}).get(key, {}) if key is not None else {}
        return str(entry[attribute]) if attribute in entry else None
    return None


def demo_policy(stuck_after_minutes: float) -> dict[str, Any]:
    """The team's expectations: at least one replica, at most four, nothing stuck for long.

    The stuck endpoint gets a short limit so a local run shows that finding
    without waiting half an hour; it fires from the second sweep that sees it.
    """
    return {
        "defaults": {"min_replicas": 1, "max_replicas": 4, "stuck_after_minutes": 30},
        "endpoints": {STUCK_ID: {"stuck_after_minutes": stuck_after_minutes}, **demo_policy_v2(stuck_after_minutes)},
    }


@dataclass(frozen=True)
class StackOptions:
    relay_token: str = field(default_factory=lambda: "relay-local-" + secrets.token_urlsafe(12), repr=False)
    slack_signing_secret: str = field(default_factory=lambda: secrets.token_hex(16), repr=False)
    slack_webhook_url: str | None = field(default=None, repr=False)
    """None: alerts go to the local Slack receiver."""
    together_base_url: str | None = None
    """With ``together_api_key``: use this upstream instead of the simulator."""
    together_api_key: str | None = field(default=None, repr=False)
    project_id: str | None = None
    """TOGETHER_PROJECT_ID; None means the simulator's project with the simulator, and none otherwise."""
    log_level: str = "INFO"
    sweep_ids: tuple[str, ...] = SEEDED_IDS
    policy: dict[str, Any] = field(default_factory=lambda: demo_policy(stuck_after_minutes=0.01))
    """The alert policy document, stored in SSM as POLICY_PARAMETER_NAME names it."""
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def uses_simulator(self) -> bool:
        return not (self.together_base_url and self.together_api_key)

    @property
    def default_project_id(self) -> str | None:
        if self.project_id is not None:
            return self.project_id
        return DEFAULT_PROJECT_ID if self.uses_simulator else None


@dataclass(frozen=True)
class Resources:
    """What was provisioned on moto, named as template.yaml names it."""

    secret_arn: str
    cache_table: str
    topic_arn: str
    sns_queue_url: str
    alert_table: str
    policy_parameter: str


def resource_variables(resources: Resources) -> dict[str, str]:
    """What template.yaml takes from resources (or conditions over them), from what the stack provisioned."""
    return {
        "RELAY_SECRET_ID": resources.secret_arn,
        "CACHE_TABLE_NAME": resources.cache_table,
        "ALERT_TABLE_NAME": resources.alert_table,
        "ALERT_TOPIC_ARN": resources.topic_arn,
        # The local Invoke API runs the Slack worker's entry point under this name.
        "SLACK_WORKER_FUNCTION": FUNCTION_NAMES[WORKER],
        # The DigestEnabled condition at DailyDigest's default (Disabled): sweeps leave the digest alone.
        "DAILY_DIGEST": "false",
    }


class DevStack:
    """Start with :meth:`start` (or ``with``); :attr:`env` is the relay's environment."""

    def __init__(self, options: StackOptions | None = None) -> None:
        self.options = options or StackOptions()
        self.moto = MotoServer()
        self.together: TogetherSimulator | None = None
        self.slack = SlackReceiver(host=HOST)
        self.relay = LocalLambda()
        self.lambda_invoke = LambdaInvokeServer(self.relay)
        self.resources: Resources | None = None
        self.env: dict[str, str] = {}
        self._together_api_key = self.options.together_api_key or SIM_API_KEY_PREFIX + secrets.token_urlsafe(12)
        self._started: list[Callable[[], None]] = []

    # -- lifecycle ---------------------------------------------------------------------------------------------

    def start(self) -> DevStack:
        """Start every part and provision; then :meth:`apply_env` before invoking the relay."""
        bypass_proxies_for_loopback()  # before any client is made, here and (inherited) in moto
        try:
            self.moto.start()
            self._started.append(self.moto.close)
            self.slack.start()
            self._started.append(self.slack.stop)
            if self.options.uses_simulator:
                self.together = TogetherSimulator(host=HOST, api_keys={self._together_api_key}).start()
                self._started.append(self.together.stop)
                for document in seeded_endpoints():
                    self.together.put(document)
                self.together.v2.add_project(DEFAULT_PROJECT_ID)  # the v2 project make serve defaults to
                for instance_type in seeded_instance_types():
                    self.together.v2.put_instance_type(instance_type)
                for seeded in seeded_v2_endpoints():
                    self.together.v2.put_endpoint(seeded.endpoint, seeded.deployments)
                    self.together.v2.add_events(*seeded.events)
            self.lambda_invoke.start()
            self._started.append(self.lambda_invoke.stop)
            self.resources = self._provision()
            self.env = self._relay_environment(self.resources)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop everything started, newest first; safe to call twice."""
        while self._started:
            stop = self._started.pop()
            with contextlib.suppress(Exception):
                stop()

    def __enter__(self) -> DevStack:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    @property
    def child_pids(self) -> list[int]:
        return [pid for pid in (self.moto.pid,) if pid is not None]

    # -- the relay's view ----------------------------------------------------------------------------------------

    @property
    def together_base_url(self) -> str:
        if self.together is not None:
            return self.together.base_url
        assert self.options.together_base_url  # noqa: S101 - uses_simulator is False
        return self.options.together_base_url

    @property
    def slack_webhook_url(self) -> str:
        return self.options.slack_webhook_url or self.slack.webhook_url()

    def apply_env(self) -> None:
        """Make this process look like the relay's Lambda container (call before importing the handler)."""
        for name in (*SECRET_INPUTS, *AWS_IDENTITY):
            os.environ.pop(name, None)
        os.environ.update(self.env)

    def sns_messages(self, max_messages: int = 10, wait_seconds: int = 1) -> list[dict[str, Any]]:
        """SNS notifications delivered to the topic's SQS subscription (each is SNS's JSON envelope)."""
        assert self.resources is not None  # noqa: S101 - started
        sqs = aws.aws_client("sqs", self.moto.url)
        received: list[dict[str, Any]] = []
        for _ in range(max(1, max_messages)):  # bounded: at most one receive per wanted message
            answer = sqs.receive_message(
                QueueUrl=self.resources.sns_queue_url,
                MaxNumberOfMessages=min(10, max_messages - len(received)),
                WaitTimeSeconds=wait_seconds if not received else 0,
            )
            batch = answer.get("Messages", [])
            if not batch:
                break
            for message in batch:
                received.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=self.resources.sns_queue_url, ReceiptHandle=message["ReceiptHandle"])
            if len(received) >= max_messages:
                break
        return received

    # -- provisioning ------------------------------------------------------------------------------------------

    def _provision(self) -> Resources:
        url = self.moto.url
        secret_arn = aws.create_secret(
            url,
            RelaySecretValues(
                together_api_key=self._together_api_key,
                relay_tokens=(self.options.relay_token,),
                slack_signing_secret=self.options.slack_signing_secret,
                slack_webhook_url=self.slack_webhook_url,
            ),
            name="endpoint-relay/local",
        )
        cache_table = aws.create_cache_table(url, name="endpoint-relay-local-cache")
        alert_table = aws.create_alert_table(url, name="endpoint-relay-local-alerts")
        topic_arn, queue_url = aws.create_topic_with_queue(url, "endpoint-relay-local-alerts")
        aws.put_policy_parameter(url, POLICY_PARAMETER, self.options.policy)
        return Resources(
            secret_arn=secret_arn,
            cache_table=cache_table,
            topic_arn=topic_arn,
            sns_queue_url=queue_url,
            alert_table=alert_table,
            policy_parameter=POLICY_PARAMETER,
        )

    def _relay_environment(self, resources: Resources) -> dict[str, str]:
        """The function's environment as template.yaml sets it (parameter defaults), pointed at this stack."""
        env, bound_to_resources = declared_environment(load_template())
        local = {
            # What the template takes from resources and conditions, here from what was provisioned.
            **resource_variables(resources),
            # Parameters given a local value.
            "TOGETHER_API_BASE_URL": self.together_base_url,
            "TOGETHER_PROJECT_ID": self.options.default_project_id or "",
            "POWERTOOLS_LOG_LEVEL": self.options.log_level,
            "POLICY_PARAMETER_NAME": resources.policy_parameter,
            # Slack's hooks host stays allowed; the loopback receiver is added (over http) so
            # deferred slash-command replies can be shown locally.
            "SLACK_RESPONSE_URL_HOSTS": f"hooks.slack.com,{HOST}",
            "SLACK_RESPONSE_URL_ALLOW_HTTP": "true",
            # What Lambda sets, and the endpoints that keep every AWS call on loopback.
            **LOOPBACK_ENV,
            "SLACK_WORKER_FUNCTION": FUNCTION_NAMES[WORKER],
            "AWS_ENDPOINT_URL": self.moto.url,
            # The Slack worker's invocation goes to the local Invoke API, which runs the worker's entry point.
            "AWS_ENDPOINT_URL_LAMBDA": self.lambda_invoke.url,
        }
        unknown = sorted(set(bound_to_resources) - set(local))
        if unknown:  # tests/integration/test_serve.py catches this; a local run goes on without them
            names = ", ".join(unknown)
            print(f"devstack: no local value for {names}, which template.yaml takes from resources", file=sys.stderr)
        env.update(local)
        env.update(self.options.extra_env)
        return env


# -- events for the other triggers, built from the samples in events/ -------------------------------------------------

SLASH_COMMAND_SAMPLE = "slack_command.json"
SCHEDULED_SWEEP_SAMPLE = "scheduled_sweep.json"


def slack_signature_headers(signing_secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """The headers Slack sends with a request: scheme v0, HMAC-SHA256 over ``v0:{timestamp}:{body}``."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(signing_secret.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
    return {"x-slack-request-timestamp": stamp, "x-slack-signature": f"v0={digest}"}


def _sample(name: str) -> dict[str, Any] | None:
    path = EVENTS_DIR / name
    if not path.is_file():
        return None
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def slash_command_event(
    stack: DevStack, text: str, *, command: str | None = None, response_url: str | None = None
) -> dict[str, Any] | None:
    """events/slack_command.json with new text and a fresh signature; None while that sample does not exist.

    Everything else (route, form fields, headers, base64 encoding) is the sample's,
    so the demo sends what API Gateway delivers for a real slash command.
    """
    event = _sample(SLASH_COMMAND_SAMPLE)
    if event is None:
        return None
    raw = event.get("body") or ""
    body = base64.b64decode(raw) if event.get("isBase64Encoded") else raw.encode()
    form = dict(parse_qsl(body.decode(), keep_blank_values=True))
    form["text"] = text
    if command:
        form["command"] = command
    form["response_url"] = response_url or stack.slack.url + "/commands/T0DEMO/1/local"
    # Slack's trigger_id is fresh per request; the relay refuses a signed request it has seen before.
    form["trigger_id"] = f"{int(time.time())}.1.{secrets.token_hex(16)}"
    new_body = urlencode(form).encode()
    headers = {
        name: value
        for name, value in (event.get("headers") or {}).items()
        if name not in ("x-slack-signature", "x-slack-request-timestamp", "content-length")
    }
    headers.update(slack_signature_headers(stack.options.slack_signing_secret, new_body))
    headers["content-length"] = str(len(new_body))
    event["headers"] = headers
    event["body"] = base64.b64encode(new_body).decode() if event.get("isBase64Encoded") else new_body.decode()
    _refresh_request_context(event)
    return event


def form_field(event: dict[str, Any], name: str) -> str | None:
    """A field of an HTTP event's form body (base64 or not)."""
    raw = event.get("body") or ""
    body = base64.b64decode(raw).decode() if event.get("isBase64Encoded") else raw
    return dict(parse_qsl(body, keep_blank_values=True)).get(name)


def _refresh_request_context(event: dict[str, Any]) -> None:
    context = event.get("requestContext")
    if isinstance(context, dict):
        now = time.time()
        context["requestId"] = secrets.token_urlsafe(12)
        context["time"] = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now))
        context["timeEpoch"] = int(now * 1000)


def scheduled_event(stack: DevStack) -> dict[str, Any] | None:
    """events/scheduled_sweep.json as EventBridge delivers it now; None while that sample does not exist."""
    event = _sample(SCHEDULED_SWEEP_SAMPLE)
    if event is None:
        return None
    if "id" in event:
        event["id"] = str(uuid.uuid4())
    if "time" in event:
        event["time"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    endpoints = event.get("endpoints")
    if endpoints is not None and endpoints != "all":
        # The sample names ids of its own; sweep what this stack serves instead.
        event["endpoints"] = list(stack.options.sweep_ids) if stack.options.uses_simulator else "all"
    return event
