"""What each v2 request reads as, and which 404 it answers with.

A body is parsed only to be sure it is what was asked for (the relay passes it
on as sent): a body the models refuse, or one about another endpoint or
deployment than the path named, raises :class:`V2ParseError`, which the
adapter reports as an unusable upstream answer and the shared tier as an
unreadable item.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from endpoint_relay.core.analytics import request_counts
from endpoint_relay.core.errors import (
    DeploymentNotFoundError,
    EndpointNotFoundError,
    InstanceTypeNotFoundError,
    NotFoundError,
    ProjectNotFoundError,
)
from endpoint_relay.core.lookup import Resource
from endpoint_relay.core.v2_models import (
    Deployment,
    Endpoint,
    Event,
    InstanceType,
    Page,
    V2ParseError,
    load_json,
)
from endpoint_relay.core.v2_request import V2Request, V2Resource

_ITEMS: dict[V2Resource, Callable[[Any], object]] = {
    V2Resource.ENDPOINTS: Endpoint.from_dict,
    V2Resource.EVENTS: Event.from_dict,
    V2Resource.DEPLOYMENTS: Deployment.from_dict,
    V2Resource.INSTANCE_TYPES: InstanceType.from_dict,
}

_NOT_FOUND: dict[V2Resource, tuple[type[NotFoundError], str, str]] = {
    V2Resource.ENDPOINT: (EndpointNotFoundError, "endpoint not found", "id"),
    V2Resource.ENDPOINTS: (ProjectNotFoundError, "project not found", "projectId"),
    V2Resource.EVENTS: (EndpointNotFoundError, "endpoint not found", "id"),
    V2Resource.ANALYTICS: (EndpointNotFoundError, "endpoint not found", "id"),
    V2Resource.DEPLOYMENTS: (EndpointNotFoundError, "endpoint not found", "endpointId"),
    V2Resource.DEPLOYMENT: (DeploymentNotFoundError, "deployment not found", "id"),
    V2Resource.INSTANCE_TYPE: (InstanceTypeNotFoundError, "instance type not found", "id"),
    V2Resource.INSTANCE_TYPES: (NotFoundError, "instance types not found", "id"),
}


def not_found(request: V2Request) -> NotFoundError:
    kind, message, param = _NOT_FOUND[request.resource]
    return kind(message, param=param)


def parse_endpoint(request: V2Request, body: str) -> Endpoint:
    endpoint = Endpoint.from_dict(load_json(body))
    if endpoint.id != request.endpoint_id:
        raise V2ParseError("the body is about another endpoint")
    return endpoint


def parse_body(request: V2Request, body: str) -> object:
    """The body as the model of ``request``'s resource; raises V2ParseError (a ValueError)."""
    resource = request.resource
    if resource is V2Resource.ENDPOINT:
        return parse_endpoint(request, body)
    document = load_json(body)
    if resource is V2Resource.DEPLOYMENT:
        deployment = Deployment.from_dict(document)
        if deployment.id != request.deployment_id:
            raise V2ParseError("the body is about another deployment")
        return deployment
    if resource is V2Resource.INSTANCE_TYPE:
        return InstanceType.from_dict(document)
    if resource is V2Resource.ANALYTICS:
        counts = request_counts(document)
        if counts.endpoint_id is not None and counts.endpoint_id != request.endpoint_id:
            raise V2ParseError("the body is about another endpoint")
        return counts
    return Page.from_dict(document, _ITEMS[resource])


class V2Source(Protocol):
    def get_v2(self, request: V2Request, api_key: str) -> tuple[str, Any]:
        """The raw body and its model; raises UpstreamError, InvalidQueryError or the request's NotFoundError."""
        ...


def v2_resource(source: V2Source, request: V2Request) -> Resource[Any]:
    """``request`` as the lookup service caches it: by its canonical path and query."""
    return Resource(
        key=request.cache_key,
        fetch=lambda api_key: source.get_v2(request, api_key),
        parse=lambda body: parse_body(request, body),
        not_found=lambda: not_found(request),
    )
