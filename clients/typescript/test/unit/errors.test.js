// Every case of clients/cases/error-statuses.json, through the real SDK: the HTTP
// answer is canned, the SDK parses it, the library maps it.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { TokenClient, TokenError } from "../../src/index.js";
import { cannedClientConfig, cannedHttp } from "../fakes.js";

const table = JSON.parse(readFileSync(new URL("../../../cases/error-statuses.json", import.meta.url), "utf8"));

/** The HTTP answer (or transport failure) a case stands for. */
function respond(c) {
  if (c.function_error) {
    return { status: 200, headers: { "x-amz-function-error": "Unhandled" }, body: JSON.stringify(c.function_error) };
  }
  if (c.invoke_status) {
    return {
      status: c.invoke_status,
      headers: { "x-amzn-errortype": c.error_code },
      body: JSON.stringify({ Type: "User", message: `${c.error_code} from Lambda` }),
    };
  }
  if (c.transport === "timeout") {
    throw Object.assign(new Error("Connection timed out after 1000 ms"), { name: "TimeoutError" });
  }
  if (c.transport === "connection") {
    throw Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:9"), { code: "ECONNREFUSED" });
  }
  if (c.payload !== undefined) return { status: 200, body: c.payload };
  throw new Error(`case ${c.name} has no outcome`);
}

function client(handler) {
  return new TokenClient({ functionName: "get-token", clientConfig: cannedClientConfig(handler), caller: "unit" });
}

test("the shared table has cases of every kind", () => {
  for (const kind of ["function_error", "invoke_status", "transport", "payload"]) {
    assert.ok(table.cases.some((c) => kind in c), kind);
  }
});

for (const c of table.cases) {
  test(`error status case: ${c.name}`, async () => {
    const handler = cannedHttp(() => respond(c));
    const error = await client(handler).token().then(
      () => assert.fail("expected a TokenError"),
      (e) => e,
    );
    assert.ok(error instanceof TokenError, String(error));
    assert.equal(error.httpStatus, c.http_status);
    assert.equal(error.isServiceUnavailable, c.http_status === 503);
    assert.equal(handler.requests, 1, "attempted once, never retried");
    if (c.function_error) {
      assert.equal(error.kind, "function");
      assert.equal(error.errorType, c.function_error.errorType);
      assert.equal(error.errorMessage, c.function_error.errorMessage);
    }
  });
}

test("the local emulator's function error (HTTP 500, the error as body) is get-token's error, attempted once", async () => {
  for (const [errorType, status] of [["TokenUnavailable", 503], ["InvalidRequest", 500]]) {
    const handler = cannedHttp(() => ({ status: 500, body: JSON.stringify({ errorType, errorMessage: "a sentence" }) }));
    const error = await client(handler).token().catch((e) => e);
    assert.equal(error.kind, "function");
    assert.equal(error.errorType, errorType);
    assert.equal(error.errorMessage, "a sentence");
    assert.equal(error.httpStatus, status);
    assert.equal(handler.requests, 1);
  }
});

test("a Lambda 500 without an errorType is a service failure, not a function error", async () => {
  const handler = cannedHttp(() => ({ status: 500, body: "<html>Internal error</html>", headers: { "content-type": "text/html" } }));
  const error = await client(handler).token().catch((e) => e);
  assert.equal(error.kind, "service");
  assert.equal(error.httpStatus, 503);
  assert.equal(error.errorType, undefined);
});

test("a function error whose payload is not an error object keeps the header as its type", async () => {
  const handler = cannedHttp(() => ({ status: 200, headers: { "x-amz-function-error": "Unhandled" }, body: "oops" }));
  const error = await client(handler).token().catch((e) => e);
  assert.equal(error.errorType, "Unhandled");
  assert.equal(error.httpStatus, 500);
});

test("an answer that is not a token is never quoted in the error", async () => {
  const secret = "secret-token-value";
  const payloads = [
    { access_token: secret },
    { access_token: secret, token_type: "MAC", expires_at: "2030-01-01T00:00:00Z", token_id: "a" },
    { access_token: secret, token_type: "Bearer", expires_at: "tomorrow", token_id: "a" },
    { access_token: secret, token_type: "Bearer", expires_at: "2030-01-01T00:00:00Z" },
    `{"access_token": "${secret}"`,
  ];
  for (const payload of payloads) {
    const body = typeof payload === "string" ? payload : JSON.stringify(payload);
    const error = await client(cannedHttp(() => ({ status: 200, body }))).token().catch((e) => e);
    assert.equal(error.kind, "invalid-response");
    assert.equal(error.httpStatus, 500);
    assert.doesNotMatch(`${error.message} ${error.stack}`, new RegExp(secret));
  }
});

test("a region that cannot be resolved is a configuration problem (500), not transport", async () => {
  const tokens = new TokenClient({
    functionName: "get-token",
    clientConfig: { region: undefined, credentials: { accessKeyId: "a", secretAccessKey: "b" } },
  });
  const saved = { r: process.env.AWS_REGION, d: process.env.AWS_DEFAULT_REGION };
  delete process.env.AWS_REGION;
  delete process.env.AWS_DEFAULT_REGION;
  try {
    const error = await tokens.token().catch((e) => e);
    assert.equal(error.kind, "configuration");
    assert.equal(error.httpStatus, 500);
  } finally {
    if (saved.r !== undefined) process.env.AWS_REGION = saved.r;
    if (saved.d !== undefined) process.env.AWS_DEFAULT_REGION = saved.d;
  }
});
