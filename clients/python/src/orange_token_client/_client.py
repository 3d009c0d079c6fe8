"""The token client: an in-memory cache of get-token's answer, thread-safe."""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from datetime import datetime
from typing import Any, TypeVar

from ._auth import is_auth_failure
from ._errors import TokenError
from ._invoke import invoke, keep_function_error_bodies

T = TypeVar("T")

DEFAULT_BUFFER_MINUTES = 5
MAX_BUFFER_MINUTES = 30
MAX_MIN_TTL_SECONDS = 1800

_log = logging.getLogger("orange_token_client")
_CALLER = re.compile(r"[\x20-\x7e]{1,128}")
_RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", re.IGNORECASE)


def lambda_client_config() -> Any:
    """The botocore ``Config`` this library builds its Lambda client with: one attempt
    (a function error is an answer, not a transport failure) and a read timeout above
    get-token's own (40 s). Build a client you pass in with it, or merge it into yours."""
    from botocore.config import Config

    return Config(retries={"total_max_attempts": 1, "mode": "standard"}, read_timeout=45, connect_timeout=5)


class Token:
    """A token served by get-token. ``repr`` shows its ``token_id`` only."""

    __slots__ = ("access_token", "token_id", "expires_at", "authorization")

    def __init__(self, access_token: str, token_id: str, expires_at: datetime) -> None:
        #: The token itself. Never log it; name it by ``token_id``.
        self.access_token = access_token
        #: The first 12 hex digits of SHA-256 of the token.
        self.token_id = token_id
        #: When Orange stops accepting the token (timezone-aware).
        self.expires_at = expires_at
        #: The ``Authorization`` header value: ``Bearer <token>``.
        self.authorization = f"Bearer {access_token}"

    def __repr__(self) -> str:
        return f"Token(token_id={self.token_id!r}, expires_at={self.expires_at.isoformat()!r})"

    __str__ = __repr__


class TokenClient:
    """A client of the get-token function with an in-memory token cache.

    Build it once per process (at module level, outside the handler) and share it
    between threads: concurrent misses share one invoke.
    """

    def __init__(
        self,
        function_name: str,
        *,
        lambda_client: Any = None,
        buffer_minutes: int = DEFAULT_BUFFER_MINUTES,
        min_ttl_seconds: int = 0,
        caller: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not isinstance(function_name, str) or not function_name.strip():
            raise ValueError("function_name must name the get-token function (its name or ARN)")
        buffer_minutes = _whole_number("buffer_minutes", buffer_minutes, MAX_BUFFER_MINUTES)
        min_ttl_seconds = _whole_number("min_ttl_seconds", min_ttl_seconds, MAX_MIN_TTL_SECONDS)
        if caller is not None and not _CALLER.fullmatch(caller):
            raise ValueError("caller must be 1 to 128 printable characters")
        if lambda_client is None:
            import boto3

            lambda_client = boto3.client("lambda", config=lambda_client_config())
        else:
            _refuse_retrying_client(lambda_client)
        keep_function_error_bodies(lambda_client)
        self._lambda = lambda_client
        self._function_name = function_name
        self._caller = caller
        self._threshold_seconds = max(buffer_minutes * 60, min_ttl_seconds)
        self._clock = clock
        self._lock = threading.Lock()
        # (token, fresh_until): replaced whole, so that a read without the lock is consistent.
        self._cached: tuple[Token, float] | None = None
        self._inflight: Future[Token] | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **options: Any) -> TokenClient:
        """A client configured by the environment: get-token's name from
        ``GET_TOKEN_FUNCTION_NAME``, the buffer from ``OAUTH_EXPIRY_BUFFER_MINUTES``
        (whole minutes, 0 to 30, default 5) and, as the caller name, this Lambda's own
        name (``AWS_LAMBDA_FUNCTION_NAME``). Keyword options override the environment."""
        env = os.environ if environ is None else environ
        function_name = options.pop("function_name", None) or env.get("GET_TOKEN_FUNCTION_NAME", "").strip()
        if not function_name:
            raise ValueError(
                "environment variable GET_TOKEN_FUNCTION_NAME is not set: set it to get-token's name "
                "(the stack output GetTokenFunctionName)"
            )
        if "buffer_minutes" not in options:
            raw = env.get("OAUTH_EXPIRY_BUFFER_MINUTES", "").strip()
            if raw:
                if not (raw.isascii() and raw.isdigit()) or int(raw) > MAX_BUFFER_MINUTES:
                    raise ValueError(
                        "environment variable OAUTH_EXPIRY_BUFFER_MINUTES is invalid: "
                        f"expected whole minutes from 0 to {MAX_BUFFER_MINUTES}"
                    )
                options["buffer_minutes"] = int(raw)
        if "caller" not in options and env.get("AWS_LAMBDA_FUNCTION_NAME"):
            options["caller"] = env["AWS_LAMBDA_FUNCTION_NAME"]
        return cls(function_name, **options)

    @property
    def function_name(self) -> str:
        """The get-token function this client invokes."""
        return self._function_name

    def token(self) -> Token:
        """A token with more than max(buffer, min_ttl_seconds) of life left: the cached
        one while it has that much left (by its ``expires_at``), else get-token's answer
        to ``{"action": "get", "min_ttl_seconds": max(buffer, min_ttl_seconds)}``.
        Concurrent calls that miss share one invoke, and its outcome."""
        cached = self._cached
        if cached is not None and self._clock() < cached[1]:
            return cached[0]
        with self._lock:
            cached = self._cached
            if cached is not None and self._clock() < cached[1]:
                return cached[0]
            future, owner = self._join_or_start()
        if not owner:
            return future.result()
        return self._fill(future, {"action": "get", "min_ttl_seconds": self._threshold_seconds})

    def authorization_header(self) -> str:
        """``Bearer <token>`` of :meth:`token`."""
        return self.token().authorization

    def refresh(self, rejected_token_id: str) -> Token:
        """Orange rejected the token ``rejected_token_id``: asks get-token for another
        one (``{"action": "refresh", "rejected_token_id": ...}``) and caches it. The
        rejected token leaves the cache at once; when another token is cached already (a
        concurrent call renewed it), that one is answered without invoking."""
        while True:
            with self._lock:
                cached = self._cached
                if cached is not None and cached[0].token_id == rejected_token_id:
                    self._cached = None
                elif cached is not None and self._clock() < cached[1]:
                    return cached[0]
                future, owner = self._join_or_start()
            if owner:
                _log.info("token %s rejected: asking get-token to refresh it", rejected_token_id)
                return self._fill(future, {"action": "refresh", "rejected_token_id": rejected_token_id})
            shared = future.result()
            if shared.token_id != rejected_token_id:
                return shared

    def with_token(
        self,
        request: Callable[[str], T],
        *,
        is_rejected: Callable[[T], bool] | None = None,
    ) -> T:
        """Runs ``request(authorization)`` and, when its answer is an authentication
        failure, asks get-token to refresh the rejected token and runs it exactly once
        more, answering the second answer whatever it is.

        By default the answer is judged as an HTTP response with ``status_code`` and
        ``content`` (requests, httpx) or ``status`` and ``data`` (urllib3) by
        :func:`is_auth_failure`; pass ``is_rejected(answer)`` for other answers. An
        exception raised by ``request`` is not retried."""
        judge = is_rejected or is_rejected_response
        token = self.token()
        answer = request(token.authorization)
        if not judge(answer):
            return answer
        renewed = self.refresh(token.token_id)
        return request(renewed.authorization)

    def _join_or_start(self) -> tuple[Future[Token], bool]:
        """With the lock held: the invoke in flight, or a new one this call makes."""
        if self._inflight is not None:
            return self._inflight, False
        self._inflight = Future()
        return self._inflight, True

    def _fill(self, future: Future[Token], event: dict[str, Any]) -> Token:
        event = {**event, "caller": self._caller} if self._caller else event
        try:
            token = _token_from(invoke(self._lambda, self._function_name, event))
        except BaseException as error:
            with self._lock:
                self._cached = None
                self._inflight = None
            future.set_exception(error)
            raise
        with self._lock:
            self._cached = (token, token.expires_at.timestamp() - self._threshold_seconds)
            self._inflight = None
        future.set_result(token)
        _log.debug("token %s cached, expires at %s", token.token_id, token.expires_at.isoformat())
        return token


