"""Get the Orange SMS API's OAuth token from the get-token Lambda.

    from orange_token_client import TokenClient

    tokens = TokenClient.from_env()          # once, at module level
    authorization = tokens.authorization_header()   # "Bearer ...", cached while fresh
    response = tokens.with_token(lambda auth: http.request("POST", url, headers={"Authorization": auth}))

No log line of this package holds a token: tokens are named by their ``token_id``.
"""

from ._auth import is_auth_failure
from ._client import (
    DEFAULT_BUFFER_MINUTES,
    MAX_BUFFER_MINUTES,
    MAX_MIN_TTL_SECONDS,
    Token,
    TokenClient,
    is_rejected_response,
    lambda_client_config,
)
from ._errors import UNAVAILABLE_ERROR_TYPES, TokenError

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_BUFFER_MINUTES",
    "MAX_BUFFER_MINUTES",
    "MAX_MIN_TTL_SECONDS",
    "UNAVAILABLE_ERROR_TYPES",
    "Token",
    "TokenClient",
    "TokenError",
    "is_auth_failure",
    "is_rejected_response",
    "lambda_client_config",
]
