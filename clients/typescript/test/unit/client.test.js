import assert from "node:assert/strict";
import { inspect } from "node:util";
import { test } from "node:test";

import { TokenClient, TokenError } from "../../src/index.js";
import { HOUR, LambdaClient, deferred, fakeLambda, tokenAnswer } from "../fakes.js";

const T0 = Date.parse("2026-11-30T10:00:00Z");

/** A clock the test moves. */
function clock(start = T0) {
  const c = { now: start, read: () => c.now };
  return c;
}

/** A fake get-token handing out token-1, token-2, ... each valid for an hour from the clock. */
function sequentialTokens(c) {
  return fakeLambda((event, n) => tokenAnswer(`token-${n}`, c.now + HOUR));
}

function client(lambda, c, options = {}) {
  return new TokenClient({ functionName: "get-token", lambda, now: c.read, caller: "unit", ...options });
}

test("a token is invoked once, then served from memory", async () => {
  const c = clock();
  const lambda = sequentialTokens(c);
  const tokens = client(lambda, c);
  const first = await tokens.token();
  assert.equal(first.accessToken, "token-1");
  assert.equal(first.tokenId, "id-token-1");
  assert.equal(await tokens.authorizationHeader(), "Bearer token-1");
  c.now += 30 * 60_000;
  assert.equal((await tokens.token()).tokenId, "id-token-1");
  assert.equal(lambda.events.length, 1);
  assert.deepEqual(lambda.events[0], { action: "get", min_ttl_seconds: 300, caller: "unit" });
  assert.equal(lambda.commands[0].FunctionName, "get-token");
  assert.equal(lambda.commands[0].InvocationType, "RequestResponse");
});

test("a token with no more than the buffer left is not served from memory", async () => {
  const c = clock();
  const lambda = sequentialTokens(c);
  const tokens = client(lambda, c, { bufferMinutes: 10 });
  await tokens.token();
  c.now = T0 + HOUR - 10 * 60_000 - 1; // 1 ms more than the buffer left
  assert.equal((await tokens.token()).accessToken, "token-1");
  c.now += 1; // exactly the buffer left
  assert.equal((await tokens.token()).accessToken, "token-2");
  assert.equal(lambda.events.length, 2);
  assert.equal(lambda.events[1].min_ttl_seconds, 600);
});

test("min_ttl above the buffer is asked for and kept", async () => {
  const c = clock();
  const lambda = sequentialTokens(c);
  const tokens = client(lambda, c, { bufferMinutes: 5, minTtlSeconds: 1800 });
  await tokens.token();
  assert.equal(lambda.events[0].min_ttl_seconds, 1800);
  c.now = T0 + HOUR - 1800_000 - 1;
  assert.equal((await tokens.token()).accessToken, "token-1");
  c.now += 1;
  assert.equal((await tokens.token()).accessToken, "token-2");
});

test("1,000 concurrent misses share one invoke", async () => {
  const c = clock();
  const answer = deferred();
  const lambda = fakeLambda(() => answer.promise);
  const tokens = client(lambda, c);
  const calls = Array.from({ length: 1000 }, () => tokens.token());
  answer.resolve(tokenAnswer("shared", c.now + HOUR));
  const served = await Promise.all(calls);
  assert.equal(lambda.events.length, 1);
  assert.ok(served.every((t) => t.accessToken === "shared"));
});

test("concurrent misses share a failure, and a later call tries again", async () => {
  const c = clock();
  let fail = true;
  const lambda = fakeLambda(() => {
    if (fail) throw Object.assign(new Error("boom"), { $metadata: { httpStatusCode: 429 }, name: "TooManyRequestsException" });
    return tokenAnswer("later", c.now + HOUR);
  });
  const tokens = client(lambda, c);
  const results = await Promise.allSettled(Array.from({ length: 10 }, () => tokens.token()));
  assert.equal(lambda.events.length, 1);
  for (const r of results) {
    assert.equal(r.status, "rejected");
    assert.ok(r.reason instanceof TokenError);
    assert.equal(r.reason.kind, "throttled");
    assert.equal(r.reason.httpStatus, 503);
  }
  fail = false;
  assert.equal((await tokens.token()).accessToken, "later");
  assert.equal(lambda.events.length, 2);
});

/** An "SMS API" answer as fetch gives it. */
function response(status, body = "") {
  return new Response(body, { status, headers: { "content-type": "application/json" } });
}

test("withToken retries once with a renewed token after an authentication failure", async () => {
  const c = clock();
  const lambda = sequentialTokens(c);
  const tokens = client(lambda, c);
  const seen = [];
  const answer = await tokens.withToken(async (authorization) => {
    seen.push(authorization);
    return seen.length === 1 ? response(401, '{"code": 42, "message": "Expired credentials"}') : response(200, "sent");
  });
  assert.equal(answer.status, 200);
  assert.equal(await answer.text(), "sent");
  assert.deepEqual(seen, ["Bearer token-1", "Bearer token-2"]);
  assert.deepEqual(lambda.events[1], { action: "refresh", rejected_token_id: "id-token-1", caller: "unit" });
  assert.equal((await tokens.token()).accessToken, "token-2", "the renewed token is cached");
  assert.equal(lambda.events.length, 2);
});

test("withToken does not retry a second time when the renewed token is rejected too", async () => {
  const c = clock();
  const lambda = sequentialTokens(c);
  const tokens = client(lambda, c);
  let calls = 0;
  const answer = await tokens.withToken(async () => {
    calls += 1;
    return response(401);
  });
  assert.equal(answer.status, 401, "the second answer is returned as is");
  assert.equal(calls, 2);
  assert.equal(lambda.events.length, 2);
});

