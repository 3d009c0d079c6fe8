#!/usr/bin/env bash
# Checks template.yaml offline, with the pinned tools in .venv:
#   1. cfn-lint on the SAM template (informational rules included),
#   2. `sam validate --lint` (SAM CLI's own cfn-lint run),
#   3. the SAM transform (samtranslator, as `sam validate` and `sam deploy` run it),
#      then cfn-lint on the CloudFormation it generates: cfn-lint 1.x checks SAM
#      resources against SAM schemas without transforming them, so errors in the
#      generated AWS::Lambda::Function & co (e.g. a Timeout above 900) show only here.
# Exits non-zero on any error, warning or informational finding.
#
# Nothing here needs AWS or the network: static dummy credentials, no instance
# metadata, SAM telemetry off, and SAM CLI's weekly "newer version" check (a
# request to PyPI that no flag or documented variable turns off) skipped by giving
# SAM CLI a private config dir whose last check is "now".
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
cd "$root"

bash scripts/setup-venv.sh >/dev/null

regions=(us-east-1 eu-west-1 eu-west-3 eu-central-1)

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

unset AWS_PROFILE AWS_ENDPOINT_URL AWS_SESSION_TOKEN
export AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1
export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE AWS_SECRET_ACCESS_KEY=not-a-real-secret
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
export AWS_EC2_METADATA_DISABLED=true
export SAM_CLI_TELEMETRY=0
# SAM CLI reads and writes its global config (metadata.json) here instead of ~/.aws-sam.
export __SAM_CLI_APP_DIR="$work/sam-cli"
mkdir -p "$__SAM_CLI_APP_DIR"
"$venv/bin/python" -c 'import json, sys, time; json.dump({"lastVersionCheck": time.time(), "telemetryEnabled": False}, open(sys.argv[1], "w"))' \
  "$__SAM_CLI_APP_DIR/metadata.json"

echo "check-template: cfn-lint ($("$venv/bin/cfn-lint" --version)) on template.yaml"
"$venv/bin/cfn-lint" --include-checks I --regions "${regions[@]}" -- template.yaml

echo "check-template: sam validate --lint ($("$venv/bin/sam" --version))"
"$venv/bin/sam" validate --lint --template template.yaml

echo "check-template: SAM transform, then cfn-lint on the generated CloudFormation"
"$venv/bin/python" - template.yaml "$work/transformed.json" <<'PY'
import json
import sys

from samcli.yamlhelper import yaml_parse
from samtranslator.translator.transform import transform


class NoManagedPolicies:
    """The template names no AWS managed policy, so nothing has to be looked up in IAM."""

    def load(self):
        return {}


source, target = sys.argv[1], sys.argv[2]
with open(source, encoding="utf-8") as handle:
    template = yaml_parse(handle.read())

# sam build/deploy replace the local CodeUri with the uploaded artifact; do the same.
placeholder = "s3://check-template/artifact.zip"
function_globals = template.get("Globals", {}).get("Function", {})
if "CodeUri" in function_globals:
    function_globals["CodeUri"] = placeholder
for resource in template.get("Resources", {}).values():
    if resource.get("Type") == "AWS::Serverless::Function" and "CodeUri" in resource.get("Properties", {}):
        resource["Properties"]["CodeUri"] = placeholder

with open(target, "w", encoding="utf-8") as handle:
    json.dump(transform(template, {}, NoManagedPolicies()), handle, indent=1)
PY
"$venv/bin/cfn-lint" --include-checks I --regions "${regions[@]}" -- "$work/transformed.json"

echo "check-template: ok"
