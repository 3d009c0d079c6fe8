import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { isAuthFailure } from "../../src/index.js";

const table = JSON.parse(readFileSync(new URL("../../../cases/auth-failures.json", import.meta.url), "utf8"));

test("the shared table has cases", () => {
  assert.ok(table.cases.length > 50);
});

for (const c of table.cases) {
  test(`auth failure case: ${c.name}`, () => {
    const body = c.body_base64 === undefined ? c.body : new Uint8Array(Buffer.from(c.body_base64, "base64"));
    assert.equal(isAuthFailure(c.status, body), c.auth_failure);
    if (typeof body === "string") {
      // The same answer as bytes, as read from a fetch Response.
      assert.equal(isAuthFailure(c.status, new TextEncoder().encode(body)), c.auth_failure);
    }
  });
}

test("a missing body counts by its status only", () => {
  assert.equal(isAuthFailure(401, undefined), true);
  assert.equal(isAuthFailure(403, null), true);
  assert.equal(isAuthFailure(400, undefined), false);
});