test("withToken does not retry answers that are not authentication failures", async () => {
  const c = clock();
  const lambda = sequentialTokens(c);
  const tokens = client(lambda, c);
  for (const [status, body] of [[200, '{"code": 42}'], [400, '{"requestError": {"policyException": {"messageId": "POL0001"}}}'], [403, '{"requestError": {"policyException": {"messageId": "POL0001"}}}'], [500, "<html/>"]]) {
    let calls = 0;
    const answer = await tokens.withToken(async () => {
      calls += 1;
      return response(status, body);
    });
    assert.equal(answer.status, status);
    assert.equal(calls, 1, `${status} ${body}`);
  }
  assert.equal(lambda.events.length, 1);
});

test("withToken judges other answers with isRejected, and passes thrown errors through", async () => {
  const c = clock();
  const lambda = sequentialTokens(c);
  const tokens = client(lambda, c);
  const seen = [];
  const answer = await tokens.withToken(
    async (authorization, token) => {
      seen.push(token.tokenId);
      return { statusCode: seen.length === 1 ? 401 : 202 };
    },
    { isRejected: (a) => a.statusCode === 401 },
  );
  assert.equal(answer.statusCode, 202);
  assert.deepEqual(seen, ["id-token-1", "id-token-2"]);
  await assert.rejects(tokens.withToken(async () => { throw new Error("network down"); }), /network down/);
  assert.equal(lambda.events.length, 2);
});

test("a renewal that fails surfaces as the TokenError, with its status", async () => {
  const c = clock();
  const lambda = fakeLambda((event) => {
    if (event.action === "refresh") {
      throw Object.assign(new Error("x"), { $metadata: { httpStatusCode: 500 }, errorType: "TokenUnavailable", errorMessage: "recent" });
    }
    return tokenAnswer("first", c.now + HOUR);
  });
  const tokens = client(lambda, c);
  const error = await tokens.withToken(async () => response(401)).catch((e) => e);
  assert.ok(error instanceof TokenError);
  assert.equal(error.errorType, "TokenUnavailable");
  assert.equal(error.httpStatus, 503);
});

test("concurrent rejections of the same token cause one refresh", async () => {
  const c = clock();
  const lambda = sequentialTokens(c);
  const tokens = client(lambda, c);
  const rejected = await tokens.token();
  const renewed = await Promise.all(Array.from({ length: 100 }, () => tokens.refresh(rejected.tokenId)));
  assert.ok(renewed.every((t) => t.accessToken === "token-2"));
  assert.equal(lambda.events.length, 2);
  // A rejection of a token already replaced is answered from memory.
  assert.equal((await tokens.refresh(rejected.tokenId)).accessToken, "token-2");
  assert.equal(lambda.events.length, 2);
});

test("a token never shows in logs, inspection or JSON", async () => {
  const c = clock();
  const tokens = client(sequentialTokens(c), c);
  const token = await tokens.token();
  for (const shown of [inspect(token), JSON.stringify(token), `${token}`, inspect(tokens)]) {
    assert.doesNotMatch(shown, /(?<!id-)token-1|Bearer/, shown);
  }
  assert.match(inspect(token), /id-token-1/);
});

test("fromEnv reads GET_TOKEN_FUNCTION_NAME, the buffer and the caller name", async () => {
  const c = clock();
  const lambda = sequentialTokens(c);
  const tokens = TokenClient.fromEnv(
    { lambda, now: c.read },
    { GET_TOKEN_FUNCTION_NAME: "stack-GetToken-abc", OAUTH_EXPIRY_BUFFER_MINUTES: "7", AWS_LAMBDA_FUNCTION_NAME: "sms-sender" },
  );
  assert.equal(tokens.functionName, "stack-GetToken-abc");
  await tokens.token();
  assert.deepEqual(lambda.events[0], { action: "get", min_ttl_seconds: 420, caller: "sms-sender" });
  assert.equal(lambda.commands[0].FunctionName, "stack-GetToken-abc");
  assert.equal(TokenClient.fromEnv({}, { GET_TOKEN_FUNCTION_NAME: "x" }).functionName, "x");
});

test("bad configuration fails at construction, naming what is wrong", () => {
  assert.throws(() => TokenClient.fromEnv({}, {}), /GET_TOKEN_FUNCTION_NAME/);
  for (const bad of ["31", "-1", "5.5", "five"]) {
    assert.throws(
      () => TokenClient.fromEnv({}, { GET_TOKEN_FUNCTION_NAME: "x", OAUTH_EXPIRY_BUFFER_MINUTES: bad }),
      /OAUTH_EXPIRY_BUFFER_MINUTES/,
      bad,
    );
  }
  assert.throws(() => new TokenClient({ functionName: "x", minTtlSeconds: 1801 }), /minTtlSeconds/);
  assert.throws(() => new TokenClient({ functionName: "x", caller: "" }), /caller/);
  assert.throws(() => new TokenClient({}), /functionName/);
});

test("a Lambda client passed in that retries is refused before any invoke", async () => {
  const lambda = new LambdaClient({ region: "us-east-1", maxAttempts: 3, credentials: { accessKeyId: "a", secretAccessKey: "b" } });
  const tokens = new TokenClient({ functionName: "x", lambda });
  const error = await tokens.token().catch((e) => e);
  assert.equal(error.kind, "configuration");
  assert.match(error.message, /maxAttempts/);
});

test("withToken judges a Response whose body the request already read by its status", async () => {
  const c = clock();
  const lambda = sequentialTokens(c);
  const tokens = client(lambda, c);
  const bodies = [];
  const answer = await tokens.withToken(async () => {
    const r = response(bodies.length === 0 ? 401 : 200, "x");
    bodies.push(await r.text());
    return r;
  });
  assert.equal(answer.status, 200);
  assert.equal(bodies.length, 2);
});