def is_rejected_response(answer: Any) -> bool:
    """The default judge of :meth:`TokenClient.with_token`: an HTTP response (requests,
    httpx: ``status_code``, ``content``; urllib3: ``status``, ``data``) that
    :func:`is_auth_failure` calls an authentication failure."""
    status = getattr(answer, "status_code", None)
    body = getattr(answer, "content", None) if status is not None else None
    if status is None:
        status = getattr(answer, "status", None)
        body = getattr(answer, "data", None)
    if not isinstance(status, int) or status < 400:
        return False
    return is_auth_failure(status, body if isinstance(body, (bytes, bytearray, str)) else None)


def _token_from(payload: Any) -> Token:
    """get-token's answer to get or refresh, checked; never quoted in an error."""
    if not isinstance(payload, dict):
        raise TokenError.invalid_response("not an object")
    access_token = payload.get("access_token")
    if not isinstance(access_token, str) or not access_token:
        raise TokenError.invalid_response("no access_token")
    token_type = payload.get("token_type")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise TokenError.invalid_response("token_type is not Bearer")
    token_id = payload.get("token_id")
    if not isinstance(token_id, str) or not token_id:
        raise TokenError.invalid_response("no token_id")
    expires_at = payload.get("expires_at")
    if not isinstance(expires_at, str) or not _RFC3339.fullmatch(expires_at):
        raise TokenError.invalid_response("expires_at is not an RFC 3339 time")
    try:
        expires = datetime.fromisoformat(expires_at.upper().replace("Z", "+00:00"))
    except ValueError:
        raise TokenError.invalid_response("expires_at is not an RFC 3339 time") from None
    return Token(access_token, token_id, expires)


def _whole_number(name: str, value: Any, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise ValueError(f"{name} must be a whole number from 0 to {maximum}")
    return value


def _refuse_retrying_client(lambda_client: Any) -> None:
    """A client passed in must not retry: a function error is an answer."""
    retries = getattr(getattr(lambda_client, "meta", None), "config", None)
    retries = getattr(retries, "retries", None) or {}
    attempts = retries.get("total_max_attempts")
    if attempts is None and "max_attempts" in retries:
        attempts = retries["max_attempts"] + 1
    if attempts != 1:
        raise ValueError(
            "the Lambda client passed to TokenClient retries: build it with "
            "config=orange_token_client.lambda_client_config() (one attempt)"
        )
