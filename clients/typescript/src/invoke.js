// One RequestResponse invoke of get-token, and what its answer means. A function error
// comes back in one of two shapes, both read here:
// - real Lambda: HTTP 200 with X-Amz-Function-Error set (`FunctionError`) and the
//   payload {"errorType", "errorMessage"};
// - the local emulator (cargo lambda watch): HTTP 500 whose body is that JSON, which
//   the SDK throws as an unmodelled error with the body's fields copied onto it.

import { InvokeCommand } from "@aws-sdk/client-lambda";

import { TokenError, functionError } from "./errors.js";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Errors the SDK throws before sending anything: a deployment problem, not transient. */
const CONFIGURATION_ERRORS = new Set(["CredentialsProviderError", "ProviderError"]);

/**
 * Invokes `functionName` once with `event` and answers its payload, parsed, or throws a
 * TokenError. The Lambda client must not retry (maxAttempts 1).
 */
export async function invoke(lambda, functionName, event) {
  let output;
  try {
    output = await lambda.send(
      new InvokeCommand({
        FunctionName: functionName,
        InvocationType: "RequestResponse",
        Payload: encoder.encode(JSON.stringify(event)),
      }),
    );
  } catch (error) {
    throw fromSdkError(error);
  }
  const text = output.Payload ? decoder.decode(output.Payload) : "";
  if (output.FunctionError) {
    const body = parseErrorBody(text);
    if (body) throw functionError(body.errorType, body.errorMessage);
    throw functionError(
      output.FunctionError,
      "the function failed and its error payload is not an error object",
    );
  }
  try {
    return JSON.parse(text);
  } catch {
    // The payload may hold a token: never quote it.
    throw invalidResponse("not JSON");
  }
}

function parseErrorBody(text) {
  try {
    const body = JSON.parse(text);
    if (typeof body?.errorType === "string") {
      return { errorType: body.errorType, errorMessage: String(body.errorMessage ?? "") };
    }
  } catch {
    // not an error object
  }
  return undefined;
}

export function invalidResponse(reason) {
  return new TokenError(`get-token's answer is not a valid token response: ${reason}`, {
    kind: "invalid-response",
    httpStatus: 500,
  });
}

function fromSdkError(error) {
  const status = error?.$metadata?.httpStatusCode;
  if (typeof status === "number") {
    // The emulator's function error: HTTP 500 whose body the SDK copied onto the error.
    if (typeof error.errorType === "string") {
      return functionError(error.errorType, String(error.errorMessage ?? ""));
    }
    const kind =
      status === 429 ? "throttled" : status === 409 || status >= 500 ? "service" : "configuration";
    const detail = error.message ? `: ${error.message}` : "";
    return new TokenError(`could not invoke get-token: Lambda answered HTTP ${status} ${error.name}${detail}`, {
      kind,
      httpStatus: kind === "configuration" ? 500 : 503,
      cause: error,
    });
  }
  if (CONFIGURATION_ERRORS.has(error?.name) || /region is missing/i.test(error?.message ?? "")) {
    return new TokenError(`could not invoke get-token: the request could not be built: ${error.message}`, {
      kind: "configuration",
      httpStatus: 500,
      cause: error,
    });
  }
  const what = error?.name === "TimeoutError" ? "the invoke timed out" : "the invoke did not complete";
  return new TokenError(`could not invoke get-token: ${what}${error?.message ? `: ${error.message}` : ""}`, {
    kind: "transport",
    httpStatus: 503,
    cause: error,
  });
}
