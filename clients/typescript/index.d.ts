import type { LambdaClient, LambdaClientConfig } from "@aws-sdk/client-lambda";

/** A token served by get-token. Printing or serialising it shows its `tokenId` only. */
export declare class Token {
  private constructor();
  /** The token itself. Never log it; name it by `tokenId`. */
  readonly accessToken: string;
  /** The first 12 hex digits of SHA-256 of the token: how logs name it. */
  readonly tokenId: string;
  /** When Orange stops accepting the token. */
  readonly expiresAt: Date;
  /** The `Authorization` header value: `Bearer <token>`. */
  readonly authorization: string;
  toJSON(): { tokenId: string; expiresAt: string };
}

export interface TokenClientOptions {
  /** get-token's name or ARN (the stack output GetTokenFunctionName). */
  functionName: string;
  /** A Lambda client built with `maxAttempts: 1`; by default one is built from `clientConfig`. */
  lambda?: Pick<LambdaClient, "send">;
  /** Configuration of the Lambda client built when `lambda` is not given; its `maxAttempts` is always 1. */
  clientConfig?: LambdaClientConfig;
  /** Never use a token with this little life left: whole minutes, 0 to 30, default 5. */
  bufferMinutes?: number;
  /** Ask for, and keep, tokens with at least this much life left: 0 to 1800 seconds. */
  minTtlSeconds?: number;
  /** Who asks, for get-token's audit log: 1 to 128 printable characters. */
  caller?: string;
  /** The clock in milliseconds since the epoch (tests). */
  now?: () => number;
}

export interface WithTokenOptions<T> {
  /** Is this answer an authentication failure? Default: a fetch-like Response judged by `isAuthFailure`. */
  isRejected?: (answer: T) => boolean | Promise<boolean>;
}

/** A client of the get-token function with an in-memory token cache. Build it once, outside the handler. */
export declare class TokenClient {
  constructor(options: TokenClientOptions);
  /**
   * get-token's name from GET_TOKEN_FUNCTION_NAME, the buffer from
   * OAUTH_EXPIRY_BUFFER_MINUTES (default 5), the caller name from
   * AWS_LAMBDA_FUNCTION_NAME; options given override the environment.
   */
  static fromEnv(options?: Partial<TokenClientOptions>, env?: Record<string, string | undefined>): TokenClient;
  readonly functionName: string;
  /** A token with more than max(buffer, minTtlSeconds) of life left, cached while it has. */
  token(): Promise<Token>;
  /** `Bearer <token>` of `token()`. */
  authorizationHeader(): Promise<string>;
  /** Orange rejected `rejectedTokenId`: another token, renewed by get-token if needed. */
  refresh(rejectedTokenId: string): Promise<Token>;
  /**
   * Runs `request` with the `Authorization` value; when its answer is an
   * authentication failure, refreshes the token and runs it exactly once more.
   */
  withToken<T>(request: (authorization: string, token: Token) => Promise<T>, options?: WithTokenOptions<T>): Promise<T>;
}

export type TokenErrorKind = "function" | "throttled" | "service" | "transport" | "configuration" | "invalid-response";

/** A failure to get a token. Its message never holds a token. */
export declare class TokenError extends Error {
  readonly name: "TokenError";
  readonly kind: TokenErrorKind;
  /** 503 when the token service is unavailable for now (try later), else 500. */
  readonly httpStatus: 500 | 503;
  /** get-token's errorType, for kind "function". */
  readonly errorType?: string;
  /** get-token's errorMessage, for kind "function". */
  readonly errorMessage?: string;
  readonly isServiceUnavailable: boolean;
}

/** get-token's errorTypes that map to 503. */
export declare const UNAVAILABLE_ERROR_TYPES: readonly string[];
export declare const DEFAULT_BUFFER_MINUTES: 5;
export declare const MAX_BUFFER_MINUTES: 30;
export declare const MAX_MIN_TTL_SECONDS: 1800;

/**
 * Is Orange's answer an authentication failure (a new token could fix it)? 401; 403
 * unless the body is a JSON `requestError.policyException`; any status from 400 whose
 * JSON object body has `error` invalid_token/expired_token, `code` 40/41/42 or
 * `requestError.serviceException.messageId` SVC0001. Never a 1xx-3xx.
 */
export declare function isAuthFailure(status: number, body?: string | Uint8Array | ArrayBuffer | null): boolean;
