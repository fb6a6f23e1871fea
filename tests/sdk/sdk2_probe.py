"""Run by .venv-sdk2's python: the Together SDK 2.x (v1) pointed at the relay, printing what it read as JSON.

Usage: ``sdk2_probe.py RELAY_V1_URL TOKEN ENDPOINT_ID...``; each id may be a v1 id (``endpoint-…``) or a v2 one
(``ep_…``, answered by the relay's v1 view).
"""

from __future__ import annotations

import json
import sys

from together import Together  # type: ignore[import-not-found,unused-ignore]


def main() -> None:
    relay_url, token, *endpoint_ids = sys.argv[1:]
    client = Together(base_url=relay_url, api_key=token, max_retries=0)
    print(
        json.dumps(
            {endpoint_id: client.endpoints.retrieve(endpoint_id).to_dict(mode="json") for endpoint_id in endpoint_ids}
        )
    )


if __name__ == "__main__":
    main()
