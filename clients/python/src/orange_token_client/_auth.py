"""Is an answer from one of Orange's APIs an authentication failure?"""

from __future__ import annotations

import json
from typing import Any


def is_auth_failure(status: int, body: bytes | str | None) -> bool:
    """True when Orange's answer says the access token was refused, so that a new token
    could make the request succeed:

    - HTTP 401, whatever the body;
    - HTTP 403, unless its body is a JSON object with ``requestError.policyException``
      an object (a policy refusal: a new token cannot fix it);
    - any other status from 400 on whose body is a JSON object with OAuth's ``error``
      ``invalid_token`` or ``expired_token``, Orange's ``code`` 40, 41 or 42 (a number
      or a string of digits), or ``requestError.serviceException.messageId``
      ``SVC0001``.

    A 1xx, 2xx or 3xx answer never is: retrying a success would send the SMS twice.
    The same rule as the Rust and TypeScript caller libraries
    (clients/cases/auth-failures.json).
    """
    if status < 400:
        return False
    document = _json_object(body)
    if status == 401:
        return True
    if status == 403:
        request_error = (document or {}).get("requestError")
        return not (isinstance(request_error, dict) and isinstance(request_error.get("policyException"), dict))
    if document is None:
        return False
    if document.get("error") in ("invalid_token", "expired_token"):
        return True
    if _is_credentials_code(document.get("code")):
        return True
    request_error = document.get("requestError")
    if isinstance(request_error, dict):
        service_exception = request_error.get("serviceException")
        if isinstance(service_exception, dict) and service_exception.get("messageId") == "SVC0001":
            return True
    return False


def _is_credentials_code(code: Any) -> bool:
    if isinstance(code, bool):
        return False
    if isinstance(code, int):
        return code in (40, 41, 42)
    if isinstance(code, str):
        return code.strip() in ("40", "41", "42")
    return False


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _json_object(body: bytes | str | None) -> dict[str, Any] | None:
    if body is None:
        return None
    try:
        text = body if isinstance(body, str) else bytes(body).decode("utf-8")
        value = json.loads(text, parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, TypeError):
        return None
    return value if isinstance(value, dict) else None
