"""The fault matrix: every way a dependency can break, what the relay does about it, and that nothing is lost.

One table, one row per fault. Each row runs end to end through ``lambda_handler``
against moto server, the Together simulator and the local Slack receiver, with the
relay's alerting on and an endpoint in ERROR, so a firing notice is owed:

1. the fault is injected (the Together simulator's scripted faults, a local AWS endpoint
   speaking the service's own error protocol, the Slack receiver's scripted replies, or a
   broken secret);
2. the relay meets it, through an HTTP lookup or a scheduled sweep, and the row's
   expectation is checked (status and ErrorData code, or which sinks received the message);
3. the fault is healed and the next sweep runs: each sink then holds exactly one firing
   message, so no notification was lost and none was doubled.

Every row also asserts that no secret reached a log line, a response, stdout or a Slack or
SNS message; the autouse leak check (tests/conftest.py) repeats that after teardown.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from devstack.aws import aws_client, put_secret
from devstack.slack_receiver import ScriptedReply, SlackReceiver
from devstack.together_sim import Fault, TogetherSimulator, make_endpoint
from endpoint_relay.settings import UpstreamSettings
from tests.integration.alerting_support import AlertingHarness
from tests.integration.aws_faults import AwsFault, AwsFaultProxy
from tests.leakcheck import COLLECTOR

pytestmark = pytest.mark.integration

EP = "endpoint-d23901de-ef8f-44bf-b3e7-de9c1ca8f2d7"
PATH = f"/v1/endpoints/{EP}"
FAULTS_URL = "{faults}"
"""Stands for the fault proxy's URL in a row's environment."""


@dataclass
class World:
    """What a row can break and look at."""

    alerting: AlertingHarness
    together: TogetherSimulator
    aws: AwsFaultProxy
    other_host: TogetherSimulator
    secret_id: str
    secret_document: dict[str, Any]

    @property
    def receiver(self) -> SlackReceiver:
        return self.alerting.receiver

    def counts(self) -> tuple[int, int]:
        """Firing messages for EP that reached (Slack, SNS)."""
        return len(self.alerting.slack_payloads()), len(self.alerting.sns_notifications())


Step = Callable[[World], None]


def _nothing(_: World) -> None:
    return None


# -- faults ----------------------------------------------------------------------------------------------------------


def upstream(*faults: Fault) -> Step:
    """The next requests to Together get these answers, in order."""
    return lambda world: world.together.inject(*faults)


def serves(**fields: Any) -> Step:
    """Together serves EP with these fields (an unknown state, no autoscaling...)."""

    def change(world: World) -> None:
        world.together.put(make_endpoint(EP, **fields))

    return change


def redirect_to_other_host(world: World) -> None:
    world.together.inject(Fault(status=302, headers={"Location": f"{world.other_host.base_url}/endpoints/{EP}"}))


def aws(status: int, code: str, *operations: str) -> Step:
    """The fault proxy answers these operations (all, if none named) with an AWS error."""
    fault = AwsFault(status=status, code=code, operations=frozenset(operations) or None)
    return lambda world: world.aws.fail(fault)


def aws_unreachable(world: World) -> None:
    world.aws.fail(AwsFault(reset_connection=True))


def aws_hanging(world: World) -> None:
    """No answer within the clients' 3 s read timeout, on every attempt."""
    world.aws.fail(AwsFault(reset_connection=True, delay=3.5))


def secret_text(text: str) -> Step:
    return lambda world: put_secret(world.alerting.relay.moto_endpoint, world.secret_id, text)


def secret_without(key: str) -> Step:
    def change(world: World) -> None:
        document = {name: value for name, value in world.secret_document.items() if name != key}
        put_secret(world.alerting.relay.moto_endpoint, world.secret_id, document)

    return change


def slack_replies(*replies: ScriptedReply) -> Step:
    return lambda world: world.receiver.script(*replies)


# -- healing ---------------------------------------------------------------------------------------------------------


def heal_aws(world: World) -> None:
    world.aws.heal()


def restore_secret(world: World) -> None:
    put_secret(world.alerting.relay.moto_endpoint, world.secret_id, world.secret_document)


def create_missing_secret(world: World) -> None:
    client = aws_client("secretsmanager", world.alerting.relay.moto_endpoint)
    client.create_secret(Name=world.secret_id, SecretString=json.dumps(world.secret_document))


