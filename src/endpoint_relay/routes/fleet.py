"""GET /relay/fleet: the fleet's spend as JSON (docs/cost.md, "Fleet view"), with the lookups' auth and headers."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from endpoint_relay.observability import count
from endpoint_relay.routes.lookup_http import CallerAuth, cached_response, http_event, wants_refresh

if TYPE_CHECKING:
    from endpoint_relay.app.fleet_view import FleetView

FLEET_PATH = "/relay/fleet"


def fleet_router(*, fleet: Callable[[], FleetView], auth: CallerAuth) -> Router:
    """``fleet`` builds the view on the first call: a lookup's cold start never imports it."""
    router = Router()

    @router.get(FLEET_PATH)
    def get_fleet() -> Response[str]:
        event = http_event(router)
        auth.authenticate(event)
        answer = fleet().answer(force_refresh=wants_refresh(event))
        count("FleetViews")
        body = json.dumps(answer.fleet.to_dict(), separators=(",", ":"))
        return cached_response(body, answer.status, answer.age, answer.max_age)

    return router
