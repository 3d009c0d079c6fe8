// End to end, through the Lambda Invoke API of the local service that scripts/test.sh
// starts (cargo lambda watch, moto, mock-orange): the addresses come from its E2E_*
// variables. Everything is on loopback, with static test credentials.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import { LambdaClient } from "@aws-sdk/client-lambda";

import { TokenClient, TokenError } from "../../src/index.js";

const packageDir = fileURLToPath(new URL("../..", import.meta.url));
const readme = fileURLToPath(new URL("../../../../README.md", import.meta.url));

function loopbackUrl(name) {
  const value = (process.env[name] ?? "").replace(/\/$/, "");
  assert.match(
    value,
    /^http:\/\/(127\.0\.0\.1|localhost):\d+$/,
    `${name} must be a loopback URL: run these tests through scripts/test.sh, which starts the local service`,
  );
  return value;
}

const lambdaEndpoint = loopbackUrl("E2E_LAMBDA_ENDPOINT");
const mockOrange = loopbackUrl("E2E_MOCK_ORANGE_URL");
loopbackUrl("AWS_ENDPOINT_URL");
assert.equal(process.env.AWS_EC2_METADATA_DISABLED, "true", "set AWS_EC2_METADATA_DISABLED=true (scripts/test.sh does)");

const tokenIdOf = (accessToken) => createHash("sha256").update(accessToken).digest("hex").slice(0, 12);

async function issuedTokenIds() {
  const stats = await (await fetch(`${mockOrange}/_mock/stats`)).json();
  return new Set(stats.issued_token_ids);
}

/** A Lambda client on the watch that counts its invokes. */
function countingLambda() {
  const lambda = new LambdaClient({ endpoint: lambdaEndpoint, maxAttempts: 1 });
  lambda.invokes = 0;
  lambda.middlewareStack.add(
    (next) => async (args) => {
      lambda.invokes += 1;
      return next(args);
    },
    { step: "initialize" },
  );
  return lambda;
}

/** An "SMS API" on loopback: answers `answers` in turn, records the token ids it saw. */
let sms;
before(async () => {
  sms = { seen: [], answers: [] };
  sms.server = createServer((request, response) => {
    const authorization = request.headers.authorization ?? "";
    sms.seen.push(authorization.startsWith("Bearer ") ? tokenIdOf(authorization.slice(7)) : "none");
    const [status, body] = sms.answers.shift() ?? [200, '{"outboundSMSMessageRequest": {}}'];
    request.resume();
    response.writeHead(status, { "content-type": "application/json" }).end(body);
  });
  await new Promise((resolve) => sms.server.listen(0, "127.0.0.1", resolve));
  sms.url = `http://127.0.0.1:${sms.server.address().port}/smsmessaging/v1/outbound/tel%3A%2B33600000000/requests`;
});
after(() => sms.server.close());

test("the README's TypeScript example runs as written against the local service", async () => {
  const text = readFileSync(readme, "utf8");
  const section = text.slice(text.indexOf("## Getting a token from another Lambda"));
  const snippet = section.match(/```ts\n([\s\S]*?)```/)?.[1];
  assert.ok(snippet?.includes("TokenClient.fromEnv()"), "the README has a TypeScript example using fromEnv");

  // A consumer's project: the package linked into its node_modules, the snippet's two
  // free variables (the SMS API's URL and the message) defined before it.
  const project = mkdtempSync(join(tmpdir(), "orange-token-readme-"));
  try {
    mkdirSync(join(project, "node_modules", "@orange-sms"), { recursive: true });
    symlinkSync(packageDir, join(project, "node_modules", "@orange-sms", "token-client"), "dir");
    const program = [
      "const smsUrl = process.env.SMS_URL;",
      'const sms = { outboundSMSMessageRequest: { address: "tel:+33600000000", outboundSMSTextMessage: { message: "hi" } } };',
      snippet,
      'if (typeof authorization !== "string" || !authorization.startsWith("Bearer ")) process.exit(2);',
      "console.log(`SMS API answered ${response.status}`);",
    ].join("\n");
    writeFileSync(join(project, "send.mjs"), program);

    sms.seen.length = 0;
    sms.answers = [[401, '{"code": 42, "message": "Expired credentials", "description": "The access token expired"}']];
    const { stdout } = await promisify(execFile)(process.execPath, [join(project, "send.mjs")], {
      env: {
        ...process.env,
        GET_TOKEN_FUNCTION_NAME: "get-token",
        AWS_ENDPOINT_URL_LAMBDA: lambdaEndpoint,
        AWS_LAMBDA_FUNCTION_NAME: "e2e-readme-sms-sender",
        SMS_URL: sms.url,
      },
      timeout: 120_000,
    });
    assert.equal(stdout.trim(), "SMS API answered 200");
    assert.equal(sms.seen.length, 2, "one request, then exactly one retry");
    assert.notEqual(sms.seen[0], sms.seen[1], "the retry used a new token");
    const issued = await issuedTokenIds();
    assert.ok(issued.has(sms.seen[0]) && issued.has(sms.seen[1]), "both tokens were issued by the token endpoint");
  } finally {
    rmSync(project, { recursive: true, force: true });
  }
});