# -- what the relay does ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answers:
    """An HTTP lookup through lambda_handler meets the fault and answers with ``status``."""

    status: int
    code: str | None = None
    """The ErrorData code; None for a 200 carrying Together's JSON unchanged."""
    retry_after_at_least: int | None = None
    upstream_calls: int | None = None
    announced: bool = False
    """The lookup itself retrieved the endpoint, so the state store had it announced at once."""
    also: Step = _nothing

    def __str__(self) -> str:
        return f"{self.status} {self.code or 'with Together JSON'}"

    def meet(self, world: World) -> None:
        response = world.alerting.relay.get(PATH)
        assert response["statusCode"] == self.status, response
        if self.code is None:
            assert json.loads(response["body"])["id"] == EP
            assert response["headers"]["X-Cache"] == "MISS"
        else:
            error = json.loads(response["body"])["error"]
            assert set(error) == {"message", "type", "param", "code"}
            assert error["code"] == self.code
        if self.retry_after_at_least is not None:
            assert int(response["headers"]["Retry-After"]) >= self.retry_after_at_least
        if self.upstream_calls is not None:
            assert world.together.call_count(EP) == self.upstream_calls
        assert world.counts() == ((1, 1) if self.announced else (0, 0))
        self.also(world)


@dataclass(frozen=True)
class Delivers:
    """A sweep meets the fault while notifying: (slack, sns) messages arrive at once, the rest stays owed."""

    slack: int
    sns: int

    def __str__(self) -> str:
        return f"sweep delivers slack={self.slack} sns={self.sns}, the rest on the next sweep"

    def meet(self, world: World) -> None:
        result = world.alerting.sweep(EP)
        assert result["firing"] == [EP] and result["failed"] == []
        assert result["notifications_sent"] == self.slack + self.sns
        assert result["delivery_failures"] == 2 - self.slack - self.sns
        assert world.counts() == (self.slack, self.sns)


def other_host_untouched(world: World) -> None:
    assert world.other_host.call_count() == 0 and world.other_host.auth_failures == 0
    assert world.other_host.last_request_headers == {}  # the key never went to the other host


def aws_operations_failed(world: World) -> None:
    assert sum(world.aws.failed.values()) > 0, "the fault was never met"


@dataclass(frozen=True)
class Row:
    source: str
    fault: str
    inject: Step
    expect: Answers | Delivers
    heal: Step = _nothing
    env: Mapping[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.source}:{self.fault}".replace(" ", "-")


# -- the matrix ------------------------------------------------------------------------------------------------------

DYNAMODB = {"AWS_ENDPOINT_URL_DYNAMODB": FAULTS_URL}
SECRETS_MANAGER = {"AWS_ENDPOINT_URL_SECRETS_MANAGER": FAULTS_URL}
SNS = {"AWS_ENDPOINT_URL_SNS": FAULTS_URL}
OVERSIZED = json.dumps(
    {**make_endpoint(EP, state="ERROR"), "padding": "x" * UpstreamSettings().max_response_bytes}
).encode()

