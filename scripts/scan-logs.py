#!/usr/bin/env python3
"""Scans every log line the test suite produced for secrets.

Usage: scan-logs.py LOG_DIR [--secret S ...]
Reads every file in LOG_DIR (tracing output, audit and metric lines, moto's, the mock
endpoint's and cargo lambda watch's logs) and fails when a line holds a client secret,
an access token the mock endpoint issued or the service refused (LOG_DIR/issued-tokens.txt
and any *tokens*.txt: one token a line, or a JSON string for a token that holds line
breaks or other characters to escape), as it is or JSON-escaped, or an Authorization
header value (Basic or Bearer credentials).
`--self-test` checks that the scan does find what it looks for.
"""
import base64
import json
import pathlib
import re
import sys
import tempfile

# "Basic <base64>" or "Bearer <token>": a credential-looking word (12+ characters with a
# digit or padding), so that prose such as "basic authentication" is not flagged.
AUTH_VALUE = re.compile(r"(?i)\b(basic|bearer)\s+(?=[A-Za-z0-9+/=._~-]*[0-9=])[A-Za-z0-9+/=._~-]{12,}")


def scan(log_dir: pathlib.Path, secrets: list[str]) -> list[str]:
    tokens = set()
    for path in log_dir.glob("*tokens*.txt"):
        for line in path.read_text(errors="replace").splitlines():
            line = line.strip()
            tokens.add(json.loads(line) if line.startswith('"') else line)
    tokens.discard("")
    needles = {s: "a client secret" for s in secrets if s}
    for token in tokens:
        needles[token] = "an access token"
        # As a JSON string's content, the way a log line written as JSON would hold it.
        needles[json.dumps(token)[1:-1]] = "an access token, JSON-escaped"
        needles[json.dumps(token, ensure_ascii=False)[1:-1]] = "an access token, JSON-escaped"
    hits = []
    files = [p for p in sorted(log_dir.rglob("*")) if p.is_file() and "tokens" not in p.name]
    for path in files:
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            for needle, what in needles.items():
                if needle in line:
                    hits.append(f"{path.name}:{number}: {what}")
            if AUTH_VALUE.search(line):
                hits.append(f"{path.name}:{number}: an Authorization header value")
    print(f"scan-logs: {len(files)} log files, {len(tokens)} issued tokens, "
          f"{len(secrets)} secrets checked: {len(hits)} hits")
    return hits


def self_test() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        d = pathlib.Path(tmp)
        (d / "issued-tokens.txt").write_text("tok-abcdef0123456789\n")
        (d / "refused-tokens.txt").write_text(json.dumps('tok-quoted"\nline') + "\n")
        (d / "clean.log").write_text('{"event":"TOKEN_SERVED","token_id":"3f9a1c0b7d2e"}\n')
        assert scan(d, ["s3cr3t-value"]) == [], "a clean log was flagged"
        basic = base64.b64encode(b"id:s3cr3t-value").decode()
        for leak in ["tok-abcdef0123456789", "s3cr3t-value", f"Authorization: Basic {basic}",
                     "authorization=Bearer tok-abcdef0123456789",
                     '{"detail": "tok-quoted\\"\\nline"}']:
            (d / "leak.log").write_text(f"line with {leak}\n")
            assert scan(d, ["s3cr3t-value"]), f"missed {leak!r}"
    print("scan-logs: self-test passed")


def main() -> int:
    args = sys.argv[1:]
    if args == ["--self-test"]:
        self_test()
        return 0
    if not args:
        print(__doc__, file=sys.stderr)
        return 2
    log_dir, secrets = pathlib.Path(args[0]), []
    rest = args[1:]
    while rest:
        if rest[0] == "--secret" and len(rest) > 1:
            secrets.append(rest[1])
            rest = rest[2:]
        else:
            print(f"scan-logs: unknown argument {rest[0]!r}", file=sys.stderr)
            return 2
    hits = scan(log_dir, secrets)
    for hit in hits[:50]:
        print(f"scan-logs: LEAK {hit}", file=sys.stderr)
    return 1 if hits else 0


if __name__ == "__main__":
    sys.exit(main())
