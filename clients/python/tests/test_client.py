import json
import logging
import threading
from typing import Any

import boto3
import pytest

from conftest import HOUR, T0, Clock, client_for, token_answer
from orange_token_client import TokenClient, TokenError


class FakeLambda:
    """A fake Lambda client: `answer(event, n)` gives the payload or raises. Counts calls;
    an optional gate holds every invoke until the test opens it."""

    def __init__(self, answer) -> None:
        self.events: list[dict[str, Any]] = []
        self.calls: list[dict[str, Any]] = []
        self._answer = answer
        self._lock = threading.Lock()
        self.meta = _Meta()

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        event = json.loads(kwargs["Payload"])
        with self._lock:
            self.calls.append(kwargs)
            self.events.append(event)
            n = len(self.events)
        payload = self._answer(event, n)
        return {"StatusCode": 200, "Payload": _Body(json.dumps(payload).encode())}


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def read(self) -> bytes:
        return self._data


class _Events:
    def register(self, *args: Any, **kwargs: Any) -> None:
        pass


class _Config:
    retries = {"total_max_attempts": 1}


class _Meta:
    events = _Events()
    config = _Config()


def sequential(clock: Clock) -> FakeLambda:
    return FakeLambda(lambda event, n: token_answer(f"token-{n}", clock.now + HOUR))


class Response:
    """What an HTTP client (requests, httpx) answers."""

    def __init__(self, status_code: int, content: bytes = b"") -> None:
        self.status_code = status_code
        self.content = content


def test_a_token_is_invoked_once_then_served_from_memory(clock):
    fake = sequential(clock)
    tokens = client_for(fake, clock)
    first = tokens.token()
    assert (first.access_token, first.token_id) == ("token-1", "id-token-1")
    assert tokens.authorization_header() == "Bearer token-1"
    clock.now += 30 * 60
    assert tokens.token().token_id == "id-token-1"
    assert fake.events == [{"action": "get", "min_ttl_seconds": 300, "caller": "unit"}]
    assert fake.calls[0]["FunctionName"] == "get-token"
    assert fake.calls[0]["InvocationType"] == "RequestResponse"


def test_a_token_with_no_more_than_the_buffer_left_is_not_served_from_memory(clock):
    fake = sequential(clock)
    tokens = client_for(fake, clock, buffer_minutes=10)
    tokens.token()
    clock.now = T0 + HOUR - 600 - 0.001
    assert tokens.token().access_token == "token-1"
    clock.now = T0 + HOUR - 600
    assert tokens.token().access_token == "token-2"
    assert fake.events[1]["min_ttl_seconds"] == 600


def test_min_ttl_above_the_buffer_is_asked_for_and_kept(clock):
    fake = sequential(clock)
    tokens = client_for(fake, clock, buffer_minutes=5, min_ttl_seconds=1800)
    tokens.token()
    assert fake.events[0]["min_ttl_seconds"] == 1800
    clock.now = T0 + HOUR - 1800 - 0.001
    assert tokens.token().access_token == "token-1"
    clock.now = T0 + HOUR - 1800
    assert tokens.token().access_token == "token-2"


def test_concurrent_misses_share_one_invoke(clock):
    entered = threading.Event()
    release = threading.Event()

    def answer(event, n):
        entered.set()
        assert release.wait(30)
        return token_answer("shared", clock.now + HOUR)

    fake = FakeLambda(answer)
    tokens = client_for(fake, clock)
    results: list[str] = []
    started = threading.Barrier(101)

    def call():
        started.wait()
        results.append(tokens.token().access_token)

    threads = [threading.Thread(target=call) for _ in range(100)]
    for thread in threads:
        thread.start()
    started.wait()
    assert entered.wait(30)
    # Every other thread is now either waiting on the invoke in flight or not yet
    # past the lock; none of them can start a second invoke.
    release.set()
    for thread in threads:
        thread.join(30)
    assert results == ["shared"] * 100
    assert len(fake.events) == 1


def test_a_failed_invoke_is_not_cached_and_a_later_call_tries_again(clock):
    fail = True

    def answer(event, n):
        if fail:
            raise TokenError.function("TokenUnavailable", "no token")
        return token_answer("later", clock.now + HOUR)

    fake = FakeLambda(answer)
    tokens = client_for(fake, clock)
    with pytest.raises(TokenError) as caught:
        tokens.token()
    assert caught.value.http_status == 503
    fail = False
    assert tokens.token().access_token == "later"
    assert len(fake.events) == 2


def test_with_token_retries_once_with_a_renewed_token_after_an_authentication_failure(clock):
    fake = sequential(clock)
    tokens = client_for(fake, clock)
    seen: list[str] = []

    def send(authorization: str) -> Response:
        seen.append(authorization)
        if len(seen) == 1:
            return Response(401, b'{"code": 42, "message": "Expired credentials"}')
        return Response(200, b"sent")

    assert tokens.with_token(send).content == b"sent"
    assert seen == ["Bearer token-1", "Bearer token-2"]
    assert fake.events[1] == {"action": "refresh", "rejected_token_id": "id-token-1", "caller": "unit"}
    assert tokens.token().access_token == "token-2"
    assert len(fake.events) == 2


def test_with_token_does_not_retry_a_second_time(clock):
    fake = sequential(clock)
    tokens = client_for(fake, clock)
    calls = []
    answer = tokens.with_token(lambda auth: calls.append(auth) or Response(401))
    assert answer.status_code == 401
    assert len(calls) == 2
    assert len(fake.events) == 2


