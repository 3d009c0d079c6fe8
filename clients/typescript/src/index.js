export { TokenClient, Token, DEFAULT_BUFFER_MINUTES, MAX_BUFFER_MINUTES, MAX_MIN_TTL_SECONDS } from "./client.js";
export { TokenError, UNAVAILABLE_ERROR_TYPES } from "./errors.js";
export { isAuthFailure } from "./auth.js";
