// Test doubles: a fake Lambda client (what `send` got, answers from a function) and a
// real LambdaClient whose HTTP handler answers canned responses, so that the SDK's own
// parsing of each shape of answer is what the library sees.

import { Readable } from "node:stream";

import { LambdaClient } from "@aws-sdk/client-lambda";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export const HOUR = 3600_000;

/** A get-token answer for `accessToken`, expiring at `expiresAt` (ms). */
export function tokenAnswer(accessToken, expiresAt, tokenId = `id-${accessToken}`) {
  return {
    access_token: accessToken,
    token_type: "Bearer",
    expires_at: new Date(expiresAt).toISOString(),
    expires_in: Math.floor((expiresAt - Date.now()) / 1000),
    token_id: tokenId,
  };
}

/**
 * A fake Lambda client: `answer(event, call)` gives the payload (an object) or throws;
 * `events` holds every event sent, parsed.
 */
export function fakeLambda(answer) {
  const fake = {
    events: [],
    commands: [],
    async send(command) {
      const event = JSON.parse(decoder.decode(command.input.Payload));
      fake.commands.push(command.input);
      fake.events.push(event);
      const payload = await answer(event, fake.events.length);
      return { StatusCode: 200, Payload: encoder.encode(JSON.stringify(payload)) };
    },
  };
  return fake;
}

/** A promise with its resolve and reject, to order a test by events, never by time. */
export function deferred() {
  let resolve, reject;
  const promise = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * Client configuration whose HTTP handler answers `respond(request)`:
 * `{status, headers, body}` (body a string), or throws a transport error. `requests`
 * counts the HTTP requests sent.
 */
export function cannedHttp(respond) {
  const handler = {
    requests: 0,
    async handle(request) {
      handler.requests += 1;
      const { status, headers = {}, body = "" } = await respond(request);
      return {
        response: {
          statusCode: status,
          reason: "",
          headers: { "content-type": "application/json", ...headers },
          body: Readable.from([Buffer.from(body)]),
        },
      };
    },
    updateHttpClientConfig() {},
    httpHandlerConfigs() {
      return {};
    },
  };
  return handler;
}

/** A real LambdaClient on a canned HTTP handler, with static test credentials. */
export function cannedClientConfig(requestHandler) {
  return {
    region: "us-east-1",
    credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
    requestHandler,
  };
}

export { LambdaClient };
