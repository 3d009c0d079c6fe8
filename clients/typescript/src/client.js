import { LambdaClient } from "@aws-sdk/client-lambda";

import { isAuthFailure } from "./auth.js";
import { TokenError } from "./errors.js";
import { invalidResponse, invoke } from "./invoke.js";

export const DEFAULT_BUFFER_MINUTES = 5;
export const MAX_BUFFER_MINUTES = 30;
export const MAX_MIN_TTL_SECONDS = 1800;

const inspect = Symbol.for("nodejs.util.inspect.custom");

/**
 * Timeouts of the Lambda client this builds: get-token can take up to its own timeout
 * (40 s) when it renews the token synchronously; a connection takes far less.
 */
const DEFAULT_REQUEST_HANDLER = Object.freeze({ connectionTimeout: 5_000, requestTimeout: 45_000 });

/** A token served by get-token. Printing or serialising it shows its `tokenId` only. */
export class Token {
  #accessToken;

  constructor(accessToken, tokenId, expiresAt) {
    this.#accessToken = accessToken;
    this.tokenId = tokenId;
    this.expiresAt = expiresAt;
    this.authorization = `Bearer ${accessToken}`;
    // Not enumerable: console.log, util.inspect and JSON.stringify never show it.
    Object.defineProperty(this, "authorization", { enumerable: false });
  }

  /** The token itself. Never log it; name it by `tokenId`. */
  get accessToken() {
    return this.#accessToken;
  }

  toJSON() {
    return { tokenId: this.tokenId, expiresAt: this.expiresAt.toISOString() };
  }

  [inspect]() {
    return `Token { tokenId: '${this.tokenId}', expiresAt: ${this.expiresAt.toISOString()} }`;
  }
}

/**
 * A client of the get-token function with an in-memory token cache. Build it once per
 * process, outside the handler.
 */
export class TokenClient {
  #lambda;
  #functionName;
  #caller;
  #thresholdSeconds;
  #now;
  /** The cached token and its promise, served while `Date.now() < #freshUntil`. */
  #token;
  #tokenPromise;
  #freshUntil = -Infinity;
  /** The one invoke in flight, shared by every call that needs a token meanwhile. */
  #inflight;
  #clientChecked;

  /**
   * @param {object} options
   * @param {string} options.functionName get-token's name or ARN.
   * @param {import("@aws-sdk/client-lambda").LambdaClient} [options.lambda] a Lambda
   *   client built with `maxAttempts: 1`; by default one is built from `clientConfig`.
   * @param {object} [options.clientConfig] configuration of the Lambda client this
   *   builds (its `maxAttempts` is always 1).
   * @param {number} [options.bufferMinutes] 0 to 30, default 5.
   * @param {number} [options.minTtlSeconds] 0 to 1800.
   * @param {string} [options.caller] who asks, for get-token's audit log.
   * @param {() => number} [options.now] the clock, in milliseconds (tests).
   */
  constructor({ functionName, lambda, clientConfig, bufferMinutes, minTtlSeconds, caller, now } = {}) {
    if (typeof functionName !== "string" || functionName.trim() === "") {
      throw new TypeError("functionName must name the get-token function (its name or ARN)");
    }
    const buffer = wholeNumber("bufferMinutes", bufferMinutes ?? DEFAULT_BUFFER_MINUTES, MAX_BUFFER_MINUTES);
    const minTtl = wholeNumber("minTtlSeconds", minTtlSeconds ?? 0, MAX_MIN_TTL_SECONDS);
    if (caller !== undefined && !/^[\x20-\x7e]{1,128}$/.test(caller)) {
      throw new TypeError("caller must be 1 to 128 printable characters");
    }
    this.#functionName = functionName;
    this.#caller = caller;
    this.#thresholdSeconds = Math.max(buffer * 60, minTtl);
    this.#lambda = lambda ?? new LambdaClient({ requestHandler: DEFAULT_REQUEST_HANDLER, ...clientConfig, maxAttempts: 1 });
    this.#clientChecked = lambda === undefined;
    this.#now = now ?? Date.now;
  }

  /**
   * A client configured by the environment: get-token's name from
   * GET_TOKEN_FUNCTION_NAME, the buffer from OAUTH_EXPIRY_BUFFER_MINUTES (whole minutes,
   * 0 to 30, default 5) and, as the caller name, this Lambda's own name
   * (AWS_LAMBDA_FUNCTION_NAME). Options given override the environment.
   */
  static fromEnv(options = {}, env = process.env) {
    const functionName = options.functionName ?? env.GET_TOKEN_FUNCTION_NAME;
    if (!functionName?.trim()) {
      throw new TypeError("environment variable GET_TOKEN_FUNCTION_NAME is not set: set it to get-token's name (the stack output GetTokenFunctionName)");
    }
    let bufferMinutes = options.bufferMinutes;
    const raw = env.OAUTH_EXPIRY_BUFFER_MINUTES;
    if (bufferMinutes === undefined && raw !== undefined && raw.trim() !== "") {
      if (!/^\d+$/.test(raw.trim()) || Number(raw) > MAX_BUFFER_MINUTES) {
        throw new TypeError(`environment variable OAUTH_EXPIRY_BUFFER_MINUTES is invalid: expected whole minutes from 0 to ${MAX_BUFFER_MINUTES}`);
      }
      bufferMinutes = Number(raw);
    }
    return new TokenClient({
      ...options,
      functionName,
      bufferMinutes,
      caller: options.caller ?? (env.AWS_LAMBDA_FUNCTION_NAME || undefined),
    });
  }

