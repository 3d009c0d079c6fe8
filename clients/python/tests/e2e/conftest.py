"""The local service that scripts/test.sh starts (cargo lambda watch, moto,
mock-orange): its addresses come from the E2E_* variables. Loopback only, static test
credentials."""

from __future__ import annotations

import hashlib
import json
import os
import re
import urllib.request
from typing import Any

import boto3
import pytest

from orange_token_client import lambda_client_config

LOOPBACK = re.compile(r"http://(127\.0\.0\.1|localhost):\d+/?")


def loopback_url(name: str) -> str:
    value = os.environ.get(name, "")
    if not LOOPBACK.fullmatch(value):
        pytest.fail(
            f"{name} must be a loopback URL, got {value!r}: run the end-to-end tests through "
            "scripts/test.sh, which starts the local service"
        )
    return value.rstrip("/")


@pytest.fixture(scope="session")
def service() -> dict[str, str]:
    urls = {"lambda": loopback_url("E2E_LAMBDA_ENDPOINT"), "mock": loopback_url("E2E_MOCK_ORANGE_URL")}
    loopback_url("AWS_ENDPOINT_URL")
    assert os.environ.get("AWS_EC2_METADATA_DISABLED") == "true", "set AWS_EC2_METADATA_DISABLED=true"
    return urls


def token_id_of(access_token: str) -> str:
    return hashlib.sha256(access_token.encode()).hexdigest()[:12]


def issued_token_ids(service: dict[str, str]) -> set[str]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"{service['mock']}/_mock/stats", timeout=10) as response:
        return set(json.load(response)["issued_token_ids"])


class CountingLambda:
    """A boto3 Lambda client on the watch that counts its invokes."""

    def __init__(self, endpoint: str) -> None:
        self.client = boto3.client("lambda", endpoint_url=endpoint, config=lambda_client_config())
        self.invokes = 0
        self.client.meta.events.register("before-call.lambda.Invoke", self._count)

    def _count(self, **_: Any) -> None:
        self.invokes += 1