test("a token is invoked once and then served from memory", async () => {
  const lambda = countingLambda();
  const tokens = new TokenClient({ functionName: "get-token", lambda, caller: "e2e-typescript" });
  const [first, ...others] = await Promise.all(Array.from({ length: 50 }, () => tokens.token()));
  assert.equal(lambda.invokes, 1, "50 concurrent misses, one invoke");
  assert.ok(others.every((t) => t.tokenId === first.tokenId));
  assert.equal(first.tokenId, tokenIdOf(first.accessToken));
  assert.ok((await issuedTokenIds()).has(first.tokenId));
  assert.ok(first.expiresAt.getTime() - Date.now() > 5 * 60_000, "more than the buffer left");
  // Compared as a boolean: a failing assertion never prints a token.
  assert.ok((await tokens.authorizationHeader()) === `Bearer ${first.accessToken}`, "the header is Bearer <token>");
  assert.equal(lambda.invokes, 1);
});

test("withToken renews a rejected token through get-token and retries once", async () => {
  const lambda = countingLambda();
  const tokens = new TokenClient({ functionName: "get-token", lambda, caller: "e2e-typescript" });
  const rejected = await tokens.token();
  sms.seen.length = 0;
  sms.answers = [[401, ""], [401, ""]];
  const answer = await tokens.withToken((authorization) => fetch(sms.url, { method: "POST", headers: { authorization } }));
  assert.equal(answer.status, 401, "the retry's answer is returned, not retried again");
  assert.equal(sms.seen.length, 2);
  assert.equal(sms.seen[0], rejected.tokenId);
  const renewed = await tokens.token();
  assert.equal(sms.seen[1], renewed.tokenId);
  assert.notEqual(renewed.tokenId, rejected.tokenId);
  assert.ok((await issuedTokenIds()).has(renewed.tokenId));
  assert.equal(lambda.invokes, 2, "one get, one refresh");
});

test("a function error through the local emulator (HTTP 500) is a TokenError with its errorType", async () => {
  // The refresh function refuses get-token's events: InvalidRequest, as the emulator shapes it.
  const tokens = new TokenClient({ functionName: "refresh", clientConfig: { endpoint: lambdaEndpoint } });
  const error = await tokens.token().catch((e) => e);
  assert.ok(error instanceof TokenError, String(error));
  assert.equal(error.kind, "function");
  assert.equal(error.errorType, "InvalidRequest");
  assert.equal(error.httpStatus, 500);
});

test("an invoke that cannot connect is a transport failure (503)", async () => {
  const closed = createServer();
  await new Promise((resolve) => closed.listen(0, "127.0.0.1", resolve));
  const port = closed.address().port;
  await new Promise((resolve) => closed.close(resolve));
  const tokens = new TokenClient({ functionName: "get-token", clientConfig: { endpoint: `http://127.0.0.1:${port}` } });
  const error = await tokens.token().catch((e) => e);
  assert.equal(error.kind, "transport");
  assert.equal(error.httpStatus, 503);
});
