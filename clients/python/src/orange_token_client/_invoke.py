"""One RequestResponse invoke of get-token, and what its answer means.

A function error comes back in one of two shapes, both read here:

- real Lambda: HTTP 200 with ``X-Amz-Function-Error`` set (``FunctionError``) and the
  payload ``{"errorType", "errorMessage"}``;
- the local emulator (``cargo lambda watch``): HTTP 500 whose body is that JSON, which
  boto3 raises as a ``ClientError``; an ``after-call`` hook keeps the body's
  ``errorType`` and ``errorMessage`` in the error's response.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    NoRegionError,
    ParamValidationError,
    PartialCredentialsError,
    ReadTimeoutError,
    ConnectTimeoutError,
)

from ._errors import TokenError

_FUNCTION_ERROR_KEY = "OrangeTokenFunctionError"
_CONFIGURATION_ERRORS = (NoCredentialsError, NoRegionError, ParamValidationError, PartialCredentialsError)


def keep_function_error_bodies(lambda_client: Any) -> None:
    """Registers the hook that reads the emulator's function errors (once per client)."""
    lambda_client.meta.events.register(
        "after-call.lambda.Invoke", _keep_function_error, unique_id="orange-token-client-function-error"
    )


def _keep_function_error(http_response: Any, parsed: dict[str, Any], **_: Any) -> None:
    if http_response is None or http_response.status_code < 300:
        return
    try:
        body = _function_error_body(http_response.content)
    except Exception:  # no raw body (a stubbed answer)
        return
    if body is not None:
        parsed[_FUNCTION_ERROR_KEY] = body


def _function_error_body(raw: bytes | None) -> tuple[str, str] | None:
    try:
        body = json.loads(raw or b"")
    except ValueError:
        return None
    if isinstance(body, dict) and isinstance(body.get("errorType"), str):
        return body["errorType"], str(body.get("errorMessage") or "")
    return None


def invoke(lambda_client: Any, function_name: str, event: dict[str, Any]) -> Any:
    """Invokes ``function_name`` once and answers its payload, parsed, or raises a
    TokenError. The client must not retry (``total_max_attempts`` 1)."""
    try:
        response = lambda_client.invoke(
            FunctionName=function_name,
            InvocationType="RequestResponse",
            Payload=json.dumps(event).encode(),
        )
        raw = response["Payload"].read()
    except ClientError as error:
        raise _from_client_error(error) from error
    except _CONFIGURATION_ERRORS as error:
        raise TokenError(
            f"could not invoke get-token: the request could not be built: {error}",
            kind="configuration",
            http_status=500,
        ) from error
    except (BotoCoreError, OSError) as error:
        timed_out = isinstance(error, (ReadTimeoutError, ConnectTimeoutError))
        raise TokenError(
            f"could not invoke get-token: {'the invoke timed out' if timed_out else 'the invoke did not complete'}: {error}",
            kind="transport",
            http_status=503,
        ) from error
    if response.get("FunctionError"):
        body = _function_error_body(raw)
        if body is not None:
            raise TokenError.function(*body)
        raise TokenError.function(
            response["FunctionError"], "the function failed and its error payload is not an error object"
        )
    try:
        return json.loads(raw)
    except ValueError:
        # The payload may hold a token: never quote it.
        raise TokenError.invalid_response("not JSON") from None


def _from_client_error(error: ClientError) -> TokenError:
    response = error.response
    function_error = response.get(_FUNCTION_ERROR_KEY)
    if function_error is not None:
        return TokenError.function(*function_error)
    status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    code = response.get("Error", {}).get("Code") or "unknown error"
    if status == 429:
        kind, http_status = "throttled", 503
    elif status == 409 or status >= 500:
        kind, http_status = "service", 503
    else:
        kind, http_status = "configuration", 500
    message = response.get("Error", {}).get("Message")
    detail = f": {message}" if message else ""
    return TokenError(
        f"could not invoke get-token: Lambda answered HTTP {status} {code}{detail}",
        kind=kind,  # type: ignore[arg-type]
        http_status=http_status,
    )
