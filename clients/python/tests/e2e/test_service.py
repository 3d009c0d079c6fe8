"""The Python caller library end to end, through the Lambda Invoke API of the local
service."""

from __future__ import annotations

import http.server
import socket
import threading
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
import urllib3

from orange_token_client import TokenClient, TokenError, lambda_client_config

from .conftest import CountingLambda, issued_token_ids, token_id_of


class SmsApi:
    """An "SMS API" on loopback: answers `answers` in turn, records the token ids it saw."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.answers: list[tuple[int, bytes]] = []
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length") or 0))
                authorization = self.headers.get("authorization") or ""
                api.seen.append(token_id_of(authorization[7:]) if authorization.startswith("Bearer ") else "none")
                status, body = api.answers.pop(0) if api.answers else (201, b"{}")
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass  # the request line is harmless, but a test's output stays quiet

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/smsmessaging/v1/outbound/requests"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def sms():
    api = SmsApi()
    yield api
    api.server.shutdown()


def test_a_token_is_invoked_once_and_then_served_from_memory(service):
    lambda_ = CountingLambda(service["lambda"])
    tokens = TokenClient("get-token", lambda_client=lambda_.client, caller="e2e-python")
    with ThreadPoolExecutor(20) as pool:
        served = list(pool.map(lambda _: tokens.token(), range(20)))
    assert lambda_.invokes == 1, "20 concurrent misses, one invoke"
    first = served[0]
    assert all(t.token_id == first.token_id for t in served)
    # Compared through local names: a failing assertion never prints a token.
    computed_id = token_id_of(first.access_token)
    assert first.token_id == computed_id
    assert first.token_id in issued_token_ids(service)
    header_matches = tokens.authorization_header() == f"Bearer {first.access_token}"
    assert header_matches
    assert lambda_.invokes == 1


def test_with_token_renews_a_rejected_token_and_retries_once(service, sms, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", service["lambda"])
    monkeypatch.setenv("GET_TOKEN_FUNCTION_NAME", "get-token")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "e2e-python-sms-sender")
    tokens = TokenClient.from_env()  # its own client, on AWS_ENDPOINT_URL_LAMBDA
    rejected = tokens.token()
    sms.answers = [(401, b'{"code": 42, "message": "Expired credentials"}')]
    http = urllib3.PoolManager()
    response = tokens.with_token(lambda auth: http.request("POST", sms.url, headers={"Authorization": auth}, body=b"{}"))
    assert response.status == 201
    renewed = tokens.token()
    assert sms.seen == [rejected.token_id, renewed.token_id]
    assert renewed.token_id != rejected.token_id
    assert renewed.token_id in issued_token_ids(service)


def test_no_second_retry_when_the_renewed_token_is_rejected_too(service, sms):
    lambda_ = CountingLambda(service["lambda"])
    tokens = TokenClient("get-token", lambda_client=lambda_.client, caller="e2e-python")
    sms.answers = [(401, b""), (401, b"")]
    http = urllib3.PoolManager()
    response = tokens.with_token(lambda auth: http.request("POST", sms.url, headers={"Authorization": auth}))
    assert response.status == 401
    assert len(sms.seen) == 2 and sms.seen[0] != sms.seen[1]
    assert lambda_.invokes == 2, "one get, one refresh"


def test_a_function_error_through_the_local_emulator_is_a_token_error(service):
    # The refresh function refuses get-token's events: InvalidRequest, as the emulator shapes it (HTTP 500).
    client = boto3.client("lambda", endpoint_url=service["lambda"], config=lambda_client_config())
    tokens = TokenClient("refresh", lambda_client=client)
    with pytest.raises(TokenError) as caught:
        tokens.token()
    assert (caught.value.kind, caught.value.error_type, caught.value.http_status) == ("function", "InvalidRequest", 500)


def test_an_invoke_that_cannot_connect_is_a_transport_failure(service):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = boto3.client("lambda", endpoint_url=f"http://127.0.0.1:{port}", config=lambda_client_config())
    with pytest.raises(TokenError) as caught:
        TokenClient("get-token", lambda_client=client).token()
    assert (caught.value.kind, caught.value.http_status) == ("transport", 503)
