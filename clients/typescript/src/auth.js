// Is an answer from one of Orange's APIs an authentication failure, one that a new
// token could fix? The same rule as the Rust and Python caller libraries; the shared
// cases are in clients/cases/auth-failures.json.

const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * True when Orange's answer says the access token was refused:
 * - HTTP 401, whatever the body;
 * - HTTP 403, unless its body is a JSON object with `requestError.policyException`
 *   an object (a policy refusal: a new token cannot fix it);
 * - any other status from 400 on whose body is a JSON object with OAuth's `error`
 *   `invalid_token` or `expired_token`, Orange's `code` 40, 41 or 42 (a number or a
 *   string of digits), or `requestError.serviceException.messageId` `SVC0001`.
 * A 1xx, 2xx or 3xx answer never is: retrying a success would send the SMS twice.
 *
 * @param {number} status
 * @param {string | Uint8Array | ArrayBuffer | null | undefined} body
 */
export function isAuthFailure(status, body) {
  if (status < 400) return false;
  const json = parseObject(body);
  if (status === 401) return true;
  if (status === 403) return !isObject(json?.requestError?.policyException);
  if (json === undefined) return false;
  return (
    json.error === "invalid_token" ||
    json.error === "expired_token" ||
    isCredentialsCode(json.code) ||
    (isObject(json.requestError) &&
      isObject(json.requestError.serviceException) &&
      json.requestError.serviceException.messageId === "SVC0001")
  );
}

function isCredentialsCode(code) {
  if (typeof code === "number") return code === 40 || code === 41 || code === 42;
  if (typeof code === "string") {
    const digits = code.trim();
    return digits === "40" || digits === "41" || digits === "42";
  }
  return false;
}

function isObject(value) {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The body as a JSON object, or undefined when it is not one. */
function parseObject(body) {
  if (body === undefined || body === null) return undefined;
  let text;
  try {
    text = typeof body === "string" ? body : decoder.decode(body);
  } catch {
    return undefined; // not UTF-8, or not bytes
  }
  try {
    const value = JSON.parse(text);
    return isObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}
