"""The Python caller library's cached hit (``tokens.token()``), per call. Each sample is
the mean time per call of a batch of calls; the report judges the batches' median. Run by
scripts/bench.sh: python bench/cached_hit.py OUT.json [--quick]"""

from __future__ import annotations

import json
import math
import platform
import sys
import time
from datetime import datetime, timedelta, timezone
from typing import Any

from orange_token_client import TokenClient

BATCH = 1000


class _Lambda:
    """Answers one token; a cached hit never calls it again."""

    class meta:  # noqa: N801 - what botocore clients have
        class events:  # noqa: N801
            @staticmethod
            def register(*args: Any, **kwargs: Any) -> None:
                pass

        class config:  # noqa: N801
            retries = {"total_max_attempts": 1}

    def invoke(self, **_: Any) -> dict[str, Any]:
        expires = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
        answer = {"access_token": "b" * 64, "token_type": "Bearer", "expires_at": expires, "expires_in": 3600, "token_id": "0123456789ab"}

        class Body:
            @staticmethod
            def read() -> bytes:
                return json.dumps(answer).encode()

        return {"StatusCode": 200, "Payload": Body()}


def summary(samples: list[float]) -> dict[str, float]:
    samples.sort()
    n = len(samples)

    def at(p: float) -> float:
        return samples[min(max(math.ceil(p / 100 * n), 1), n) - 1]

    return {
        "count": n,
        "min_ns": samples[0],
        "p50_ns": at(50),
        "p90_ns": at(90),
        "p99_ns": at(99),
        "p999_ns": at(99.9),
        "max_ns": samples[-1],
        "mean_ns": sum(samples) / n,
    }


def main() -> None:
    out = sys.argv[1]
    batches = 200 if "--quick" in sys.argv[2:] else 2000
    tokens = TokenClient("get-token", lambda_client=_Lambda())
    token = tokens.token
    assert token().token_id == "0123456789ab"
    for _ in range(batches // 5 * BATCH):  # warm-up
        token()
    samples = []
    clock = time.perf_counter_ns
    for _ in range(batches):
        start = clock()
        for _ in range(BATCH):
            token()
        samples.append((clock() - start) / BATCH)
    result = {"batch": BATCH, "python": platform.python_version(), "python_cached_hit": summary(samples)}
    with open(out, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    print(f"bench: Python cached hit {result['python_cached_hit']['p50_ns']:.1f} ns/call")


if __name__ == "__main__":
    main()