# fmt: off
MATRIX = [
    # Together upstream: nothing cached, so the lookup answers with the failure; a sweep later recovers.
    Row("together", "latency beyond the budget", upstream(*[Fault(status=200, delay=1.0)] * 3),
        Answers(504, "upstream_timeout", upstream_calls=3), env={"UPSTREAM_READ_TIMEOUT_SECONDS": "0.3"}),
    Row("together", "429 with a short Retry-After", upstream(Fault(status=429, headers={"Retry-After": "0"})),
        Answers(200, upstream_calls=2, announced=True)),
    Row("together", "429 with a long Retry-After", upstream(Fault(status=429, headers={"Retry-After": "30"})),
        Answers(503, "upstream_busy", retry_after_at_least=30, upstream_calls=1)),
    Row("together", "429 with a garbled Retry-After", upstream(*[Fault(429, headers={"Retry-After": "soon"})] * 3),
        Answers(429, "upstream_rate_limited", retry_after_at_least=1, upstream_calls=3)),
    Row("together", "500", upstream(*[Fault(status=500)] * 3), Answers(502, "upstream_unavailable", upstream_calls=3)),
    Row("together", "502", upstream(*[Fault(status=502)] * 3), Answers(502, "upstream_unavailable", upstream_calls=3)),
    Row("together", "503", upstream(*[Fault(status=503)] * 3), Answers(502, "upstream_unavailable", upstream_calls=3)),
    Row("together", "connection reset", upstream(*[Fault(reset_connection=True)] * 3),
        Answers(502, "upstream_unavailable", upstream_calls=3)),
    Row("together", "truncated body", upstream(Fault(status=200, body=OVERSIZED[:200], truncate=True)),
        Answers(502, "upstream_unavailable", upstream_calls=1)),
    Row("together", "HTML body", upstream(Fault(status=200, body=b"<html><body>Bad gateway</body></html>")),
        Answers(502, "upstream_invalid_response", upstream_calls=1)),
    Row("together", "oversized body", upstream(Fault(status=200, body=OVERSIZED)),
        Answers(502, "upstream_invalid_response", upstream_calls=1)),
    Row("together", "redirect to another host", redirect_to_other_host,
        Answers(502, "upstream_invalid_response", upstream_calls=1, also=other_host_untouched)),
    Row("together", "unknown state", serves(state="HIBERNATING"), Answers(200, announced=True)),
    Row("together", "missing autoscaling", serves(autoscaling=None), Answers(200, announced=True)),
    # Secrets Manager: the lookup cannot authenticate anybody; ErrorData says whether to retry.
    Row("secrets-manager", "access denied", aws(400, "AccessDeniedException"),
        Answers(500, "relay_misconfigured", upstream_calls=0, also=aws_operations_failed), heal_aws, SECRETS_MANAGER),
    Row("secrets-manager", "throttled", aws(400, "ThrottlingException"),
        Answers(503, "relay_secret_unavailable", retry_after_at_least=1, upstream_calls=0, also=aws_operations_failed),
        heal_aws, SECRETS_MANAGER),
    Row("secrets-manager", "missing", _nothing, Answers(500, "relay_misconfigured", upstream_calls=0),
        create_missing_secret, {"RELAY_SECRET_ID": "endpoint-relay/missing-{uid}"}),
    Row("secrets-manager", "not JSON", secret_text("together_api_key=tgp-not-json"),
        Answers(500, "relay_misconfigured", upstream_calls=0), restore_secret),
    Row("secrets-manager", "missing key", secret_without("together_api_key"),
        Answers(500, "relay_misconfigured", upstream_calls=0), restore_secret),
    # DynamoDB (shared cache and alert state): lookups still answer from Together; alerting catches up.
    Row("dynamodb", "throttled", aws(400, "ProvisionedThroughputExceededException"),
        Answers(200, upstream_calls=1, also=aws_operations_failed), heal_aws, DYNAMODB),
    Row("dynamodb", "conditional-check failure", aws(400, "ConditionalCheckFailedException", "PutItem", "UpdateItem"),
        Answers(200, upstream_calls=1, also=aws_operations_failed), heal_aws, DYNAMODB),
    Row("dynamodb", "unavailable", aws_unreachable,
        Answers(200, upstream_calls=1, also=aws_operations_failed), heal_aws, DYNAMODB),
    Row("dynamodb", "not answering", aws_hanging,  # ~18 s: 3 calls x 2 attempts x 3 s, inside Lambda's 29 s
        Answers(200, upstream_calls=1, also=aws_operations_failed), heal_aws, DYNAMODB),
    # SNS: Slack still gets its message; SNS gets it on the next sweep.
    Row("sns", "authorisation error", aws(403, "AuthorizationError"), Delivers(slack=1, sns=0), heal_aws, SNS),
    Row("sns", "throttling", aws(429, "Throttled"), Delivers(slack=1, sns=0), heal_aws, SNS),
    # Slack webhook: SNS still gets its message; Slack gets it on the next sweep (or at once after a short wait).
    Row("slack", "400", slack_replies(ScriptedReply(400, "invalid_payload")), Delivers(slack=0, sns=1)),
    Row("slack", "404", slack_replies(ScriptedReply(404, "channel_not_found")), Delivers(slack=0, sns=1)),
    Row("slack", "410", slack_replies(ScriptedReply(410, "channel_is_archived")), Delivers(slack=0, sns=1)),
    Row("slack", "429 with a short Retry-After",
        slack_replies(ScriptedReply(429, "rate_limited", headers={"Retry-After": "1"})), Delivers(slack=1, sns=1)),
    Row("slack", "429 with a long Retry-After",
        slack_replies(ScriptedReply(429, "rate_limited", headers={"Retry-After": "30"})), Delivers(slack=0, sns=1)),
    Row("slack", "500", slack_replies(ScriptedReply(500, "internal_error")), Delivers(slack=0, sns=1)),
    Row("slack", "timeout", slack_replies(ScriptedReply(503, "slow", delay=1.5)), Delivers(slack=0, sns=1)),
]
# fmt: on


