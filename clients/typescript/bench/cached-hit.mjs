// The TypeScript caller library's cached hit (`await tokens.token()`) against the
// original design's (`await service.getAccessToken()`), per call. Each sample is the
// mean time per call of a batch of calls; the report judges the batches' median. Run by
// scripts/bench.sh: node bench/cached-hit.mjs OUT.json [--quick]

import { writeFileSync } from "node:fs";

import { DateTime } from "luxon";

import { TokenClient } from "../src/index.js";
import OAuthTokenService from "./original-design.mjs";

const [out, flag] = process.argv.slice(2);
const batches = flag === "--quick" ? 500 : 5000;
const batch = 1000;

function summary(samples) {
  samples.sort((a, b) => a - b);
  const at = (p) => samples[Math.min(Math.max(Math.ceil((p / 100) * samples.length), 1), samples.length) - 1];
  const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
  return {
    count: samples.length,
    min_ns: samples[0],
    p50_ns: at(50),
    p90_ns: at(90),
    p99_ns: at(99),
    p999_ns: at(99.9),
    max_ns: samples[samples.length - 1],
    mean_ns: mean,
  };
}

async function measure(call) {
  for (let i = 0; i < batches / 5; i += 1) for (let j = 0; j < batch; j += 1) await call(); // warm-up (JIT)
  const samples = [];
  for (let i = 0; i < batches; i += 1) {
    const start = process.hrtime.bigint();
    for (let j = 0; j < batch; j += 1) await call();
    samples.push(Number(process.hrtime.bigint() - start) / batch);
  }
  return summary(samples);
}

const accessToken = "b".repeat(64);
const expiresAt = Date.now() + 3600_000;

// The library, its token cached by one invoke of a fake Lambda client.
const lambda = {
  async send() {
    const answer = { access_token: accessToken, token_type: "Bearer", expires_at: new Date(expiresAt).toISOString(), expires_in: 3600, token_id: "0123456789ab" };
    return { StatusCode: 200, Payload: new TextEncoder().encode(JSON.stringify(answer)) };
  },
};
const tokens = new TokenClient({ functionName: "get-token", lambda });
await tokens.token();

const service = new OAuthTokenService();
service.cacheToken({ accessToken, tokenType: "Bearer", expiresAt: DateTime.fromMillis(expiresAt) });

// Both paths must serve the cached token, not fail.
if ((await tokens.token()).accessToken !== accessToken || (await service.getAccessToken()) !== accessToken) {
  throw new Error("a cached path did not serve the token");
}

const original = await measure(() => service.getAccessToken());
const library = await measure(() => tokens.token());
const result = {
  batch,
  node: process.version,
  typescript_cached_hit: library,
  original_design_hit: original,
  speedup: original.p50_ns / library.p50_ns,
};
writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
console.log(
  `bench: TypeScript cached hit ${library.p50_ns.toFixed(1)} ns/call, original design ${original.p50_ns.toFixed(1)} ns/call (${result.speedup.toFixed(1)}x)`,
);
