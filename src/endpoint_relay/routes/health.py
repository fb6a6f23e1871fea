"""GET /healthz: liveness only; no secret and no upstream call."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.api_gateway import Router

router = Router()


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}
