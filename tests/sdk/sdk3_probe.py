"""Run by .venv-sdk3's python: the Together SDK 3.x pointed at the relay, printing what it read as JSON.

Usage: ``sdk3_probe.py RELAY_URL TOKEN PROJECT_ID ENDPOINT_ID DEPLOYMENT_ID PAGE_SIZE``. The caller compares
each result with what the Together simulator holds. ``to_dict()`` gives the JSON keys as the API sent them.
"""

from __future__ import annotations

import json
import sys

from together import Together  # type: ignore[import-not-found,unused-ignore]


def main() -> None:
    relay_url, token, project_id, endpoint_id, deployment_id, page_size = sys.argv[1:7]
    client = Together(base_url=relay_url, api_key=token, project_id=project_id, max_retries=0)
    endpoints = client.endpoints
    results = {
        "retrieve": endpoints.retrieve(endpoint_id).to_dict(),
        # Auto-paging: the SDK follows next_cursor through the relay until the last page.
        "list": [endpoint.to_dict() for endpoint in endpoints.list(limit=int(page_size))],
        "events": [event.to_dict() for event in endpoints.list_events(endpoint_id, min_level="LEVEL_WARN")],
        "deployments": [d.to_dict() for d in endpoints.deployments.list(endpoint_id)],
        "deployment": endpoints.deployments.retrieve(deployment_id, endpoint_id=endpoint_id).to_dict(),
        "instance_types": endpoints.hardware.list().to_dict(),
    }
    print(json.dumps(results))


if __name__ == "__main__":
    main()