@pytest.fixture(scope="module")
def other_host() -> Iterator[TogetherSimulator]:
    with TogetherSimulator() as simulator:
        yield simulator


@pytest.fixture
def aws_faults(linearizable_moto_endpoint: str) -> Iterator[AwsFaultProxy]:
    with AwsFaultProxy(linearizable_moto_endpoint) as proxy:
        yield proxy


@pytest.mark.parametrize("row", MATRIX, ids=[row.id for row in MATRIX])
def test_fault_matrix(
    row: Row,
    alerting_env: dict[str, str],
    together: TogetherSimulator,
    aws_faults: AwsFaultProxy,
    other_host: TogetherSimulator,
    request: pytest.FixtureRequest,
) -> None:
    # Given the relay with alerting on (Slack and SNS), the row's services routed as it says,
    secret = aws_client("secretsmanager", alerting_env["AWS_ENDPOINT_URL"])
    document = json.loads(secret.get_secret_value(SecretId=alerting_env["RELAY_SECRET_ID"])["SecretString"])
    for name, value in row.env.items():
        alerting_env[name] = value.replace(FAULTS_URL, aws_faults.url).replace("{uid}", uuid.uuid4().hex[:8])
    alerting: AlertingHarness = request.getfixturevalue("alerting")
    world = World(alerting, together, aws_faults, other_host, alerting_env["RELAY_SECRET_ID"], document)
    # and an endpoint in ERROR: a firing notice is owed to each sink
    together.put(make_endpoint(EP, state="ERROR"))
    row.inject(world)

    # When the relay meets the fault: the row's expectation holds
    row.expect.meet(world)

    # Then, once the fault is gone, the next sweep leaves exactly one firing message on each sink
    row.heal(world)
    alerting.clock.advance(300)
    recovery = alerting.sweep(EP)
    assert recovery["firing"] == [EP] and recovery["failed"] == [] and recovery["delivery_failures"] == 0
    assert world.counts() == (1, 1)
    assert all("Firing" in header for header in alerting.slack_headers())
    assert alerting.sns_event_types() == ["EndpointAlertFiring"]
    # And no secret reached a log line, a response, stdout or a message (checked again after teardown)
    assert not COLLECTOR.leak_sources()


def test_the_matrix_has_one_row_per_fault_across_every_source() -> None:
    covered = {(row.source, row.fault) for row in MATRIX}
    assert len(covered) == len(MATRIX)
    assert {source for source, _ in covered} == {"together", "secrets-manager", "dynamodb", "sns", "slack"}
    assert len(MATRIX) == 32


@pytest.mark.parametrize(
    ("service", "variable", "call"),
    [
        ("dynamodb", "AWS_ENDPOINT_URL_DYNAMODB", lambda client: client.get_item(TableName="t", Key={"pk": {"S": EP}})),
        (
            "sns",
            "AWS_ENDPOINT_URL_SNS",
            lambda client: client.publish(TopicArn=f"arn:aws:sns:us-east-1:{'1' * 12}:t", Message="m"),
        ),
        ("secretsmanager", "AWS_ENDPOINT_URL_SECRETS_MANAGER", lambda client: client.get_secret_value(SecretId="s")),
    ],
    ids=["dynamodb", "sns", "secretsmanager"],
)
def test_a_failing_aws_call_is_tried_twice_in_all(
    aws_faults: AwsFaultProxy, monkeypatch: pytest.MonkeyPatch, service: str, variable: str, call: Any
) -> None:
    # Given a service that keeps answering with a retryable error (the rows above rely on this bound)
    from botocore.exceptions import ClientError

    from endpoint_relay.adapters import aws_clients

    monkeypatch.setenv(variable, aws_faults.url)
    aws_faults.fail(AwsFault(status=503, code="ServiceUnavailable"))
    aws_clients.reset()
    try:
        # When the relay's client calls it
        with pytest.raises(ClientError):
            call(aws_clients.client(service))
    finally:
        aws_clients.reset()  # the next test's clients use its own endpoints
    # Then it tried twice, as the delivery and lookup budgets assume, not three times
    assert sum(aws_faults.failed.values()) == 2
