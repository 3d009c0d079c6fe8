// Compiled by `npm run typecheck` (tsc --noEmit), never run: the declarations in
// index.d.ts describe the API as the README and docs/caller.md use it.
import { TokenClient, TokenError, isAuthFailure, type Token } from "@orange-sms/token-client";

export async function send(url: string): Promise<Response> {
  const tokens = TokenClient.fromEnv({ caller: "sms-sender" });
  const auth: string = await tokens.authorizationHeader();
  const token: Token = await tokens.token();
  const id: string = token.tokenId;
  const expires: Date = token.expiresAt;
  void auth, id, expires;
  try {
    return await tokens.withToken((authorization) =>
      fetch(url, { method: "POST", headers: { Authorization: authorization } }),
    );
  } catch (error) {
    if (error instanceof TokenError && error.httpStatus === 503) throw new Error("try later");
    throw error;
  }
}

export const judged: boolean = isAuthFailure(403, new Uint8Array());
export const custom = new TokenClient({ functionName: "x", bufferMinutes: 5, minTtlSeconds: 600 }).withToken(
  async (authorization) => ({ status: 401, authorization }),
  { isRejected: (answer) => answer.status === 401 },
);
