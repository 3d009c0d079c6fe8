/** get-token's errorTypes that mean "no token right now, try later" (HTTP 503). */
export const UNAVAILABLE_ERROR_TYPES = Object.freeze([
  "TokenUnavailable",
  "UpstreamUnavailable",
  "StoreUnavailable",
  "Sandbox.Timedout",
]);

/**
 * A failure to get a token from get-token. `httpStatus` is what to answer your own
 * caller: 503 when the token service is unavailable for now (get-token answered
 * TokenUnavailable, UpstreamUnavailable, StoreUnavailable or Sandbox.Timedout, or the
 * invoke was throttled, timed out, failed in transport or in the Lambda service), 500
 * when retrying will not help (configuration, permissions, a bad request, an answer
 * that is not a token).
 *
 * `kind` says what happened: "function" (get-token answered a function error:
 * `errorType`, `errorMessage`), "throttled", "service", "transport", "configuration"
 * or "invalid-response". The message never holds a token.
 */
export class TokenError extends Error {
  constructor(message, { kind, httpStatus, errorType, errorMessage, cause } = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "TokenError";
    this.kind = kind;
    this.httpStatus = httpStatus ?? 500;
    this.errorType = errorType;
    this.errorMessage = errorMessage;
  }

  /** True when the token service is unavailable for now: answer 503, try later. */
  get isServiceUnavailable() {
    return this.httpStatus === 503;
  }
}

/** get-token ran and answered `{"errorType", "errorMessage"}`. */
export function functionError(errorType, errorMessage) {
  return new TokenError(`get-token failed with ${errorType}: ${errorMessage}`, {
    kind: "function",
    httpStatus: UNAVAILABLE_ERROR_TYPES.includes(errorType) ? 503 : 500,
    errorType,
    errorMessage,
  });
}
