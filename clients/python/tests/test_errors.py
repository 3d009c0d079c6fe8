"""Every case of clients/cases/error-statuses.json: function errors, Lambda's own
errors and payloads through botocore's Stubber; transport failures and the local
emulator's HTTP 500 function errors at the HTTP level, where the Stubber cannot go."""

import json

import pytest
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError
from botocore.stub import Stubber

from conftest import CannedHttp, case_table, client_for, lambda_client, streaming
from orange_token_client import TokenClient, TokenError

CASES = case_table("error-statuses.json")


def test_the_shared_table_has_cases_of_every_kind():
    for kind in ("function_error", "invoke_status", "transport", "payload"):
        assert any(kind in case for case in CASES), kind


def _token_error(tokens: TokenClient) -> TokenError:
    with pytest.raises(TokenError) as caught:
        tokens.token()
    return caught.value


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_error_status_case(case, clock):
    client = lambda_client()
    tokens = client_for(client, clock)
    expected = {
        "FunctionName": "get-token",
        "InvocationType": "RequestResponse",
        "Payload": json.dumps({"action": "get", "min_ttl_seconds": 300, "caller": "unit"}).encode(),
    }
    if "transport" in case:
        def fail():
            if case["transport"] == "timeout":
                raise ReadTimeoutError(endpoint_url="http://127.0.0.1:9")
            raise EndpointConnectionError(endpoint_url="http://127.0.0.1:9")

        http = CannedHttp(client, fail)
        error = _token_error(tokens)
        assert http.requests == 1, "attempted once, never retried"
        assert error.kind == "transport"
    else:
        with Stubber(client) as stubber:
            if "function_error" in case:
                body = json.dumps(case["function_error"]).encode()
                stubber.add_response(
                    "invoke", {"StatusCode": 200, "FunctionError": "Unhandled", "Payload": streaming(body)}, expected
                )
            elif "invoke_status" in case:
                stubber.add_client_error(
                    "invoke",
                    service_error_code=case["error_code"],
                    service_message=f"{case['error_code']} from Lambda",
                    http_status_code=case["invoke_status"],
                    expected_params=expected,
                )
            else:
                stubber.add_response(
                    "invoke", {"StatusCode": 200, "Payload": streaming(case["payload"].encode())}, expected
                )
            error = _token_error(tokens)
            stubber.assert_no_pending_responses()
    assert error.http_status == case["http_status"]
    assert error.is_service_unavailable is (case["http_status"] == 503)
    if "function_error" in case:
        assert error.kind == "function"
        assert error.error_type == case["function_error"]["errorType"]
        assert error.error_message == case["function_error"]["errorMessage"]


@pytest.mark.parametrize("error_type,status", [("TokenUnavailable", 503), ("InvalidRequest", 500)])
def test_the_local_emulators_function_error_is_get_tokens_error_attempted_once(error_type, status, clock):
    client = lambda_client()
    body = json.dumps({"errorType": error_type, "errorMessage": "a sentence"}).encode()
    http = CannedHttp(client, lambda: (500, {}, body))
    error = _token_error(client_for(client, clock))
    assert (error.kind, error.error_type, error.error_message, error.http_status) == (
        "function", error_type, "a sentence", status
    )
    assert http.requests == 1


def test_a_lambda_500_without_an_error_type_is_a_service_failure(clock):
    client = lambda_client()
    CannedHttp(client, lambda: (500, {"content-type": "text/html"}, b"<html>Internal error</html>"))
    error = _token_error(client_for(client, clock))
    assert (error.kind, error.http_status, error.error_type) == ("service", 503, None)


def test_a_throttled_invoke_over_http_is_attempted_once(clock):
    client = lambda_client()
    http = CannedHttp(
        client,
        lambda: (429, {"x-amzn-errortype": "TooManyRequestsException"}, b'{"message": "Rate exceeded"}'),
    )
    error = _token_error(client_for(client, clock))
    assert (error.kind, error.http_status) == ("throttled", 503)
    assert http.requests == 1


def test_an_answer_that_is_not_a_token_is_never_quoted(clock):
    secret = "secret-token-value"
    payloads = [
        {"access_token": secret},
        {"access_token": secret, "token_type": "MAC", "expires_at": "2030-01-01T00:00:00Z", "token_id": "a"},
        {"access_token": secret, "token_type": "Bearer", "expires_at": "tomorrow", "token_id": "a"},
        {"access_token": secret, "token_type": "Bearer", "expires_at": "2030-01-01T00:00:00Z"},
        f'{{"access_token": "{secret}"',
    ]
    for payload in payloads:
        client = lambda_client()
        body = payload if isinstance(payload, str) else json.dumps(payload)
        CannedHttp(client, lambda: (200, {}, body.encode()))
        error = _token_error(client_for(client, clock))
        assert error.kind == "invalid-response"
        assert error.http_status == 500
        assert secret not in str(error) and secret not in repr(error)