  /** The get-token function this client invokes. */
  get functionName() {
    return this.#functionName;
  }

  /**
   * A token with more than max(buffer, minTtlSeconds) of life left: the cached one
   * while it has that much left (by its expiresAt), else get-token's answer to
   * {"action": "get", "min_ttl_seconds": max(buffer, minTtlSeconds)}. Concurrent calls
   * that miss share one invoke, and its outcome.
   * @returns {Promise<Token>}
   */
  token() {
    if (this.#now() < this.#freshUntil) return this.#tokenPromise;
    return this.#inflight ?? this.#fill({ action: "get", min_ttl_seconds: this.#thresholdSeconds });
  }

  /** The `Authorization` header value, "Bearer <token>", of `token()`. */
  async authorizationHeader() {
    return (await this.token()).authorization;
  }

  /**
   * Orange rejected the token `rejectedTokenId`: asks get-token for another one
   * ({"action": "refresh", "rejected_token_id": ...}) and caches it. A rejected token
   * leaves the cache at once; when another token is cached already (a concurrent call
   * renewed it), that one is answered without invoking.
   * @returns {Promise<Token>}
   */
  async refresh(rejectedTokenId) {
    for (;;) {
      const cached = this.#token;
      if (cached?.tokenId === rejectedTokenId) {
        this.#forget();
      } else if (cached && this.#now() < this.#freshUntil) {
        return cached;
      }
      if (!this.#inflight) {
        return this.#fill({ action: "refresh", rejected_token_id: rejectedTokenId });
      }
      const shared = await this.#inflight;
      if (shared.tokenId !== rejectedTokenId) return shared;
    }
  }

  /**
   * Runs `request` with the `Authorization` header value, and when its answer is an
   * authentication failure, asks get-token to refresh the rejected token and runs it
   * exactly once more, answering the second answer whatever it is.
   *
   * By default the answer is a fetch `Response` (or anything with a numeric `status`
   * and `clone().arrayBuffer()` or `body`), judged by `isAuthFailure(status, body)`;
   * pass `options.isRejected(answer)` to judge other answers. A thrown error is not
   * retried.
   *
   * @template T
   * @param {(authorization: string, token: Token) => Promise<T>} request
   * @param {{ isRejected?: (answer: T) => boolean | Promise<boolean> }} [options]
   * @returns {Promise<T>}
   */
  async withToken(request, { isRejected = isRejectedResponse } = {}) {
    const token = await this.token();
    const answer = await request(token.authorization, token);
    if (!(await isRejected(answer))) return answer;
    const renewed = await this.refresh(token.tokenId);
    return request(renewed.authorization, renewed);
  }

  #forget() {
    this.#token = undefined;
    this.#tokenPromise = undefined;
    this.#freshUntil = -Infinity;
  }

  #fill(event) {
    const inflight = this.#invokeForToken({ ...event, caller: this.#caller });
    this.#inflight = inflight;
    inflight.then(
      (token) => {
        this.#inflight = undefined;
        this.#token = token;
        this.#tokenPromise = Promise.resolve(token);
        this.#freshUntil = token.expiresAt.getTime() - this.#thresholdSeconds * 1000;
      },
      () => {
        this.#inflight = undefined;
        this.#forget();
      },
    );
    return inflight;
  }

  async #invokeForToken(event) {
    if (!this.#clientChecked) await this.#checkClient();
    return tokenFrom(await invoke(this.#lambda, this.#functionName, event));
  }

  /** A client passed in must not retry: a function error is an answer. */
  async #checkClient() {
    const maxAttempts = this.#lambda.config?.maxAttempts;
    const attempts = typeof maxAttempts === "function" ? await maxAttempts() : maxAttempts;
    if (attempts !== undefined && attempts !== 1) {
      throw new TokenError(
        `the Lambda client passed to TokenClient retries (maxAttempts ${attempts}): build it with maxAttempts: 1`,
        { kind: "configuration", httpStatus: 500 },
      );
    }
    this.#clientChecked = true;
  }
}

/** get-token's answer to get or refresh, checked; never quoted in an error. */
function tokenFrom(payload) {
  const { access_token: accessToken, token_type: tokenType, expires_at: expiresAt, token_id: tokenId } = payload ?? {};
  if (typeof accessToken !== "string" || accessToken === "") throw invalidResponse("no access_token");
  if (typeof tokenType !== "string" || tokenType.toLowerCase() !== "bearer") {
    throw invalidResponse("token_type is not Bearer");
  }
  if (typeof tokenId !== "string" || tokenId === "") throw invalidResponse("no token_id");
  const expires = typeof expiresAt === "string" ? new Date(expiresAt) : new Date(NaN);
  if (!/^\d{4}-\d\d-\d\dT/.test(expiresAt) || Number.isNaN(expires.getTime())) {
    throw invalidResponse("expires_at is not an RFC 3339 time");
  }
  return new Token(accessToken, tokenId, expires);
}

async function isRejectedResponse(answer) {
  if (typeof answer?.status !== "number" || answer.status < 400) return false;
  let body = typeof answer.clone === "function" ? undefined : answer.body;
  if (body === undefined && typeof answer.clone === "function") {
    try {
      body = new Uint8Array(await answer.clone().arrayBuffer());
    } catch {
      // The request read the body already: the answer counts by its status only.
    }
  }
  return isAuthFailure(answer.status, body);
}

function wholeNumber(name, value, max) {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new TypeError(`${name} must be a whole number from 0 to ${max}`);
  }
  return value;
}