@pytest.mark.parametrize(
    "status,body",
    [
        (200, b'{"code": 42}'),
        (400, b'{"requestError": {"policyException": {"messageId": "POL0001"}}}'),
        (403, b'{"requestError": {"policyException": {"messageId": "POL0001"}}}'),
        (500, b"<html/>"),
    ],
)
def test_with_token_does_not_retry_other_answers(status, body, clock):
    fake = sequential(clock)
    tokens = client_for(fake, clock)
    calls = []
    assert tokens.with_token(lambda auth: calls.append(auth) or Response(status, body)).status_code == status
    assert len(calls) == 1
    assert len(fake.events) == 1


def test_with_token_judges_urllib3_answers_and_custom_ones_and_passes_exceptions_through(clock):
    fake = sequential(clock)
    tokens = client_for(fake, clock)

    class Urllib3Response:
        def __init__(self, status, data):
            self.status, self.data = status, data

    calls = []
    answer = tokens.with_token(lambda auth: calls.append(auth) or Urllib3Response(401 if len(calls) == 1 else 201, b""))
    assert answer.status == 201 and len(calls) == 2
    custom = tokens.with_token(lambda auth: {"ok": auth.endswith("3")}, is_rejected=lambda a: not a["ok"])
    assert custom == {"ok": True}
    with pytest.raises(ConnectionError):
        tokens.with_token(lambda auth: (_ for _ in ()).throw(ConnectionError("network down")))
    assert len(fake.events) == 3


def test_a_renewal_that_fails_raises_the_token_error(clock):
    def answer(event, n):
        if event["action"] == "refresh":
            raise TokenError.function("TokenUnavailable", "recent")
        return token_answer("first", clock.now + HOUR)

    tokens = client_for(FakeLambda(answer), clock)
    with pytest.raises(TokenError) as caught:
        tokens.with_token(lambda auth: Response(401))
    assert (caught.value.error_type, caught.value.http_status) == ("TokenUnavailable", 503)


def test_concurrent_rejections_of_the_same_token_cause_one_refresh(clock):
    release = threading.Event()

    def answer(event, n):
        if event["action"] == "refresh":
            assert release.wait(30)
        return token_answer(f"token-{n}", clock.now + HOUR)

    fake = FakeLambda(answer)
    tokens = client_for(fake, clock)
    rejected = tokens.token()
    results: list[str] = []
    started = threading.Barrier(51)

    def reject():
        started.wait()
        results.append(tokens.refresh(rejected.token_id).access_token)

    threads = [threading.Thread(target=reject) for _ in range(50)]
    for thread in threads:
        thread.start()
    started.wait()
    release.set()
    for thread in threads:
        thread.join(30)
    assert results == ["token-2"] * 50
    assert len(fake.events) == 2
    # A rejection of a token already replaced is answered from memory.
    assert tokens.refresh(rejected.token_id).access_token == "token-2"
    assert len(fake.events) == 2


def test_a_token_never_shows_in_repr_or_logs(clock, caplog):
    caplog.set_level(logging.DEBUG, logger="orange_token_client")
    tokens = client_for(sequential(clock), clock)
    token = tokens.token()
    tokens.with_token(lambda auth: Response(401))
    for shown in (repr(token), str(token), caplog.text):
        assert "token-1" not in shown.replace("id-token-1", "") and "Bearer" not in shown
    assert "id-token-1" in repr(token) and "id-token-1" in caplog.text


def test_from_env_reads_the_function_name_the_buffer_and_the_caller(clock):
    fake = sequential(clock)
    tokens = TokenClient.from_env(
        {"GET_TOKEN_FUNCTION_NAME": "stack-GetToken-abc", "OAUTH_EXPIRY_BUFFER_MINUTES": "7", "AWS_LAMBDA_FUNCTION_NAME": "sms-sender"},
        lambda_client=fake,
        clock=clock,
    )
    assert tokens.function_name == "stack-GetToken-abc"
    tokens.token()
    assert fake.events == [{"action": "get", "min_ttl_seconds": 420, "caller": "sms-sender"}]
    assert fake.calls[0]["FunctionName"] == "stack-GetToken-abc"


@pytest.mark.parametrize("bad", ["31", "-1", "5.5", "five", "٣"])
def test_a_bad_buffer_variable_fails_naming_it(bad):
    with pytest.raises(ValueError, match="OAUTH_EXPIRY_BUFFER_MINUTES"):
        TokenClient.from_env({"GET_TOKEN_FUNCTION_NAME": "x", "OAUTH_EXPIRY_BUFFER_MINUTES": bad}, lambda_client=FakeLambda(None))


def test_bad_configuration_fails_at_construction():
    with pytest.raises(ValueError, match="GET_TOKEN_FUNCTION_NAME"):
        TokenClient.from_env({})
    with pytest.raises(ValueError, match="min_ttl_seconds"):
        TokenClient("x", lambda_client=FakeLambda(None), min_ttl_seconds=1801)
    with pytest.raises(ValueError, match="caller"):
        TokenClient("x", lambda_client=FakeLambda(None), caller="")


def test_a_lambda_client_that_retries_is_refused():
    retrying = boto3.client("lambda", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b")
    with pytest.raises(ValueError, match="retries"):
        TokenClient("x", lambda_client=retrying)
