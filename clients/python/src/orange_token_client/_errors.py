"""What can go wrong getting a token."""

from __future__ import annotations

from typing import Literal

#: get-token's errorTypes that mean "no token right now, try later" (HTTP 503).
UNAVAILABLE_ERROR_TYPES = frozenset({"TokenUnavailable", "UpstreamUnavailable", "StoreUnavailable", "Sandbox.Timedout"})

Kind = Literal["function", "throttled", "service", "transport", "configuration", "invalid-response"]


class TokenError(Exception):
    """A failure to get a token from get-token. Its message never holds a token.

    ``http_status`` is what to answer your own caller: 503 when the token service is
    unavailable for now (get-token answered TokenUnavailable, UpstreamUnavailable,
    StoreUnavailable or Sandbox.Timedout, or the invoke was throttled, timed out, or
    failed in transport or in the Lambda service), 500 when retrying will not help.
    ``kind`` says what happened; ``error_type`` and ``error_message`` are get-token's,
    for a function error.
    """

    def __init__(
        self,
        message: str,
        *,
        kind: Kind,
        http_status: int,
        error_type: str | None = None,
        error_message: str | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.http_status = http_status
        self.error_type = error_type
        self.error_message = error_message

    @property
    def is_service_unavailable(self) -> bool:
        """True when the token service is unavailable for now: answer 503, try later."""
        return self.http_status == 503

    @classmethod
    def function(cls, error_type: str, error_message: str) -> TokenError:
        return cls(
            f"get-token failed with {error_type}: {error_message}",
            kind="function",
            http_status=503 if error_type in UNAVAILABLE_ERROR_TYPES else 500,
            error_type=error_type,
            error_message=error_message,
        )

    @classmethod
    def invalid_response(cls, reason: str) -> TokenError:
        return cls(
            f"get-token's answer is not a valid token response: {reason}",
            kind="invalid-response",
            http_status=500,
        )
