"""Shared helpers: the case tables, a clock, and canned Lambda answers."""

from __future__ import annotations

import io
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.response import StreamingBody

from orange_token_client import TokenClient, lambda_client_config

CASES = Path(__file__).resolve().parents[2] / "cases"
T0 = datetime(2026, 11, 30, 10, 0, tzinfo=timezone.utc).timestamp()
HOUR = 3600.0


def case_table(name: str) -> list[dict[str, Any]]:
    return json.loads((CASES / name).read_text())["cases"]


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=timezone.utc).isoformat().replace("+00:00", "Z")


def token_answer(access_token: str, expires_at: float, token_id: str | None = None) -> dict[str, Any]:
    return {
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_at": iso(expires_at),
        "expires_in": 3600,
        "token_id": token_id or f"id-{access_token}",
    }


def streaming(body: bytes) -> StreamingBody:
    return StreamingBody(io.BytesIO(body), len(body))


def lambda_client() -> Any:
    """A real boto3 Lambda client with static test credentials, never sending anything
    unless a test lets it (Stubber or a before-send hook answers)."""
    return boto3.client(
        "lambda",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        endpoint_url="http://127.0.0.1:9",
        config=lambda_client_config(),
    )


class _Raw(io.BytesIO):
    """A raw HTTP body, read whole (errors) or streamed (the invoke's payload)."""

    def stream(self, **_: Any):
        yield self.getvalue()


class CannedHttp:
    """Answers every request of a client at the HTTP level (botocore's before-send
    event), so that botocore parses the answer itself: `respond()` gives (status,
    headers, body) or raises a transport error."""

    def __init__(self, client: Any, respond) -> None:
        self.requests = 0
        self._respond = respond
        client.meta.events.register("before-send.lambda.Invoke", self._send)

    def _send(self, request: Any, **_: Any) -> AWSResponse:
        self.requests += 1
        status, headers, body = self._respond()
        return AWSResponse(request.url, status, {"content-type": "application/json", **headers}, _Raw(body))


@pytest.fixture
def clock() -> Clock:
    return Clock()


def client_for(lambda_client_: Any, clock: Clock, **options: Any) -> TokenClient:
    return TokenClient("get-token", lambda_client=lambda_client_, clock=clock, caller="unit", **options)
